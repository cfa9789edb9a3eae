from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TypedDict

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.contracts.models import PaymentMethod
from assina.db.base import Base, EnumText, JSONType, id_column


class ChargeStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    REVERSED = "reversed"
    INVALIDATED = "invalidated"


class ChargeLine(TypedDict):
    """A line as the `items` column keeps it (the JSON of ChargeLineOut): `amount` is the unit
    amount, the line's total quantity * amount."""

    product_id: str | None
    description: str | None
    quantity: int
    amount: int


class ChargeRow(TypedDict):
    """A `charges` row by attribute name, as the billing calendar's batches insert it."""

    id: str
    tenant_id: str
    number: int
    customer_id: str
    contract_id: str | None
    order_id: str | None
    period_start: date | None
    period_end: date | None
    items: list[ChargeLine]
    amount: int
    currency: str
    due_date: date
    status: ChargeStatus
    payment_method: PaymentMethod
    settled_at: datetime | None
    settled_amount: int | None
    settlement_method: str | None
    fine_amount: int
    interest_amount: int
    pix_code: str | None
    boleto_our_number: str | None
    boleto_line: str | None
    boleto_barcode: str | None
    dunning_exempt: bool
    metadata_: dict[str, str]
    created_at: datetime
    updated_at: datetime


class SettledColumns(TypedDict):
    """The columns a settlement sets (charges/service.py `settled_at_issue`)."""

    status: ChargeStatus
    settled_at: datetime
    settled_amount: int
    settlement_method: str


class Charge(Base):
    __tablename__ = "charges"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        # One charge per contract and period: the calendar's guard against duplicates.
        UniqueConstraint("tenant_id", "contract_id", "period_start"),
        Index("ix_charges_tenant_id_id", "tenant_id", "id"),
        # A customer's charges, and the open ones near their due date among them: what the
        # dunning pass reads for a batch of customers (a narrower index loses to the next one
        # on SQLite, whose planner then reads every open charge of the tenant per batch).
        Index(
            "ix_charges_tenant_id_customer_id_status_due_date",
            "tenant_id",
            "customer_id",
            "status",
            "due_date",
        ),
        Index("ix_charges_tenant_id_status_due_date", "tenant_id", "status", "due_date"),
        # An order's charge, found from the order (orders/).
        Index("ix_charges_tenant_id_order_id", "tenant_id", "order_id"),
        # The Painel's revenue by month: each month's settled charges are one range of it, and
        # their amounts are in it (reports/dashboard.py reads no row of the table itself).
        Index(
            "ix_charges_tenant_id_status_currency_settled_at",
            "tenant_id",
            "status",
            "currency",
            "settled_at",
            "settled_amount",
        ),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    # The order whose first charge this is (orders/), if any.
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    items: Mapped[list[ChargeLine]] = mapped_column(JSONType)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date]
    status: Mapped[ChargeStatus] = mapped_column(EnumText(ChargeStatus, 16))
    payment_method: Mapped[PaymentMethod] = mapped_column(EnumText(PaymentMethod, 8))
    settled_at: Mapped[datetime | None]
    settled_amount: Mapped[int | None] = mapped_column(BigInteger)
    settlement_method: Mapped[str | None] = mapped_column(String(16))
    fine_amount: Mapped[int] = mapped_column(BigInteger)
    interest_amount: Mapped[int] = mapped_column(BigInteger)
    pix_code: Mapped[str | None] = mapped_column(String(512))
    # The boleto's numbers when assina numbers it (the sandbox boleto provider): nosso número
    # from the tenant's sequence (kept for the charge's life), the formatted linha digitável
    # and the 44-digit barcode (shown only while the payment method is boleto).
    boleto_our_number: Mapped[str | None] = mapped_column(String(20))
    boleto_line: Mapped[str | None] = mapped_column(String(64))
    boleto_barcode: Mapped[str | None] = mapped_column(String(44))
    dunning_exempt: Mapped[bool]
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
