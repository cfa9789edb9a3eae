"""PATCH bodies: only the fields sent change, and `null` clears only what may be empty."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

# Every main resource keeps `metadata` in a `metadata_` attribute (SQLAlchemy reserves the name).
METADATA_COLUMN = {"metadata": "metadata_"}


def reject_null(value: T | None) -> T:
    """For a field validator on PATCH fields that cannot be cleared."""
    if value is None:
        # Worded so that no client reads it as "required": leaving the field out is fine.
        raise ValueError("null is not a value here; leave the field out to keep it as it is")
    return value


def refused_nulls(model: type[BaseModel]) -> set[str]:
    """The fields of `model` whose validators include `reject_null`."""
    validators = model.__pydantic_decorators__.field_validators.values()
    return {name for v in validators if v.func is reject_null for name in v.info.fields}


def document_refused_nulls(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A field that refuses `null` says so in the OpenAPI document: its type without the
    `null` alternative (left out, it keeps its value)."""
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    for name in refused_nulls(model) & set(properties):
        field = properties[name]
        variants = [v for v in field.pop("anyOf", []) if v != {"type": "null"}]
        field.pop("default", None)
        if len(variants) == 1:
            properties[name] = {**variants[0], **field}
        elif variants:
            field["anyOf"] = variants


def sent_fields(model: BaseModel) -> dict[str, Any]:
    """The fields the client sent, as validated Python values."""
    return {name: getattr(model, name) for name in model.model_fields_set}


def _stored_form(value: Any) -> Any:
    """What a column holds for a validated value: enums as their value, models as JSON."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def apply_patch(
    target: object, changes: BaseModel, renamed: Mapping[str, str] | None = None
) -> None:
    """Set the sent fields on the model `target`; `renamed` maps API names to attribute names
    (e.g. `metadata` → `metadata_`, a name SQLAlchemy reserves)."""
    for name, value in sent_fields(changes).items():
        setattr(target, (renamed or {}).get(name, name), _stored_form(value))
