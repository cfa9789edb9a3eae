from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column


class ChargeStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    REVERSED = "reversed"
    INVALIDATED = "invalidated"


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
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    items: Mapped[list[dict[str, Any]]]
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date]
    status: Mapped[ChargeStatus] = mapped_column(EnumText(ChargeStatus, 16))
    payment_method: Mapped[str] = mapped_column(String(8))
    settled_at: Mapped[datetime | None]
    settled_amount: Mapped[int | None] = mapped_column(BigInteger)
    settlement_method: Mapped[str | None] = mapped_column(String(16))
    fine_amount: Mapped[int] = mapped_column(BigInteger)
    interest_amount: Mapped[int] = mapped_column(BigInteger)
    pix_code: Mapped[str | None] = mapped_column(String(512))
    boleto_line: Mapped[str | None] = mapped_column(String(64))
    dunning_exempt: Mapped[bool]
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
