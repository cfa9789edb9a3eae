from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EventTypeOut(BaseModel):
    name: str
    label: str
    description: str
    raised: bool = Field(
        description="Whether anything raises this event yet; false for the catalog's events "
        "whose feature (expenses, card payments, orders, notas fiscais) is still to come."
    )
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")


class EventTypeList(BaseModel):
    data: list[EventTypeOut]
