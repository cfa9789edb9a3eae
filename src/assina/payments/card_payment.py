"""One card attempt now, for a charge: `POST /v1/charges/{id}/pay` and the payment page's card
form take this one path through the three steps of card_attempts.py (begin in a transaction,
call the gateway with none open, record the answer in another)."""

from __future__ import annotations

from dataclasses import dataclass

from assina.charges.models import ChargeStatus
from assina.charges.schemas import ChargeOut
from assina.charges.service import get_charge
from assina.core.clock import Clock, local_date
from assina.core.errors import conflict, invalid
from assina.db.database import Database
from assina.payment_settings.service import ensure_inbound_urls
from assina.payments.card_attempts import (
    NO_ASAAS_KEY,
    AttemptPlan,
    begin_attempts,
    next_attempt_number,
    record_results,
)
from assina.payments.card_schedule import charge_once
from assina.payments.cards import card_for_charge
from assina.payments.connections import ProviderConnections
from assina.payments.schemas import CardAttemptOut, ChargePaid


@dataclass(frozen=True)
class CardPayment:
    """Who pays what: the tenant (its clock, a sandbox tenant's test clock, and time zone),
    the charge, the card (None: the customer's default card), and the base URL the sandbox
    notifies."""

    tenant_id: str
    time_zone: str
    clock: Clock
    charge_id: str
    card_id: str | None
    base_url: str


async def pay_by_card_now(
    database: Database, connections: ProviderConnections, payment: CardPayment
) -> ChargePaid:
    """One attempt: approved settles the charge, declined raises `card.declined`, processing
    waits for the gateway's notification, no answer leaves it `failed`. 409 when the charge
    is not open; 422 when the customer has no such card, or when it is an Asaas card and
    the tenant has no Asaas API key any more (no attempt is made)."""
    clock, tenant_id = payment.clock, payment.tenant_id
    async with database.write() as session:
        charge = await get_charge(session, tenant_id, payment.charge_id, for_update=True)
        if charge.status != ChargeStatus.OPEN:
            raise conflict(
                f"Charge {charge.id} is {charge.status}; only an open charge can be paid."
            )
        card = await card_for_charge(session, tenant_id, charge.customer_id, payment.card_id)
        urls = await ensure_inbound_urls(
            session, clock, connections.box, tenant_id, payment.base_url
        )
        plan = AttemptPlan(
            charge.id,
            card.id,
            await next_attempt_number(session, tenant_id, charge.id),
            local_date(clock.now(), payment.time_zone),
            next(url.url for url in urls if url.provider == card.provider),
        )
        gateway = await connections.card_gateway(session, tenant_id, card.provider)
        if gateway is None:
            raise invalid("card_id", NO_ASAAS_KEY)
        [begun] = await begin_attempts(session, clock, connections.box, tenant_id, [plan])
    result = await charge_once(gateway, begun)
    async with database.write() as session:
        [attempt] = await record_results(session, clock, tenant_id, [(begun.attempt_id, result)])
        charge = await get_charge(session, tenant_id, payment.charge_id)
        return ChargePaid(attempt=CardAttemptOut.of(attempt), charge=ChargeOut.of(charge))
