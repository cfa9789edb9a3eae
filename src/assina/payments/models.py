"""What payment providers told assina (inbound events, kept for audit) and how far each
provider's reconciliation has looked."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column
from assina.payment_settings.models import PaymentProvider


class InboundOutcome(StrEnum):
    """What assina did with one notification."""

    SETTLED = "settled"  # the charge was open and is now settled
    ALREADY_SETTLED = "already_settled"  # money for a charge no longer open: to refund by hand
    UNMATCHED = "unmatched"  # no charge of the tenant has the reference it names
    DECLINED = "declined"  # a card payment the provider declined after all
    IGNORED = "ignored"  # a notification assina does not act on (created, overdue, …)


class InboundEvent(Base):
    """One notification of a provider, once: the provider's event id is unique per tenant and
    provider, so a replay finds it and changes nothing."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "event_id"),
        Index("ix_inbound_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_inbound_events_tenant_id_outcome_id", "tenant_id", "outcome", "id"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    provider: Mapped[PaymentProvider] = mapped_column(EnumText(PaymentProvider, 16))
    event_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[InboundOutcome] = mapped_column(EnumText(InboundOutcome, 24))
    # Found by: "notification" (the provider called) or "reconciliation" (assina asked).
    source: Mapped[str] = mapped_column(String(16))
    charge_id: Mapped[str | None] = mapped_column(String(64))
    provider_payment_id: Mapped[str | None] = mapped_column(String(128))
    rail: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]


class ReconciliationMark(Base):
    """Up to when a provider's received payments were last asked for, per tenant."""

    __tablename__ = "payment_reconciliation_marks"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    provider: Mapped[PaymentProvider] = mapped_column(
        EnumText(PaymentProvider, 16), primary_key=True
    )
    looked_until: Mapped[datetime]


class CustomerCard(Base):
    """A card a customer saved: the provider's token (sealed: it can charge the card) and what
    may be shown of it. Never the number or the CVC."""

    __tablename__ = "customer_cards"
    __table_args__ = (Index("ix_customer_cards_tenant_id_customer_id", "tenant_id", "customer_id"),)

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    provider: Mapped[PaymentProvider] = mapped_column(EnumText(PaymentProvider, 16))
    token_sealed: Mapped[str] = mapped_column(String(1024))
    brand: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    is_default: Mapped[bool]
    # The payer's IP when the card was saved: Asaas wants one with every charge of the card.
    saved_from_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class CardAttemptStatus(StrEnum):
    PENDING = "pending"  # written before the gateway is called
    APPROVED = "approved"
    DECLINED = "declined"
    PROCESSING = "processing"  # the gateway decides later, by a notification
    FAILED = "failed"  # the gateway could not be reached: the attempt is tried again


class CardAttempt(Base):
    """One try of a charge on a card. Its number counts the charge's tries (1 on the due date,
    then one per retry day); (charge, number) is unique, so a calendar pass run twice tries
    nothing twice, and the idempotency key sent to the gateway is the attempt's id."""

    __tablename__ = "card_attempts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "charge_id", "number"),
        Index("ix_card_attempts_tenant_id_status", "tenant_id", "status"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"), nullable=False)
    card_id: Mapped[str] = mapped_column(ForeignKey("customer_cards.id"), nullable=False)
    number: Mapped[int]
    scheduled_on: Mapped[date]  # the tenant's day it belongs to
    status: Mapped[CardAttemptStatus] = mapped_column(EnumText(CardAttemptStatus, 16))
    amount: Mapped[int] = mapped_column(BigInteger)
    provider_payment_id: Mapped[str | None] = mapped_column(String(128))
    decline_code: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class RegistrationRail(StrEnum):
    PIX = "pix"
    BOLETO = "boleto"


class RegistrationStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (a first try, or a retry)
    REGISTERED = "registered"  # the provider made it: the charge carries its instructions
    FAILED = "failed"  # refused, or the retries spent: final, the charge keeps no code
    # The charge no longer needs what the provider made (invalidated, or settled another way):
    # due at next_attempt_at to be cancelled there (payments/registration_cancel.py).
    CANCELLING = "cancelling"
    # Not made (the charge stopped needing it first), or cancelled at the provider
    # (cancelled_at set).
    CANCELLED = "cancelled"


class Registration(Base):
    """A charge to register with its provider on one rail (payments/registration.py): an
    outbox row of the relay kernel, one per charge and rail. A change of the charge's amount
    or due date makes it pending again under a new `version`: the idempotency key sent to the
    provider is `<id>.<version>`, and an answer for an older version is not applied."""

    __tablename__ = "payment_registrations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "charge_id", "rail"),
        Index("ix_payment_registrations_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"), nullable=False)
    rail: Mapped[RegistrationRail] = mapped_column(EnumText(RegistrationRail, 8))
    provider: Mapped[PaymentProvider] = mapped_column(EnumText(PaymentProvider, 16))
    status: Mapped[RegistrationStatus] = mapped_column(EnumText(RegistrationStatus, 16))
    version: Mapped[int]
    attempt_count: Mapped[int]
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    provider_payment_id: Mapped[str | None] = mapped_column(String(128))
    txid: Mapped[str | None] = mapped_column(String(35))
    last_error: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]
