"""What the payments API takes and answers: inbound events, the sandbox's payments, a
reconciliation's summary."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from assina.charges.schemas import ChargeOut
from assina.core.inputs import InputModel
from assina.core.money import MAX_AMOUNT
from assina.payment_settings.models import PaymentProvider
from assina.payments.models import (
    CardAttempt,
    CardAttemptStatus,
    CustomerCard,
    InboundEvent,
    InboundOutcome,
    Registration,
    RegistrationRail,
    RegistrationStatus,
)
from assina.rules.cards import DeclineCode

if TYPE_CHECKING:  # inbound.py reads card attempts, which answer with these schemas
    from assina.payments.inbound import Recorded


class RegistrationOut(BaseModel):
    """A charge's registration with its provider on one rail."""

    object: str = "registration"
    id: str
    charge_id: str
    rail: RegistrationRail
    provider: PaymentProvider
    status: RegistrationStatus = Field(
        description=(
            "pending: to be made (or retried at next_attempt_at); registered: the provider "
            "made it and the charge carries its instructions; failed: refused by the "
            "provider, or its retries spent (final: see last_error; the charge keeps the "
            "instructions it had); cancelling: the charge is no longer open (invalidated, or "
            "settled another way), what the provider made is to be cancelled there (retried "
            "at next_attempt_at); cancelled: the charge stopped being open before it was "
            "made, or it was cancelled at the provider (cancelled_at). A cancellation the "
            "provider refuses (what it made was paid) leaves it registered, with the reason "
            "in last_error."
        )
    )
    attempt_count: int
    next_attempt_at: datetime | None
    registered_at: datetime | None
    cancelled_at: datetime | None = Field(
        description="When the provider cancelled what it made (its PIX charge, its payment)."
    )
    provider_payment_id: str | None = Field(description="The provider's id of what it made.")
    txid: str | None = Field(description="The PIX charge's txid (26 to 35 letters and digits).")
    last_error: str | None

    @classmethod
    def of(cls, row: Registration) -> RegistrationOut:
        pending = row.status in (RegistrationStatus.PENDING, RegistrationStatus.CANCELLING)
        return cls(
            id=row.id,
            charge_id=row.charge_id,
            rail=row.rail,
            provider=row.provider,
            status=row.status,
            attempt_count=row.attempt_count,
            next_attempt_at=row.next_attempt_at if pending else None,
            registered_at=row.registered_at,
            cancelled_at=row.cancelled_at,
            provider_payment_id=row.provider_payment_id,
            txid=row.txid,
            last_error=row.last_error,
        )


class InboundEventOut(BaseModel):
    object: str = "inbound_event"
    id: str
    provider: PaymentProvider
    event_id: str = Field(description="The provider's id of the notification: unique, once.")
    kind: str = Field(description="payment_received, payment_declined, or the provider's own.")
    outcome: InboundOutcome = Field(
        description=(
            "settled: the charge was settled by it; already_settled: money for a charge no "
            "longer open (refund it by hand); unmatched: no charge of this tenant has its "
            "reference; declined: a card payment declined after processing; ignored."
        )
    )
    source: str = Field(description="notification (the provider called) or reconciliation.")
    charge_id: str | None
    provider_payment_id: str | None
    rail: str | None
    amount: int | None
    paid_at: datetime | None
    payload: dict[str, Any] = Field(description="What the provider sent, as it sent it.")
    received_at: datetime

    @classmethod
    def of(cls, row: InboundEvent) -> InboundEventOut:
        return cls(
            id=row.id,
            provider=row.provider,
            event_id=row.event_id,
            kind=row.kind,
            outcome=row.outcome,
            source=row.source,
            charge_id=row.charge_id,
            provider_payment_id=row.provider_payment_id,
            rail=row.rail,
            amount=row.amount,
            paid_at=row.paid_at,
            payload=row.payload,
            received_at=row.received_at,
        )


class RecordedOut(BaseModel):
    event_id: str
    inbound_event_id: str | None = Field(description="None: a replay, which changed nothing.")
    outcome: InboundOutcome | None

    @classmethod
    def of(cls, recorded: Recorded) -> RecordedOut:
        return cls(
            event_id=recorded.event_id,
            inbound_event_id=recorded.inbound_event_id,
            outcome=recorded.outcome,
        )


class InboundAnswer(BaseModel):
    received: list[RecordedOut]


class SandboxMethod(StrEnum):
    PIX = "pix"
    BOLETO = "boleto"


class SandboxPayIn(InputModel):
    method: SandboxMethod
    amount: int | None = Field(
        default=None,
        gt=0,
        le=MAX_AMOUNT,
        description="What the payer pays; default: what settles the charge today (fees included).",
    )


class SandboxPaymentOut(BaseModel):
    object: str = "sandbox_payment"
    id: str = Field(description="The sandbox provider's payment id.")
    charge_id: str
    method: str
    status: str
    amount: int
    paid_at: datetime | None
    end_to_end_id: str | None


class ReconciliationOut(BaseModel):
    object: str = "reconciliation"
    provider: PaymentProvider
    looked_since: datetime
    found: int = Field(description="Payments the provider says it received since then.")
    recorded: list[RecordedOut] = Field(description="Those assina had not heard of yet.")


class SavedCardOut(BaseModel):
    """A saved card as shown: never its number, never its token."""

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    @classmethod
    def of(cls, card: CustomerCard) -> SavedCardOut:
        return cls(
            id=card.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )


class CardDeclinedOut(BaseModel):
    """`card.declined`'s data: one declined attempt, the card, and the charge as it stands
    (still open; the `superlogica` format sends its `_recb` columns with `tentativa`)."""

    charge_id: str
    customer_id: str
    card_id: str
    card: SavedCardOut
    attempt: int = Field(description="1 on the due date, then one more per retry day.")
    decline_code: DeclineCode
    message: str = Field(description="What the customer reads (pt-BR).")
    attempted_at: datetime
    charge: ChargeOut


class CardAttemptOut(BaseModel):
    object: str = "card_attempt"
    id: str
    charge_id: str
    card_id: str
    attempt: int
    status: CardAttemptStatus
    amount: int
    decline_code: DeclineCode | None
    message: str | None
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, attempt: CardAttempt) -> CardAttemptOut:
        return cls(
            id=attempt.id,
            charge_id=attempt.charge_id,
            card_id=attempt.card_id,
            attempt=attempt.number,
            status=attempt.status,
            amount=attempt.amount,
            decline_code=DeclineCode(attempt.decline_code) if attempt.decline_code else None,
            message=attempt.message,
            created_at=attempt.created_at,
            decided_at=attempt.decided_at,
        )


class ChargePayIn(InputModel):
    card_id: str | None = Field(
        default=None, max_length=64, description="Default: the customer's default card."
    )


class ChargePaid(BaseModel):
    """`POST /v1/charges/{id}/pay`'s answer: the attempt and the charge after it."""

    attempt: CardAttemptOut
    charge: ChargeOut
