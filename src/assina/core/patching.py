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
        raise ValueError("cannot be null")
    return value


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
