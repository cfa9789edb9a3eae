"""What a provider tells assina, applied: each notification recorded once (the provider's
event id is unique per tenant and provider) and, in the same transaction, the settlement it
brings with its events. A payment for a charge that is no longer open settles nothing a second
time: it is recorded as `already_settled`, for a person to refund; a payment naming no charge
of the tenant is recorded as `unmatched`. Nothing a provider sends is dropped."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from sqlalchemy import Insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import SettlementMethod
from assina.charges.settlement import (
    EARLIEST_SETTLEMENT,
    SettlementOrder,
    locked_charges,
    settle_charges,
)
from assina.core.clock import Clock
from assina.core.errors import not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page
from assina.db.dialect import insert_on_conflict
from assina.db.shapes import insert_rows, one_of
from assina.payment_settings.models import PaymentProvider
from assina.payments.card_attempts import approved_card_payments, decided_by_notification
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


@dataclass(frozen=True)
class InboundDelivery:
    """What one provider request (or one payment a reconciliation found) brings for one
    tenant: its notifications, and the body they came in, stored with each."""

    tenant_id: str
    clock: Clock  # the tenant's (a sandbox tenant's test clock)
    provider: PaymentProvider
    notifications: Sequence[Notification]
    payload: Mapping[str, Any]
    source: str = FROM_NOTIFICATION


async def record_deliveries(
    session: AsyncSession, deliveries: Sequence[InboundDelivery]
) -> list[list[Recorded]]:
    """Record each delivery's notifications, in order, and apply them: each tenant's charges
    settled in one batch, the card attempts decided. A replay (an event id already recorded)
    changes nothing. The caller's transaction holds all of it; the answer is per delivery."""
    by_tenant: dict[str, list[tuple[int, InboundDelivery]]] = {}
    for index, delivery in enumerate(deliveries):
        by_tenant.setdefault(delivery.tenant_id, []).append((index, delivery))
    answers: list[list[Recorded]] = [[] for _ in deliveries]
    # Tenants in id order and each one's charges locked in id order: two batches never wait
    # on each other crosswise.
    for tenant_id in sorted(by_tenant):
        for index, recorded in await _record_for_tenant(session, tenant_id, by_tenant[tenant_id]):
            answers[index] = recorded
    return answers


async def _record_for_tenant(
    session: AsyncSession, tenant_id: str, deliveries: Sequence[tuple[int, InboundDelivery]]
) -> list[tuple[int, list[Recorded]]]:
    clock = deliveries[0][1].clock
    named = {n.charge_id for _, d in deliveries for n in d.notifications if n.charge_id}
    # The charges are locked first, so that two deliveries of one payment (or two rails
    # paying one charge) run one after the other: the second finds the first's event or its
    # settlement.
    charges = await locked_charges(session, tenant_id, named)
    card_paid = {
        n.provider_payment_id
        for _, d in deliveries
        for n in d.notifications
        if isinstance(n, ReceivedPayment) and n.rail == PaymentRail.CARD
    }
    approved = await approved_card_payments(session, tenant_id, card_paid)
    batch = _TenantBatch(session, clock, tenant_id, charges, approved)
    answers = await batch.record_all(deliveries)
    await batch.apply()
    return answers


