"""PATCH bodies: only the fields sent change, and `null` clears only what may be empty."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


def reject_null(value: T | None) -> T:
    """For a field validator on PATCH fields that cannot be cleared."""
    if value is None:
        raise ValueError("cannot be null")
    return value


def sent_fields(model: BaseModel) -> dict[str, Any]:
    """The fields the client sent, as validated Python values."""
    return {name: getattr(model, name) for name in model.model_fields_set}
