"""The moves of an order between its states, each raising `order.status_changed` (data: the
order, with `from` and `to`):

    pending ──its charge settled──▶ paid ──fulfill──▶ fulfilled
    pending ──cancel──▶ cancelled        (its open charge invalidated)
    pending ──expires_on came──▶ expired (its open charge invalidated; the calendar)

Any other move is a 409 (`invalid-transition`) that changes nothing. A paid order is not
cancelled: money was received and contracts started; reverse the charge and cancel the
contracts instead. A paid order whose charge is reversed afterwards stays `paid`
(docs/orders.md).

Locks: a settlement locks the charge, then (its reaction) the order. Cancelling and expiring
take them in the same order, the charge first, so that two transactions never wait on each
other crosswise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge
from assina.charges.settlement import invalidated_with, locked_charges
from assina.core.clock import Clock
from assina.core.errors import conflict
from assina.db.shapes import one_of
from assina.events.catalog import EventType
from assina.events.service import Change, emit_typed_events
from assina.orders.models import Order, OrderLine, OrderStatus
from assina.orders.schemas import OrderStatusChangedOut
from assina.orders.service import get_order
from assina.rules.periods import Interval

ONCE = "once"


def _move(order: Order, target: OrderStatus, now: datetime) -> tuple[EventType, Change]:
    """The order moved (in the session), and its event to emit."""
    was = order.status
    order.status = target
    order.updated_at = now
    shown = OrderStatusChangedOut.moved(order, was)
    return EventType.ORDER_STATUS_CHANGED, Change(shown, order.customer_id)


def _refuse_unless(order: Order, source: OrderStatus, done: str) -> None:
    if order.status != source:
        raise conflict(
            f"Order {order.id} is {order.status}; only an order that is {source} can be {done}.",
            "invalid-transition",
        )


async def _emit(
    session: AsyncSession, clock: Clock, tenant_id: str, events: list[tuple[EventType, Change]]
) -> None:
    await session.flush()
    await emit_typed_events(
        session, clock, tenant_id, events, now=clock.now(), due_at=clock.real_now()
    )


async def fulfill_order(
    session: AsyncSession, clock: Clock, tenant_id: str, order_id: str
) -> Order:
    """paid → fulfilled: what was sold was delivered."""
    order = await get_order(session, tenant_id, order_id, lock=True)
    _refuse_unless(order, OrderStatus.PAID, "fulfilled")
    now = clock.now()
    order.fulfilled_at = now
    await _emit(session, clock, tenant_id, [_move(order, OrderStatus.FULFILLED, now)])
    return order


async def cancel_order(session: AsyncSession, clock: Clock, tenant_id: str, order_id: str) -> Order:
    """pending → cancelled, its charge invalidated if still open (`charge.invalidated`,
    then `order.status_changed`, one batch)."""
    charge_id = (await get_order(session, tenant_id, order_id)).charge_id
    charges = await locked_charges(session, tenant_id, [charge_id] if charge_id else [])
    order = await get_order(session, tenant_id, order_id, lock=True)
    _refuse_unless(order, OrderStatus.PENDING, "cancelled")
    now = clock.now()
    order.cancelled_at = now
    events = invalidated_with(charges.values(), now)
    events.append(_move(order, OrderStatus.CANCELLED, now))
    await _emit(session, clock, tenant_id, events)
    return order


async def expire_due_orders(
    session: AsyncSession, clock: Clock, tenant_id: str, day: date, limit: int
) -> tuple[int, int]:
    """pending → expired for up to `limit` orders whose `expires_on` is on or before `day`
    (oldest id first), their open charges invalidated, the events emitted as one batch.
    Returns (orders looked at, orders expired): fewer looked at than `limit` means none is
    left for `day`."""
    due = (
        await session.execute(
            select(Order.id, Order.charge_id)
            .where(
                Order.tenant_id == tenant_id,
                Order.status == OrderStatus.PENDING,
                Order.expires_on <= day,
            )
            .order_by(Order.id)
            .limit(limit)
        )
    ).all()
    if not due:
        return 0, 0
    charges = await locked_charges(session, tenant_id, [c for _, c in due if c is not None])
    orders = await _locked_orders(session, tenant_id, [order_id for order_id, _ in due])
    now = clock.now()
    events: list[tuple[EventType, Change]] = []
    expired = [order for order in orders if order.status == OrderStatus.PENDING]
    events.extend(
        invalidated_with((charges[o.charge_id] for o in expired if o.charge_id in charges), now)
    )
    for order in expired:
        order.expired_at = now
        events.append(_move(order, OrderStatus.EXPIRED, now))
    if events:
        await _emit(session, clock, tenant_id, events)
    return len(due), len(expired)


async def _locked_orders(
    session: AsyncSession, tenant_id: str, order_ids: Sequence[str]
) -> list[Order]:
    found = await session.scalars(
        select(Order)
        .where(Order.tenant_id == tenant_id, one_of(Order.id, sorted(order_ids)))
        .order_by(Order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(found)


# --- paid: the reaction to their charges' settlement (reactions/orders.py) ----------------------


@dataclass(frozen=True)
class PaidOrder:
    """A pending order whose charge was just settled, and when it was paid."""

    order: Order
    paid_at: datetime


async def orders_paid_by(
    session: AsyncSession, tenant_id: str, charge_ids: Sequence[str]
) -> list[PaidOrder]:
    """The pending orders of these charges, locked, with their charges' `settled_at`: one
    query for a batch of settlements. An order no longer pending (cancelled, expired) is left
    as it is."""
    if not charge_ids:
        return []
    rows = await session.execute(
        select(Order, Charge.settled_at)
        .join(Charge, and_(Charge.tenant_id == Order.tenant_id, Charge.id == Order.charge_id))
        .where(
            Order.tenant_id == tenant_id,
            one_of(Order.charge_id, sorted(set(charge_ids))),
            Order.status == OrderStatus.PENDING,
        )
        .order_by(Order.id)
        .with_for_update(of=Order)
        .execution_options(populate_existing=True)
    )
    return [PaidOrder(order, settled_at) for order, settled_at in rows if settled_at is not None]


@dataclass(frozen=True)
class ItemGroup:
    """An order's recurring items of one schedule: what one contract takes."""

    interval: Interval
    interval_count: int
    items: list[dict[str, object]]


def recurring_groups(lines: Sequence[OrderLine]) -> list[ItemGroup]:
    """The recurring items by (interval, interval_count), in the order each schedule first
    appears; one-off items take no contract."""
    grouped: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
    for line in lines:
        if line["interval"] == ONCE:
            continue
        grouped[(line["interval"], line["interval_count"])].append(
            {
                "product_id": line["product_id"],
                "description": line["description"],
                "quantity": line["quantity"],
                "amount": line["amount"],
            }
        )
    return [ItemGroup(Interval(i), count, items) for (i, count), items in grouped.items()]


async def mark_orders_paid(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    paid: Sequence[tuple[PaidOrder, list[str]]],
) -> None:
    """pending → paid for each order, with the contracts its payment started, its events
    emitted as one batch."""
    now = clock.now()
    events = []
    for entry, contract_ids in paid:
        entry.order.paid_at = entry.paid_at
        entry.order.contract_ids = list(contract_ids)
        events.append(_move(entry.order, OrderStatus.PAID, now))
    if events:
        await _emit(session, clock, tenant_id, events)
