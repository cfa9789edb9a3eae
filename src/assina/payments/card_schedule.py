"""The calendar's card step: each open card charge is tried on its due date and on the tenant's
retry days after it (payment settings, default 1, 3 and 5), on the customer's default card.

Chunks of charges go through the three steps of card_attempts.py: one transaction writes the
chunk's attempts pending, the gateway is called for each (at most CONCURRENCY at once, no
transaction open), one transaction records the answers. An attempt whose gateway did not
answer stays `failed` and is tried again, under its own id, by the next pass. A charge whose
last attempt was declined is left to dunning like any open charge past its due date.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.contracts.models import PaymentMethod
from assina.core.clock import Clock
from assina.db.database import Database
from assina.payment_settings.models import PaymentProvider
from assina.payment_settings.service import ensure_inbound_urls, payment_choices
from assina.payments.card_attempts import (
    GATEWAY_MISSING,
    UNREACHABLE,
    AttemptFailed,
    AttemptPlan,
    BegunAttempt,
    begin_attempts,
    record_results,
)
from assina.payments.connections import ProviderConnections
from assina.payments.models import CardAttempt, CardAttemptStatus, CustomerCard
from assina.payments.providers import (
    CardAttemptResult,
    CardGateway,
    CardRefused,
    ProviderRefused,
    ProviderUnavailable,
)
from assina.rules.cards import ChargeOutcome, DeclineCode, card_attempt_due

CHUNK = 200
CONCURRENCY = 32
# Attempts that count as made: the gateway answered (or is deciding).
MADE = (CardAttemptStatus.APPROVED, CardAttemptStatus.DECLINED, CardAttemptStatus.PROCESSING)


@dataclass
class CardStep:
    """What a pass's card step did for one tenant and day."""

    attempted: int = 0
    approved: int = 0
    declined: int = 0
    processing: int = 0
    unanswered: int = 0
    without_card: int = 0

    def add(self, other: CardStep) -> None:
        self.attempted += other.attempted
        self.approved += other.approved
        self.declined += other.declined
        self.processing += other.processing
        self.unanswered += other.unanswered
        self.without_card += other.without_card

    def count(self, status: CardAttemptStatus) -> None:
        self.attempted += 1
        if status == CardAttemptStatus.APPROVED:
            self.approved += 1
        elif status == CardAttemptStatus.DECLINED:
            self.declined += 1
        elif status == CardAttemptStatus.PROCESSING:
            self.processing += 1
        else:
            self.unanswered += 1


@dataclass(frozen=True)
class CardRun:
    """What a calendar pass needs to try card charges: the providers, and the base URL the
    sandbox notifies (ASSINA_PUBLIC_URL, or the request's; None: no notifications)."""

    connections: ProviderConnections
    base_url: str | None = None


@dataclass(frozen=True)
class _Due:
    charge_id: str
    card_id: str
    provider: PaymentProvider
    number: int
    retried_id: str | None  # an unanswered attempt of that number, tried again


async def attempt_due_cards(
    database: Database,
    clock: Clock,
    connections: ProviderConnections,
    tenant_id: str,
    day: date,
    base_url: str | None,
) -> CardStep:
    """Try every card charge of the tenant that is due a try on `day`. `clock` is the
    tenant's; `base_url`, where the sandbox notifies (None: it does not, and reconciliation
    finds what it decides later)."""
    step = CardStep()
    async with database.read() as session:
        choices = await payment_choices(session, tenant_id)
        due = await _due_attempts(session, tenant_id, day, choices.card_retry_days, step)
        # One gateway per provider for the whole pass: the tenant's settings read once.
        gateways = {
            provider: await connections.card_gateway(session, tenant_id, provider)
            for provider in sorted({d.provider for d in due})
        }
    notify = (
        await _notification_urls(database, clock, connections, tenant_id, base_url) if due else {}
    )
    routes = _Routes(gateways, notify)
    for start in range(0, len(due), CHUNK):
        await _attempt_chunk(
            database, clock, connections, tenant_id, day, due[start : start + CHUNK], routes, step
        )
    return step


@dataclass(frozen=True)
class _Routes:
    """Per card provider, for a pass: its gateway (None: it cannot be called, the tenant's
    Asaas API key was removed) and where it notifies (missing: it does not)."""

    gateways: dict[PaymentProvider, CardGateway | None]
    notify: dict[PaymentProvider, str]


async def _notification_urls(
    database: Database,
    clock: Clock,
    connections: ProviderConnections,
    tenant_id: str,
    base_url: str | None,
) -> dict[PaymentProvider, str]:
    if base_url is None:
        return {}
    async with database.write() as session:  # the tenant's inbound tokens, made if missing
        urls = await ensure_inbound_urls(session, clock, connections.box, tenant_id, base_url)
    return {url.provider: url.url for url in urls}


