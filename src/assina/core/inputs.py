"""What every request input must be before it reaches a query: something the databases store.

- Text without NUL (U+0000), which PostgreSQL refuses in `text` and `jsonb`, and without unpaired
  surrogates (a JSON body may spell one as `"\\ud800"`), which no UTF-8 database can hold. Such
  text in a body field, a path id or a query parameter is a 422 on every backend, never a
  database error. Bodies inherit `InputModel`; the app installs `refuse_unstorable_url`.
- Instants that exist in UTC: `0001-01-01T00:00:00+01:00` is a valid RFC 3339 timestamp with no
  UTC equivalent in Python, so `UtcDatetime` refuses it instead of failing in the column type.
  And only RFC 3339 text: pydantic alone reads `0.5` or `1700000000` as a Unix time.
- Names people read (`Name`): trimmed, not empty, without control characters (a CR or LF
  breaks an e-mail header or a CSV line) or bidirectional overrides and isolates (U+202A to
  U+202E, U+2066 to U+2069), which make a name display as another string.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

# FastAPI's Request is Starlette's: the same class, without importing FastAPI (about 0.5 s)
# into every process whose schemas are built from these inputs (the CLI, the worker).
from starlette.requests import Request

from assina.core.errors import Problem, invalid
from assina.core.patching import document_refused_nulls

NUL_MESSAGE = "must not contain the NUL character (U+0000)"
# The same rule as a JSON Schema pattern (core/openapi.py puts it on every plain string).
NO_NUL = "^[^\\u0000]*$"
SURROGATE_MESSAGE = "must be valid Unicode (no unpaired surrogates)"


def unstorable_text(value: object) -> str | None:
    """Why a string, or any key or item of a dict or list, cannot be stored; None if it can.

    Nested models are not walked: they check their own fields."""
    if isinstance(value, str):
        if "\x00" in value:
            return NUL_MESSAGE
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return SURROGATE_MESSAGE
        return None
    if isinstance(value, dict):
        items: list[object] = [part for pair in value.items() for part in pair]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    return next((reason for item in items if (reason := unstorable_text(item))), None)


def whole_numbers(value: object) -> object:
    """A JSON number with no fraction (`7.0`) as the integer it is, alone or in a list.

    JSON Schema's `integer` is a mathematical integer, so `7.0` is one; integer fields stay
    strict (no `"7"`, no `true`, no `7.5`). Objects are left alone: their values are text."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value


def sent(*names: str) -> dict[str, Any]:
    """JSON Schema: each of these fields is present and not null."""
    return {"required": list(names), "properties": {n: {"not": {"type": "null"}} for n in names}}


def not_sent(*names: str) -> dict[str, Any]:
    """JSON Schema: each of these fields is absent or null."""
    return {"properties": {name: {"type": "null"} for name in names}}


def _document_rules(schema: dict[str, Any], model: type[BaseModel]) -> None:
    document_refused_nulls(schema, model)
    if issubclass(model, InputModel):
        model.document_rules(schema)


class InputModel(BaseModel):
    """Base of every request body: no field may carry text the database cannot store, a
    field the model does not know is refused (a misspelt name must not pass unnoticed), and
    a whole number is an integer however JSON spells it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_rules)

    @classmethod
    def document_rules(cls, schema: dict[str, Any]) -> None:
        """Rules across fields (one of two forms…), written into the model's JSON schema so
        the OpenAPI document says what validation checks. None by default."""

    @field_validator("*", mode="before")
    @classmethod
    def _whole_numbers(cls, value: Any) -> Any:
        return whole_numbers(value)

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        reason = unstorable_text(value)
        if reason is not None:
            raise ValueError(reason)
        return value


async def refuse_empty_json(request: Request) -> None:
    """For routes whose body is optional: no body is fine, but a body that says it is JSON
    and is empty is malformed, as anywhere else (400)."""
    if request.headers.get("content-type") and not await request.body():
        raise Problem(
            400,
            "malformed-json",
            "The request body is empty: send a JSON object, or no body and no Content-Type.",
            "Bad Request",
        )


async def refuse_unstorable_url(request: Request) -> None:
    """App-wide dependency: the same rule for path and query parameters. Async: FastAPI runs
    a plain `def` dependency in a worker thread, a hop every request would pay."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        reason = unstorable_text(value)
        if reason is not None:
            raise invalid(name, reason)


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between 0001-01-01 and 9999-12-31 in UTC") from None


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def _rfc3339_text(value: object) -> object:
    if isinstance(value, datetime):  # built in code, not read from a request
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 timestamp with its zone, e.g. 2026-01-15T12:00:00Z")
    return value


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_to_utc)]

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MAX_NAME_LENGTH = 200


