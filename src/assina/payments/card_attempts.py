"""Charges tried on cards, one or many, in three steps so that no transaction is held across
the calls to the gateway:

1. `begin_attempts` (a transaction): each attempt written `pending` with its number, which the
   unique (charge, number) makes once; what the gateway needs is read.
2. the gateway is called with each attempt's id as the idempotency key (a retry of a lost
   answer is the same payment at the gateway).
3. `record_results` (a transaction): approved settles the charges (`charge.settled`); declined
   raises `card.declined` with the attempt's number; processing waits for the notification
   (`decided_by_notification`); a gateway that did not answer, or that could not be called
   (an Asaas card of a tenant whose Asaas API key was removed), leaves the attempt `failed`.

`POST /v1/charges/{id}/pay` and the payment page take them with one attempt
(card_payment.py), the calendar with chunks of 200 (card_schedule.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeOut, SettlementMethod
from assina.charges.settlement import SettlementOrder, fee_rules, locked_charges, settle_charges
from assina.core.clock import Clock
from assina.core.ids import new_id
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.db.shapes import one_of
from assina.events.catalog import EventType
from assina.events.service import Change, emit_typed_events
from assina.payments.cards import card_token, payer_of
from assina.payments.models import (
    CardAttempt,
    CardAttemptStatus,
    CustomerCard,
    InboundEvent,
    InboundOutcome,
)
from assina.payments.providers import (
    CardAttemptResult,
    DeclinedPayment,
    PaymentOrder,
    ReceivedPayment,
)
from assina.payments.schemas import CardDeclinedOut, SavedCardOut
from assina.rules.cards import DECLINE_MESSAGES, ChargeOutcome, DeclineCode


@dataclass(frozen=True)
class AttemptFailed:
    """An attempt no gateway answered, and why: recorded `failed` with this message, and
    tried again by the next pass under its own id."""

    message: str


UNREACHABLE = AttemptFailed("the card gateway did not answer; the attempt will be made again")
# An Asaas card whose tenant removed its Asaas API key since the card was saved.
NO_ASAAS_KEY = (
    "the card was saved with Asaas and the tenant has no Asaas API key any more: "
    "store one with PUT /v1/payment-settings"
)
GATEWAY_MISSING = AttemptFailed(f"{NO_ASAAS_KEY}; the attempt will be made again")


@dataclass(frozen=True)
class BegunAttempt:
    """What step 2 needs: the attempt, the gateway's token for the card, the order."""

    attempt_id: str
    card_token: str
    order: PaymentOrder


async def next_attempt_number(session: AsyncSession, tenant_id: str, charge_id: str) -> int:
    counted = await session.scalar(
        select(func.coalesce(func.max(CardAttempt.number), 0)).where(
            CardAttempt.tenant_id == tenant_id, CardAttempt.charge_id == charge_id
        )
    )
    return int(counted or 0) + 1


@dataclass(frozen=True)
class AttemptPlan:
    """One attempt to begin: the charge, the card, the attempt's number and day, where the
    gateway notifies, and the unanswered attempt of that number when it is tried again (under
    its own id, so that a gateway that did take it answers with that payment)."""

    charge_id: str
    card_id: str
    number: int
    scheduled_on: date
    notification_url: str | None
    retried_id: str | None = None


