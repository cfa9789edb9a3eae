"""What a provider tells assina, applied: each notification recorded once (the provider's
event id is unique per tenant and provider) and, in the same transaction, the settlement it
brings with its events. A payment for a charge that is no longer open settles nothing a second
time: it is recorded as `already_settled`, for a person to refund; a payment naming no charge
of the tenant is recorded as `unmatched`. Nothing a provider sends is dropped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import SettlementMethod
from assina.charges.settlement import EARLIEST_SETTLEMENT, SettlementOrder, settle_charges
from assina.core.clock import Clock
from assina.core.errors import not_found
from assina.core.ids import new_id
from assina.core.pagination import PageParams, fetch_page
from assina.db.dialect import insert_on_conflict
from assina.payment_settings.models import PaymentProvider
from assina.payments.card_attempts import decided_by_notification
from assina.payments.models import InboundEvent, InboundOutcome
from assina.payments.providers import (
    DeclinedPayment,
    IgnoredNotification,
    Notification,
    PaymentRail,
    ReceivedPayment,
)

FROM_NOTIFICATION = "notification"
FROM_RECONCILIATION = "reconciliation"


@dataclass(frozen=True)
class Recorded:
    """One notification's fate: the stored event, or None when it was a replay."""

    event_id: str
    inbound_event_id: str | None
    outcome: InboundOutcome | None


async def record_notifications(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    provider: PaymentProvider,
    notifications: Sequence[Notification],
    payload: Mapping[str, Any],
    source: str = FROM_NOTIFICATION,
) -> list[Recorded]:
    """Record and apply each notification; a replay (an event id already recorded) changes
    nothing. The caller's transaction holds all of it."""
    return [
        await _record(session, clock, tenant_id, provider, notification, payload, source)
        for notification in notifications
    ]


async def _record(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    provider: PaymentProvider,
    notification: Notification,
    payload: Mapping[str, Any],
    source: str,
) -> Recorded:
    # The charge is locked first, so that two deliveries of one payment (or two rails paying
    # one charge) run one after the other: the second finds the first's event or its settlement.
    charge = await _locked_charge(session, tenant_id, notification.charge_id)
    outcome = _outcome(notification, charge)
    row = _row(tenant_id, provider, notification, outcome, payload, source, clock.real_now())
    statement = (
        insert_on_conflict(session, InboundEvent)
        .values(**row)
        .on_conflict_do_nothing(
            index_elements=[InboundEvent.tenant_id, InboundEvent.provider, InboundEvent.event_id]
        )
        .returning(InboundEvent.id)
    )
    inserted = (await session.execute(statement)).scalar_one_or_none()
    if inserted is None:
        return Recorded(notification.event_id, None, None)
    if outcome == InboundOutcome.SETTLED and isinstance(notification, ReceivedPayment):
        assert charge is not None  # noqa: S101 (SETTLED needs an open charge)
        await _settle(session, clock, tenant_id, charge, notification)
    if charge is not None and _card_payment(notification):
        # A card attempt that answered "processing" is decided by this notification.
        await decided_by_notification(session, clock, tenant_id, notification)
    return Recorded(notification.event_id, inserted, outcome)


def _card_payment(
    notification: Notification,
) -> TypeGuard[ReceivedPayment | DeclinedPayment]:
    if isinstance(notification, DeclinedPayment):
        return True
    return isinstance(notification, ReceivedPayment) and notification.rail == PaymentRail.CARD


async def _locked_charge(
    session: AsyncSession, tenant_id: str, charge_id: str | None
) -> Charge | None:
    if charge_id is None:
        return None
    return await session.scalar(
        select(Charge)
        .where(Charge.tenant_id == tenant_id, Charge.id == charge_id)
        .with_for_update()
    )


def _outcome(notification: Notification, charge: Charge | None) -> InboundOutcome:
    if isinstance(notification, IgnoredNotification):
        return InboundOutcome.IGNORED
    if charge is None:
        return InboundOutcome.UNMATCHED
    if isinstance(notification, DeclinedPayment):
        return InboundOutcome.DECLINED
    if charge.status != ChargeStatus.OPEN:
        return InboundOutcome.ALREADY_SETTLED
    return InboundOutcome.SETTLED


def _row(
    tenant_id: str,
    provider: PaymentProvider,
    notification: Notification,
    outcome: InboundOutcome,
    payload: Mapping[str, Any],
    source: str,
    now: datetime,
) -> dict[str, Any]:
    received = notification if isinstance(notification, ReceivedPayment) else None
    kind = (
        notification.kind
        if isinstance(notification, IgnoredNotification)
        else ("payment_received" if received else "payment_declined")
    )
    return {
        "id": new_id("inb"),
        "tenant_id": tenant_id,
        "provider": provider,
        "event_id": notification.event_id,
        "kind": kind[:64],
        "outcome": outcome,
        "source": source,
        "charge_id": notification.charge_id,
        "provider_payment_id": notification.provider_payment_id,
        "rail": received.rail.value if received else None,
        "amount": received.amount if received else None,
        "paid_at": received.paid_at if received else None,
        "payload": dict(payload),
        "received_at": now,
    }


async def _settle(
    session: AsyncSession, clock: Clock, tenant_id: str, charge: Charge, paid: ReceivedPayment
) -> None:
    # A provider's clock may run ahead of ours: a payment is never settled in the future.
    settled_at = min(max(paid.paid_at, EARLIEST_SETTLEMENT), clock.now())
    order = SettlementOrder(charge.id, paid.amount, settled_at, SettlementMethod(paid.rail.value))
    await settle_charges(session, clock, tenant_id, [order])


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundFilters:
    provider: PaymentProvider | None = None
    outcome: InboundOutcome | None = None
    charge_id: str | None = None


async def list_inbound_events(
    session: AsyncSession, tenant_id: str, filters: InboundFilters, page: PageParams
) -> tuple[Sequence[InboundEvent], bool]:
    statement = select(InboundEvent).where(InboundEvent.tenant_id == tenant_id)
    if filters.provider is not None:
        statement = statement.where(InboundEvent.provider == filters.provider)
    if filters.outcome is not None:
        statement = statement.where(InboundEvent.outcome == filters.outcome)
    if filters.charge_id is not None:
        statement = statement.where(InboundEvent.charge_id == filters.charge_id)
    return await fetch_page(session, statement, InboundEvent.id, page)


async def get_inbound_event(session: AsyncSession, tenant_id: str, event_id: str) -> InboundEvent:
    found = await session.scalar(
        select(InboundEvent).where(InboundEvent.tenant_id == tenant_id, InboundEvent.id == event_id)
    )
    if found is None:
        raise not_found("inbound event", event_id)
    return found
