"""A charge tried on a card, in three steps so that no transaction is held across the call to
the gateway:

1. `begin_attempt` (a transaction): the attempt written `pending` with its number, which the
   unique (charge, number) makes once; what the gateway needs is read.
2. the gateway is called with the attempt's id as the idempotency key (a retry of a lost
   answer is the same payment at the gateway).
3. `record_result` (a transaction): approved settles the charge (`charge.settled`); declined
   raises `card.declined` with the attempt's number; processing waits for the notification
   (`decided_by_notification`); a gateway that did not answer leaves the attempt `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeOut, ChargeSettle, SettlementMethod
from assina.charges.settlement import amount_due, settle_charge
from assina.core.clock import Clock
from assina.core.errors import conflict, invalid
from assina.core.ids import new_id
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.events.catalog import EventType
from assina.events.service import emit_event
from assina.payments.models import CardAttempt, CardAttemptStatus, CustomerCard
from assina.payments.providers import (
    CardAttemptResult,
    DeclinedPayment,
    Payer,
    PaymentOrder,
    ReceivedPayment,
)
from assina.payments.schemas import CardDeclinedOut, SavedCardOut
from assina.rules.cards import DECLINE_MESSAGES, ChargeOutcome, DeclineCode

# A gateway that could not be reached: recorded with this message, tried again later.
UNREACHABLE = "the card gateway did not answer; the attempt will be made again"


@dataclass(frozen=True)
class BegunAttempt:
    """What step 2 needs: the attempt, the gateway's token for the card, the order."""

    attempt_id: str
    card_token: str
    order: PaymentOrder


async def card_of_customer(
    session: AsyncSession, tenant_id: str, customer_id: str, card_id: str | None
) -> CustomerCard:
    """The customer's card `card_id`, or their default card; 422 when there is none."""
    statement = select(CustomerCard).where(
        CustomerCard.tenant_id == tenant_id,
        CustomerCard.customer_id == customer_id,
        CustomerCard.deleted_at.is_(None),
    )
    if card_id is not None:
        card = await session.scalar(statement.where(CustomerCard.id == card_id))
        if card is None:
            raise invalid("card_id", f"the customer has no card {card_id!r}")
        return card
    card = await session.scalar(statement.where(CustomerCard.is_default.is_(True)))
    if card is None:
        raise invalid("card_id", "the customer has no default card: save one first")
    return card


async def next_attempt_number(session: AsyncSession, tenant_id: str, charge_id: str) -> int:
    counted = await session.scalar(
        select(func.coalesce(func.max(CardAttempt.number), 0)).where(
            CardAttempt.tenant_id == tenant_id, CardAttempt.charge_id == charge_id
        )
    )
    return int(counted or 0) + 1


async def begin_attempt(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    charge: Charge,
    card: CustomerCard,
    *,
    number: int,
    scheduled_on: date,
    notification_url: str | None,
    retried: CardAttempt | None = None,
) -> BegunAttempt:
    """Step 1: the attempt written pending, for what settles the charge now (`retried`: an
    attempt whose gateway did not answer, tried again under its own id, so that a gateway
    that did take it answers with that payment). 409 when the charge is not open."""
    if charge.status != ChargeStatus.OPEN:
        raise conflict(f"Charge {charge.id} is {charge.status}; only an open charge can be paid.")
    now = clock.now()
    amount = await amount_due(session, charge.tenant_id, charge, now)
    attempt = retried or CardAttempt(
        id=new_id("cat"), tenant_id=charge.tenant_id, charge_id=charge.id, number=number
    )
    attempt.card_id, attempt.scheduled_on, attempt.amount = card.id, scheduled_on, amount
    attempt.status, attempt.created_at = CardAttemptStatus.PENDING, now
    attempt.provider_payment_id = attempt.decline_code = attempt.message = None
    attempt.decided_at = None
    if retried is None:
        session.add(attempt)
    customer = await session.get_one(Customer, charge.customer_id)
    order = PaymentOrder(
        charge_id=charge.id,
        charge_number=charge.number,
        payer=Payer(charge.customer_id, customer.name, customer.document, customer.email),
        amount=amount,
        due_date=charge.due_date,
        description=f"Cobrança {charge.number}",
        idempotency_key=attempt.id,
        requested_at=now,
        notification_url=notification_url,
        remote_ip=card.saved_from_ip,
    )
    return BegunAttempt(attempt.id, box.open(card.token_sealed), order)


