from __future__ import annotations

import functools
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from assina.core.inputs import InputModel, Name
from assina.core.patching import reject_null

# In the tz database but not a place: the host's own zone, and "-00" (zone unknown).
_NOT_PLACES = frozenset({"localtime", "Factory"})


@functools.cache
def _known_zones() -> frozenset[str]:
    # available_timezones() walks the tz database's files on every call (about 5 ms): read once.
    return frozenset(available_timezones()) - _NOT_PLACES


def validate_time_zone(value: str) -> str:
    if value not in _known_zones():
        raise ValueError(f"unknown IANA time zone {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {value!r}") from error
    return value


def _time_zones() -> list[JsonValue]:
    """Every zone validate_time_zone takes, for the document's `enum`."""
    zones: list[JsonValue] = []
    for name in sorted(_known_zones()):
        try:
            zones.append(validate_time_zone(name))
        except ValueError:
            continue
    return zones


def _time_zone_enum(schema: dict[str, JsonValue]) -> None:
    """The `enum` of time zones, built when the document is (loading ~600 zones takes about
    0.1 s: not at every process's import)."""
    schema["enum"] = _time_zones()


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    time_zone: str = Field(description="IANA time zone for calendar dates, e.g. America/Sao_Paulo")
    mode: Literal["live", "sandbox"] = Field(
        description="`sandbox`: a tenant for trying an integration, with a test clock "
        "(`/v1/test-clock`); `live`: real billing. Fixed at creation."
    )
    created_at: datetime
    updated_at: datetime


class TenantUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    time_zone: str | None = Field(
        default=None,
        description="An IANA time zone, e.g. America/Sao_Paulo.",
        json_schema_extra=_time_zone_enum,
    )

    _not_null = field_validator("name", "time_zone")(reject_null)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return validate_time_zone(value)


class CreatedTenant(BaseModel):
    tenant_id: str
    api_key: str
    validation_token: str


class ApiKeyOut(BaseModel):
    """An API key as listed: never the key itself, only the hint that tells keys apart."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: str
    hint: str = Field(
        validation_alias="key_hint",
        description="The key's first characters (`sk_live_` or `sk_test_` and four more).",
    )
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When a request last authenticated with it, exact to the minute; null if never."
    )
    revoked_at: datetime | None = Field(description="Set once the key is revoked.")


class ApiKeyIssued(ApiKeyOut):
    key: str = Field(description="The API key. Shown only in this answer: keep it now.")
