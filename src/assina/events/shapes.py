"""Shapes of `data` for the event types whose domains are not built yet (product.md §3).

They fix what the catalog promises receivers today; each domain replaces its entry in
`event_types/catalog.py` with its own response schema when it lands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel


class ExpenseShape(BaseModel):
    id: str
    number: int
    supplier: str
    description: str | None
    category: str | None
    amount: int
    currency: str
    due_date: date
    status: Literal["open", "settled", "reversed"]
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime


class PingShape(BaseModel):
    endpoint_id: str
    message: str


class EndpointDisabledShape(BaseModel):
    endpoint_id: str
    url: str
    reason: str
    failing_since: datetime | None
    disabled_at: datetime
