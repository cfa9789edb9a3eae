"""Shapes of `data` for the event types whose domains are not built yet (product.md §3).

They fix what the catalog promises receivers today; each domain replaces its entry in
`catalog.py` with its own response schema when it lands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel


class LineItemShape(BaseModel):
    product_id: str | None = None
    description: str | None = None
    quantity: int
    amount: int


class ContractShape(BaseModel):
    id: str
    number: int
    customer_id: str
    items: list[LineItemShape]
    amount: int
    currency: str
    status: Literal["trialing", "active", "suspended", "cancelled"]
    start_date: date
    trial_end: date | None
    billing_day: int
    current_period_start: date | None
    current_period_end: date | None
    next_charge_date: date | None
    payment_method: Literal["boleto", "pix", "card"]
    cancelled_at: datetime | None
    cancel_reason: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime


class PaymentInstructionsShape(BaseModel):
    pix_code: str | None = None
    boleto_line: str | None = None


class ChargeShape(BaseModel):
    id: str
    number: int
    customer_id: str
    contract_id: str | None
    items: list[LineItemShape]
    amount: int
    currency: str
    due_date: date
    status: Literal["open", "settled", "reversed", "invalidated"]
    payment_method: Literal["boleto", "pix", "card"]
    settled_at: datetime | None
    settled_amount: int | None
    fine_amount: int
    interest_amount: int
    payment_instructions: PaymentInstructionsShape
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime


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


class CardShape(BaseModel):
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class CardDeclinedShape(BaseModel):
    charge_id: str
    customer_id: str
    card: CardShape
    decline_code: str
    attempt: int
    attempted_at: datetime


class PingShape(BaseModel):
    endpoint_id: str
    message: str


class EndpointDisabledShape(BaseModel):
    endpoint_id: str
    url: str
    reason: str
    failing_since: datetime | None
    disabled_at: datetime