async def begin_attempts(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    tenant_id: str,
    plans: Sequence[AttemptPlan],
) -> list[BegunAttempt]:
    """Step 1: each attempt written pending, for what settles its charge now. The charges are
    locked in one statement (id order); one no longer open is skipped (paid meanwhile). The
    cards, customers and retried attempts are read in one statement each."""
    if not plans:
        return []
    charges = await locked_charges(session, tenant_id, (p.charge_id for p in plans))
    cards = await _by_id(session, CustomerCard, tenant_id, {p.card_id for p in plans})
    customer_ids = {charge.customer_id for charge in charges.values()}
    customers = await _by_id(session, Customer, tenant_id, customer_ids)
    retried_ids = {p.retried_id for p in plans if p.retried_id}
    retried = await _by_id(session, CardAttempt, tenant_id, retried_ids)
    fees_at = await fee_rules(session, tenant_id)
    now = clock.now()
    begun: list[BegunAttempt] = []
    for plan in plans:
        charge = charges.get(plan.charge_id)
        if charge is None or charge.status != ChargeStatus.OPEN:
            continue
        card, customer = cards[plan.card_id], customers[charge.customer_id]
        amount = charge.amount + fees_at(charge, now).total
        attempt = retried.get(plan.retried_id or "") or _new_attempt(session, charge, plan)
        attempt.card_id, attempt.scheduled_on, attempt.amount = card.id, plan.scheduled_on, amount
        attempt.status, attempt.created_at = CardAttemptStatus.PENDING, now
        attempt.provider_payment_id = attempt.decline_code = attempt.message = None
        attempt.decided_at = None
        order = PaymentOrder(
            charge_id=charge.id,
            charge_number=charge.number,
            payer=payer_of(customer),
            amount=amount,
            due_date=charge.due_date,
            description=f"Cobrança {charge.number}",
            idempotency_key=attempt.id,
            requested_at=now,
            notification_url=plan.notification_url,
            remote_ip=card.saved_from_ip,
        )
        begun.append(BegunAttempt(attempt.id, card_token(box, card), order))
    return begun


def _new_attempt(session: AsyncSession, charge: Charge, plan: AttemptPlan) -> CardAttempt:
    attempt = CardAttempt(
        id=new_id("cat"), tenant_id=charge.tenant_id, charge_id=charge.id, number=plan.number
    )
    session.add(attempt)
    return attempt


Row = TypeVar("Row", Charge, CustomerCard, Customer, CardAttempt)


async def _by_id(
    session: AsyncSession, model: type[Row], tenant_id: str, ids: set[str], lock: bool = False
) -> dict[str, Row]:
    """The tenant's rows of `model` with these ids, in one statement (locked in id order)."""
    if not ids:
        return {}
    statement = (
        select(model).where(model.tenant_id == tenant_id, model.id.in_(ids)).order_by(model.id)
    )
    if lock:
        statement = statement.with_for_update()
    return {row.id: row for row in await session.scalars(statement)}


async def record_results(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    answers: Sequence[tuple[str, CardAttemptResult | AttemptFailed]],
) -> list[CardAttempt]:
    """Step 3: each gateway's answer (AttemptFailed: none) on its attempt, and what
    follows: the approved settled in one batch, the declined one batch of `card.declined`."""
    attempts = await _by_id(
        session, CardAttempt, tenant_id, {attempt_id for attempt_id, _ in answers}, lock=True
    )
    now = clock.now()
    approved: list[CardAttempt] = []
    declined: list[Decline] = []
    for attempt_id, result in answers:
        attempt = attempts[attempt_id]
        if isinstance(result, AttemptFailed):
            attempt.status, attempt.message = CardAttemptStatus.FAILED, result.message
            attempt.decided_at = now
            continue
        attempt.provider_payment_id = result.provider_payment_id
        if result.outcome == ChargeOutcome.APPROVED:
            attempt.status, attempt.decided_at = CardAttemptStatus.APPROVED, now
            approved.append(attempt)
        elif result.outcome == ChargeOutcome.PROCESSING:
            attempt.status = CardAttemptStatus.PROCESSING
        else:
            code = result.decline_code or DeclineCode.GENERIC_DECLINE
            declined.append(Decline(attempt, code, result.message or DECLINE_MESSAGES[code]))
    await _settle_approved(session, clock, tenant_id, approved)
    await _raise_declines(session, clock, tenant_id, declined)
    return [attempts[attempt_id] for attempt_id, _ in answers]