async def _due_attempts(
    session: AsyncSession,
    tenant_id: str,
    day: date,
    retry_days: Sequence[int],
    step: CardStep,
) -> list[_Due]:
    charges = (
        await session.execute(
            select(Charge.id, Charge.customer_id, Charge.due_date).where(
                Charge.tenant_id == tenant_id,
                Charge.status == ChargeStatus.OPEN,
                Charge.payment_method == PaymentMethod.CARD,
                Charge.due_date <= day,
                # Past its last retry day a charge is dunning's: not read every pass.
                Charge.due_date >= day - timedelta(days=max(retry_days, default=0)),
            )
        )
    ).all()
    if not charges:
        return []
    ids = [charge.id for charge in charges]
    made = await _attempts_made(session, tenant_id, ids)
    unfinished = await _unfinished_attempts(session, tenant_id, ids)
    cards = await _default_cards(session, tenant_id, {charge.customer_id for charge in charges})
    due: list[_Due] = []
    for charge_id, customer_id, due_date in charges:
        count, deciding = made.get(charge_id, (0, False))
        if deciding or not card_attempt_due(due_date, day, retry_days, count):
            continue
        card = cards.get(customer_id)
        if card is None:
            step.without_card += 1
            continue
        retried = unfinished.get((charge_id, count + 1))
        due.append(_Due(charge_id, card[0], card[1], count + 1, retried))
    return due


async def _attempts_made(
    session: AsyncSession, tenant_id: str, charge_ids: Sequence[str]
) -> dict[str, tuple[int, bool]]:
    """Per charge: attempts the gateway answered, and whether one is still being decided."""
    rows = await session.execute(
        select(
            CardAttempt.charge_id,
            func.count(),
            func.max(case((CardAttempt.status == CardAttemptStatus.PROCESSING, 1), else_=0)),
        )
        .where(
            CardAttempt.tenant_id == tenant_id,
            CardAttempt.charge_id.in_(charge_ids),
            CardAttempt.status.in_(MADE),
        )
        .group_by(CardAttempt.charge_id)
    )
    return {charge_id: (int(count), bool(deciding)) for charge_id, count, deciding in rows}


async def _unfinished_attempts(
    session: AsyncSession, tenant_id: str, charge_ids: Sequence[str]
) -> dict[tuple[str, int], str]:
    rows = await session.execute(
        select(CardAttempt.charge_id, CardAttempt.number, CardAttempt.id).where(
            CardAttempt.tenant_id == tenant_id,
            CardAttempt.charge_id.in_(charge_ids),
            CardAttempt.status.in_((CardAttemptStatus.PENDING, CardAttemptStatus.FAILED)),
        )
    )
    return {(charge_id, number): attempt_id for charge_id, number, attempt_id in rows}


async def _default_cards(
    session: AsyncSession, tenant_id: str, customer_ids: set[str]
) -> dict[str, tuple[str, PaymentProvider]]:
    rows = await session.execute(
        select(CustomerCard.customer_id, CustomerCard.id, CustomerCard.provider).where(
            CustomerCard.tenant_id == tenant_id,
            CustomerCard.customer_id.in_(customer_ids),
            CustomerCard.is_default.is_(True),
            CustomerCard.deleted_at.is_(None),
        )
    )
    return {customer_id: (card_id, provider) for customer_id, card_id, provider in rows}


async def _attempt_chunk(
    database: Database,
    clock: Clock,
    connections: ProviderConnections,
    tenant_id: str,
    day: date,
    chunk: Sequence[_Due],
    routes: _Routes,
    step: CardStep,
) -> None:
    plans = [
        AttemptPlan(
            due.charge_id,
            due.card_id,
            due.number,
            day,
            routes.notify.get(due.provider),
            due.retried_id,
        )
        for due in chunk
    ]
    providers = {due.charge_id: due.provider for due in chunk}
    async with database.write() as session:
        begun = await begin_attempts(session, clock, connections.box, tenant_id, plans)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def charged(attempt: BegunAttempt) -> CardAttemptResult | AttemptFailed:
        async with limit:
            provider = providers[attempt.order.charge_id]
            return await charge_once(routes.gateways[provider], attempt)

    results = await asyncio.gather(*(charged(attempt) for attempt in begun))
    answers = [(attempt.attempt_id, result) for attempt, result in zip(begun, results, strict=True)]
    async with database.write() as session:
        for recorded in await record_results(session, clock, tenant_id, answers):
            step.count(recorded.status)


async def charge_once(
    gateway: CardGateway | None, begun: BegunAttempt
) -> CardAttemptResult | AttemptFailed:
    """The gateway's answer to one attempt; AttemptFailed when it gave none, or when there is
    no gateway to ask (tried again later). A refusal of the request is a decline: retrying it
    unchanged would be refused again."""
    if gateway is None:
        return GATEWAY_MISSING
    try:
        return await gateway.charge_card(begun.order, begun.card_token)
    except ProviderUnavailable:
        return UNREACHABLE
    except CardRefused as refused:
        return CardAttemptResult(ChargeOutcome.DECLINED, None, refused.decline_code, str(refused))
    except ProviderRefused as refused:
        code = DeclineCode.GENERIC_DECLINE
        return CardAttemptResult(ChargeOutcome.DECLINED, None, code, str(refused))