async def record_result(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    attempt_id: str,
    result: CardAttemptResult | None,
) -> CardAttempt:
    """Step 3: the gateway's answer (None: it did not answer) on the attempt, with what
    follows from it."""
    attempt = await _locked_attempt(session, tenant_id, attempt_id)
    now = clock.now()
    if result is None:
        attempt.status, attempt.message, attempt.decided_at = (
            CardAttemptStatus.FAILED,
            UNREACHABLE,
            now,
        )
        return attempt
    attempt.provider_payment_id = result.provider_payment_id
    if result.outcome == ChargeOutcome.APPROVED:
        await _approved(session, clock, attempt)
    elif result.outcome == ChargeOutcome.PROCESSING:
        attempt.status = CardAttemptStatus.PROCESSING
    else:
        code = result.decline_code or DeclineCode.GENERIC_DECLINE
        await _declined(session, clock, attempt, code, result.message or DECLINE_MESSAGES[code])
    return attempt


async def decided_by_notification(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    notification: ReceivedPayment | DeclinedPayment,
) -> None:
    """A `processing` attempt the gateway decided later: approved (the inbound path settles
    the charge itself) or declined (`card.declined`)."""
    attempt = await session.scalar(
        select(CardAttempt)
        .where(
            CardAttempt.tenant_id == tenant_id,
            CardAttempt.provider_payment_id == notification.provider_payment_id,
            CardAttempt.status == CardAttemptStatus.PROCESSING,
        )
        .with_for_update()
    )
    if attempt is None:
        return
    if isinstance(notification, ReceivedPayment):
        attempt.status, attempt.decided_at = CardAttemptStatus.APPROVED, clock.now()
        return
    await _declined(session, clock, attempt, notification.decline_code, notification.message)


async def _locked_attempt(session: AsyncSession, tenant_id: str, attempt_id: str) -> CardAttempt:
    attempt = await session.scalar(
        select(CardAttempt)
        .where(CardAttempt.tenant_id == tenant_id, CardAttempt.id == attempt_id)
        .with_for_update()
    )
    if attempt is None:  # written by step 1 of the same attempt, and never deleted
        raise LookupError(f"card attempt {attempt_id} is not recorded")
    return attempt


async def _approved(session: AsyncSession, clock: Clock, attempt: CardAttempt) -> None:
    attempt.status, attempt.decided_at = CardAttemptStatus.APPROVED, clock.now()
    charge = await session.get_one(Charge, attempt.charge_id, with_for_update=True)
    if charge.status != ChargeStatus.OPEN:  # another rail paid it meanwhile: kept for a refund
        attempt.message = f"approved while the charge was {charge.status}: refund it"
        return
    params = ChargeSettle.model_construct(
        amount=attempt.amount, settled_at=clock.now(), method=SettlementMethod.CARD
    )
    await settle_charge(session, clock, attempt.tenant_id, attempt.charge_id, params)


async def _declined(
    session: AsyncSession, clock: Clock, attempt: CardAttempt, code: DeclineCode, message: str
) -> None:
    now = clock.now()
    attempt.status, attempt.decided_at = CardAttemptStatus.DECLINED, now
    attempt.decline_code, attempt.message = code.value, message[:512]
    charge = await session.get_one(Charge, attempt.charge_id)
    card = await session.get_one(CustomerCard, attempt.card_id)
    data = CardDeclinedOut(
        charge_id=charge.id,
        customer_id=charge.customer_id,
        card_id=card.id,
        card=SavedCardOut.of(card),
        attempt=attempt.number,
        decline_code=code,
        message=message,
        attempted_at=attempt.created_at,
        charge=ChargeOut.of(charge),
    )
    await emit_event(
        session,
        clock,
        attempt.tenant_id,
        EventType.CARD_DECLINED,
        data,
        customer_id=charge.customer_id,
    )