class _TenantBatch:
    """One tenant's notifications of a batch: their events written in one INSERT, then the
    settlements and card decisions they call for applied together."""

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock,
        tenant_id: str,
        charges: Mapping[str, Charge],
        approved_card_payments: set[str],
    ) -> None:
        self.session, self.clock, self.tenant_id = session, clock, tenant_id
        self.charges = charges
        self.approved_card_payments = approved_card_payments
        # What each new event calls for, by the event's row id: applied if the row is written.
        self.settling: dict[str, tuple[str, SettlementOrder]] = {}  # by charge id
        self.card_payments: list[tuple[str, ReceivedPayment | DeclinedPayment]] = []
        self.written: set[str] = set()

    async def record_all(
        self, deliveries: Sequence[tuple[int, InboundDelivery]]
    ) -> list[tuple[int, list[Recorded]]]:
        """Each notification's event, in one INSERT: a replay (recorded before, or earlier
        in this batch) gets none."""
        recorded = await self._recorded_before(deliveries)
        rows: list[dict[str, Any]] = []
        answers: list[tuple[int, list[Recorded]]] = []
        for index, delivery in deliveries:
            told: list[Recorded] = []
            for notification in delivery.notifications:
                key = (delivery.provider, notification.event_id)
                if key in recorded:
                    told.append(Recorded(notification.event_id, None, None))
                    continue
                recorded.add(key)
                row = self._take(delivery, notification)
                rows.append(row)
                told.append(Recorded(notification.event_id, row["id"], row["outcome"]))
            answers.append((index, told))
        self.written = set(await insert_rows(self.session, self._insert(), rows))
        # A row another transaction wrote meanwhile (only one with no charge to lock can be:
        # the lock orders the others) is a replay, and nothing follows it.
        return [
            (
                index,
                [
                    entry if entry.inbound_event_id in self.written else _replay(entry)
                    for entry in told
                ],
            )
            for index, told in answers
        ]

    async def _recorded_before(
        self, deliveries: Sequence[tuple[int, InboundDelivery]]
    ) -> set[tuple[str, str]]:
        event_ids = {n.event_id for _, d in deliveries for n in d.notifications}
        found = await self.session.execute(
            select(InboundEvent.provider, InboundEvent.event_id).where(
                InboundEvent.tenant_id == self.tenant_id,
                one_of(InboundEvent.event_id, sorted(event_ids)),
            )
        )
        return {(str(provider), event_id) for provider, event_id in found}

    def _take(self, delivery: InboundDelivery, notification: Notification) -> dict[str, Any]:
        """The notification's row, its outcome decided, and what it calls for noted."""
        charge = self.charges.get(notification.charge_id or "")
        outcome = _outcome(notification, charge, settling=self.settling)
        if (
            outcome == InboundOutcome.ALREADY_SETTLED
            and notification.provider_payment_id in self.approved_card_payments
        ):
            # The card payment whose attempt settled the charge, told again (Asaas's
            # PAYMENT_CONFIRMED, a reconciliation): the same money, nothing to refund.
            outcome = InboundOutcome.IGNORED
        row = _row(self.tenant_id, delivery, notification, outcome, self.clock.real_now())
        if outcome == InboundOutcome.SETTLED and isinstance(notification, ReceivedPayment):
            assert charge is not None  # noqa: S101 (SETTLED needs an open charge)
            self.settling[charge.id] = (row["id"], self._settlement(charge, notification))
        if charge is not None and _card_payment(notification):
            self.card_payments.append((row["id"], notification))
        return row

    def _insert(self) -> Insert:
        return (
            insert_on_conflict(self.session, InboundEvent)
            .on_conflict_do_nothing(
                index_elements=[
                    InboundEvent.tenant_id,
                    InboundEvent.provider,
                    InboundEvent.event_id,
                ]
            )
            .returning(InboundEvent.id)
        )

    def _settlement(self, charge: Charge, paid: ReceivedPayment) -> SettlementOrder:
        # A provider's clock may run ahead of ours: a payment is never settled in the future.
        settled_at = min(max(paid.paid_at, EARLIEST_SETTLEMENT), self.clock.now())
        return SettlementOrder(
            charge.id, paid.amount, settled_at, SettlementMethod(paid.rail.value)
        )

    async def apply(self) -> None:
        orders = [order for row_id, order in self.settling.values() if row_id in self.written]
        await settle_charges(self.session, self.clock, self.tenant_id, orders)
        for row_id, notification in self.card_payments:
            if row_id in self.written:
                # A card attempt that answered "processing" is decided by this notification.
                await decided_by_notification(
                    self.session, self.clock, self.tenant_id, notification
                )


def _replay(entry: Recorded) -> Recorded:
    return Recorded(entry.event_id, None, None)


def _card_payment(
    notification: Notification,
) -> TypeGuard[ReceivedPayment | DeclinedPayment]:
    if isinstance(notification, DeclinedPayment):
        return True
    return isinstance(notification, ReceivedPayment) and notification.rail == PaymentRail.CARD


def _outcome(
    notification: Notification, charge: Charge | None, settling: Container[str]
) -> InboundOutcome:
    if isinstance(notification, IgnoredNotification):
        return InboundOutcome.IGNORED
    if charge is None:
        return InboundOutcome.UNMATCHED
    if isinstance(notification, DeclinedPayment):
        return InboundOutcome.DECLINED
    if charge.status != ChargeStatus.OPEN or charge.id in settling:
        return InboundOutcome.ALREADY_SETTLED
    return InboundOutcome.SETTLED


def _row(
    tenant_id: str,
    delivery: InboundDelivery,
    notification: Notification,
    outcome: InboundOutcome,
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
        "provider": delivery.provider,
        "event_id": notification.event_id,
        "kind": kind[:64],
        "outcome": outcome,
        "source": delivery.source,
        "charge_id": notification.charge_id,
        "provider_payment_id": notification.provider_payment_id,
        "rail": received.rail.value if received else None,
        "amount": received.amount if received else None,
        "paid_at": received.paid_at if received else None,
        "payload": dict(delivery.payload),
        "received_at": now,
    }


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
