from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypedDict

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column


class ContractStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class StatusReason(StrEnum):
    """Why a contract has its status (`status_reason`). A move back from `suspended` by the
    dunning policy names what made it true, as the customer's move does (`paid`,
    `invalidated`, `due_date_moved`, `exempted`, `policy_changed`, `contract_cancelled`:
    rules/dunning.py CustomerMoveReason)."""

    TRIAL_ENDED = "trial_ended"  # trialing → active, by the calendar
    OVERDUE = "overdue"  # suspended by the dunning policy
    RESUMED = "resumed"  # POST …/resume
    REQUESTED = "requested"  # POST …/cancel, at once
    PERIOD_END = "period_end"  # the cancellation at period end fell due
    DUNNING = "dunning"  # cancelled by the dunning policy


class PaymentMethod(StrEnum):
    BOLETO = "boleto"
    PIX = "pix"
    CARD = "card"


class Contract(Base):
    """A subscription: items billed every `interval_count` `interval`s, in advance.

    The billing schedule is `anchor_date` (billing date 0), `billing_day`, `interval` and
    `interval_count` (rules/periods.py); `next_period` is the index of the next period
    still to be charged.
    """

    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_contracts_tenant_id_id", "tenant_id", "id"),
        Index("ix_contracts_tenant_id_customer_id", "tenant_id", "customer_id"),
        # The dunning pass: customers whose trial ends soon, in customer order.
        Index("ix_contracts_tenant_id_status_customer_id", "tenant_id", "status", "customer_id"),
        # The calendar: live contracts whose next step is due.
        Index("ix_contracts_next_step_on", "next_step_on"),
        # The Painel (reports/dashboard.py): live contracts by status and customer, with what
        # the MRR needs, read from the index alone on PostgreSQL (INCLUDE; SQLite, partial).
        Index(
            "ix_contracts_tenant_id_status_customer_id_live",
            "tenant_id",
            "status",
            "customer_id",
            postgresql_include=["currency", "amount", "interval", "interval_count"],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    items: Mapped[list[dict[str, Any]]]
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ContractStatus] = mapped_column(EnumText(ContractStatus, 16))
    interval: Mapped[str] = mapped_column(String(8))
    interval_count: Mapped[int]
    billing_day: Mapped[int]
    start_date: Mapped[date]
    trial_end: Mapped[date | None]
    anchor_date: Mapped[date]
    next_period: Mapped[int]
    # Stub days before the anchor, charged once at the prorated amount (0 when none).
    stub_amount: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[PaymentMethod] = mapped_column(EnumText(PaymentMethod, 8))
    # Signed proration from mid-period changes, added to the next charge as its own line.
    pending_adjustment: Mapped[int] = mapped_column(BigInteger)
    readjustment_index: Mapped[str | None] = mapped_column(String(8))
    last_readjusted_on: Mapped[date | None]
    # The first day the calendar has something to do for this contract (None: nothing more).
    next_step_on: Mapped[date | None]
    cancel_at_period_end: Mapped[bool]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # Why the last status move happened (StatusReason, or a dunning move-back reason).
    status_reason: Mapped[str | None] = mapped_column(String(32))
    dunning_exempt: Mapped[bool]
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class ScheduleRow(TypedDict):
    """Where a contract stands in its schedule, with its id: a row of the billing calendar's
    executemany UPDATE (calendar/charge_batch.py)."""

    id: str
    next_period: int
    stub_amount: int
    pending_adjustment: int
    next_step_on: date | None