def clean_name(value: str) -> str:
    """A name as stored: trimmed; ValueError when empty or carrying a control character or a
    bidirectional override."""
    value = value.strip()
    if not value:
        raise ValueError("needs a character other than spaces")
    for character in value:
        if unicodedata.category(character) == "Cc" or character in _BIDI_CONTROLS:
            raise ValueError(
                "must not contain control characters (line breaks, tabs) or bidirectional "
                f"overrides (found U+{ord(character):04X})"
            )
    return value


# clean_name's rule as a pattern, for the OpenAPI document: spaces (Python's str.isspace) at
# either end, and between them characters that are neither control characters (U+0000-U+001F,
# U+007F-U+009F) nor bidi controls, at least one of them not a space.
_NAME_CHARACTER = r"[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]"
VISIBLE_CHARACTER = (
    r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    r"\u202a-\u202e\u2066-\u2069]"
)
_SPACE = r"[\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NAME_PATTERN = f"^{_SPACE}*{_NAME_CHARACTER}*{VISIBLE_CHARACTER}{_NAME_CHARACTER}*{_SPACE}*$"

Name = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN),
    AfterValidator(clean_name),
]
Phone = Annotated[str, Field(min_length=1, max_length=32)]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _iso_date_text(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a calendar date written YYYY-MM-DD")
    return value


# A calendar date in a body: only `YYYY-MM-DD` (pydantic alone also takes numbers as Unix time
# and datetimes at midnight).
CalendarDate = Annotated[date, BeforeValidator(_iso_date_text)]

# The pattern of a date from 2000-01-01 to 2100-12-31 (with `format: date`), for the dates
# billing takes; the caller checks the range itself.
BILLING_YEARS = {"pattern": "^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"}
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def _in_billing_range(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


# A date billing takes (a due date, a competence date): YYYY-MM-DD from 2000 to 2100.
BillingDate = Annotated[
    CalendarDate, AfterValidator(_in_billing_range), Field(json_schema_extra=BILLING_YEARS)
]


MAX_DECIMAL_TEXT = 32
# Up to 4 decimal places (trailing zeros aside): "2", "2.5", "2.1250", "2.50000", ".5".
FOUR_PLACES = r"(\.[0-9]{0,4}0*)?"


def decimal_text(pattern: str) -> BeforeValidator:
    """A decimal sent as a JSON string must match `pattern` (anchored, ASCII digits, which
    also bounds its range and places, so the document can say exactly what is taken)."""
    compiled = re.compile(pattern, re.ASCII)

    def check(value: object) -> object:
        if isinstance(value, str) and (
            len(value) > MAX_DECIMAL_TEXT or not compiled.fullmatch(value)
        ):
            raise ValueError(f"must be a number, or a numeric string matching {pattern}")
        return value

    return BeforeValidator(check)


def document_decimal(pattern: str, places: str = "0.0001") -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` of a decimal field taken as a JSON number or a numeric string:
    numbers in steps of `places`, strings matching `pattern`."""

    def document(schema: dict[str, Any]) -> None:
        for variant in schema.get("anyOf", []):
            if variant.get("type") == "number":
                variant["multipleOf"] = float(places)
            elif variant.get("type") == "string":
                variant.update(pattern=pattern, maxLength=MAX_DECIMAL_TEXT)

    return document


# An id a body names (a customer, a product, a supplier): ids are 30 characters; a longer
# value names nothing, and is refused before any lookup.
MAX_REFERENCE = 64
Reference = Annotated[str, Field(min_length=1, max_length=MAX_REFERENCE)]