@dataclass(frozen=True)
class Decline:
    attempt: CardAttempt
    code: DeclineCode
    message: str


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
    decline = Decline(attempt, notification.decline_code, notification.message)
    await _raise_declines(session, clock, tenant_id, [decline])


async def _settle_approved(
    session: AsyncSession, clock: Clock, tenant_id: str, approved: Sequence[CardAttempt]
) -> None:
    """Settle the charges of approved attempts; one another rail paid meanwhile is left as it
    is, its attempt marked for a refund."""
    if not approved:
        return
    charges = await locked_charges(session, tenant_id, (a.charge_id for a in approved))
    notified = await _settled_by_notification(
        session, tenant_id, {a.provider_payment_id for a in approved if a.provider_payment_id}
    )
    orders: list[SettlementOrder] = []
    for attempt in approved:
        status = charges[attempt.charge_id].status
        if status != ChargeStatus.OPEN and attempt.provider_payment_id in notified:
            continue  # this very payment's notification came first and settled it
        if status != ChargeStatus.OPEN:
            attempt.message = f"approved while the charge was {status}: refund it"
            continue
        orders.append(
            SettlementOrder(attempt.charge_id, attempt.amount, clock.now(), SettlementMethod.CARD)
        )
    await settle_charges(session, clock, tenant_id, orders)


async def _settled_by_notification(
    session: AsyncSession, tenant_id: str, payment_ids: set[str]
) -> set[str]:
    """The provider payments whose own notification settled their charge (Asaas's
    PAYMENT_CONFIRMED can reach assina before the attempt's answer does)."""
    if not payment_ids:
        return set()
    found = await session.scalars(
        select(InboundEvent.provider_payment_id).where(
            InboundEvent.tenant_id == tenant_id,
            InboundEvent.outcome == InboundOutcome.SETTLED,
            one_of(InboundEvent.provider_payment_id, sorted(payment_ids)),
        )
    )
    return {payment_id for payment_id in found if payment_id}


async def approved_card_payments(
    session: AsyncSession, tenant_id: str, payment_ids: set[str]
) -> set[str]:
    """The provider payments that are approved card attempts: a notification of one of them
    tells again what the attempt's answer told (the charge is settled already by it)."""
    if not payment_ids:
        return set()
    found = await session.scalars(
        select(CardAttempt.provider_payment_id).where(
            CardAttempt.tenant_id == tenant_id,
            CardAttempt.status == CardAttemptStatus.APPROVED,
            one_of(CardAttempt.provider_payment_id, sorted(payment_ids)),
        )
    )
    return {payment_id for payment_id in found if payment_id}


async def _raise_declines(
    session: AsyncSession, clock: Clock, tenant_id: str, declines: Sequence[Decline]
) -> None:
    """Each declined attempt recorded, and its `card.declined`, in one batch."""
    if not declines:
        return
    now = clock.now()
    charges = await _by_id(session, Charge, tenant_id, {d.attempt.charge_id for d in declines})
    cards = await _by_id(session, CustomerCard, tenant_id, {d.attempt.card_id for d in declines})
    events: list[tuple[EventType, Change]] = []
    for decline in declines:
        attempt = decline.attempt
        attempt.status, attempt.decided_at = CardAttemptStatus.DECLINED, now
        attempt.decline_code, attempt.message = decline.code.value, decline.message[:512]
        charge, card = charges[attempt.charge_id], cards[attempt.card_id]
        data = CardDeclinedOut(
            charge_id=charge.id,
            customer_id=charge.customer_id,
            card_id=card.id,
            card=SavedCardOut.of(card),
            attempt=attempt.number,
            decline_code=decline.code,
            message=decline.message,
            attempted_at=attempt.created_at,
            charge=ChargeOut.of(charge),
        )
        events.append((EventType.CARD_DECLINED, Change(data, charge.customer_id)))
    await session.flush()
    await emit_typed_events(session, clock, tenant_id, events, now=now, due_at=clock.real_now())
