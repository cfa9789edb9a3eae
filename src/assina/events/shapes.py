"""Shapes of `data` for the event types whose domains are not built yet (product.md §3).

They fix what the catalog promises receivers today; each domain replaces its entry in
`event_types/catalog.py` with its own response schema when it lands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class LineItemShape(BaseModel):
    product_id: str | None = None
    description: str | None = None
    quantity: int
    amount: int


class OrderShape(BaseModel):
    id: str
    number: int
    customer_id: str
    items: list[LineItemShape]
    amount: int
    currency: str
    status: Literal["pending", "paid", "fulfilled", "cancelled", "expired"]
    contract_ids: list[str]
    charge_id: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime


class FiscalInvoiceShape(BaseModel):
    id: str
    charge_id: str
    number: int
    verification_code: str
    issued_at: datetime
    amount: int
    status: Literal["issued", "cancelled"]


class PingShape(BaseModel):
    endpoint_id: str
    message: str


class EndpointDisabledShape(BaseModel):
    endpoint_id: str
    url: str
    reason: str
    failing_since: datetime | None
    disabled_at: datetime
