"""The moves of a charge between its states, each with its event:

    open ──settle──▶ settled ──reverse──▶ reversed
    open ──invalidate──▶ invalidated ──reactivate──▶ open

Any other move is a 409 (`invalid-transition`) that changes nothing. Every move's event
carries `previous = {"status": <old status>}`. What follows a move (the receipt, the
customer's standing decided again) is in reactions/table.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.service import billing_rules
from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeOut, ChargeSettle, SettlementMethod
from assina.core.clock import Clock, local_date
from assina.core.errors import conflict, invalid, not_found
from assina.db.shapes import one_of
from assina.events.catalog import EventType
from assina.events.service import Change, emit_typed_events
from assina.rules.late_fees import LateFees, late_fees
from assina.tenants.service import get_tenant

# A settlement is recorded at most this far back (and never in the future).
EARLIEST_SETTLEMENT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Move:
    source: ChargeStatus
    target: ChargeStatus
    event_type: EventType
    done: str  # past participle, for the 409's detail


SETTLE = Move(
    ChargeStatus.OPEN,
    ChargeStatus.SETTLED,
    EventType.CHARGE_SETTLED,
    "settled",
)
REVERSE = Move(
    ChargeStatus.SETTLED,
    ChargeStatus.REVERSED,
    EventType.CHARGE_REVERSED,
    "reversed",
)
INVALIDATE = Move(
    ChargeStatus.OPEN,
    ChargeStatus.INVALIDATED,
    EventType.CHARGE_INVALIDATED,
    "invalidated",
)
REACTIVATE = Move(
    ChargeStatus.INVALIDATED,
    ChargeStatus.OPEN,
    EventType.CHARGE_REACTIVATED,
    "reactivated",
)


@dataclass(frozen=True)
class SettlementOrder:
    """One charge to settle: what was received (None: amount + fees), when (None: now), how
    (None: the charge's payment method)."""

    charge_id: str
    amount: int | None = None
    settled_at: datetime | None = None
    method: SettlementMethod | None = None


async def settle_charge(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    charge_id: str,
    params: ChargeSettle,
) -> Charge:
    """open → settled, with the late fees owed at `settled_at` (default now): `settle_charges`
    with a batch of one."""
    order = SettlementOrder(charge_id, params.amount, params.settled_at, params.method)
    [charge] = await settle_charges(session, clock, tenant_id, [order])
    return charge


async def settle_charges(
    session: AsyncSession, clock: Clock, tenant_id: str, orders: Sequence[SettlementOrder]
) -> list[Charge]:
    """open → settled for each order, with the late fees owed at its `settled_at`: the charges
    locked in one statement, the tenant's zone and rules read once, the events emitted and
    reacted to as one batch. 404 or 409 (nothing settled) when a charge is missing or not open.

    Days late are counted on the tenant's calendar: `settled_at` is converted to the tenant's
    time zone and compared with `due_date`. `settled_amount` is what was received: the given
    `amount`, else amount + fine + interest.
    """
    if not orders:
        return []
    charges = await _charges_for(session, tenant_id, [order.charge_id for order in orders], SETTLE)
    now = clock.now()
    fees_at = await fee_rules(session, tenant_id)
    events: list[tuple[EventType, Change]] = []
    for order, charge in zip(orders, charges, strict=True):
        settled_at = _settlement_instant(order.settled_at, now)
        fees = fees_at(charge, settled_at)
        charge.settled_at = settled_at
        charge.fine_amount = fees.fine
        charge.interest_amount = fees.interest
        charge.settled_amount = (
            order.amount if order.amount is not None else charge.amount + fees.total
        )
        charge.settlement_method = (order.method or charge.payment_method).value
        events.append(_move(charge, SETTLE, now))
    await session.flush()
    await emit_typed_events(session, clock, tenant_id, events, now=now, due_at=clock.real_now())
    return charges


async def reverse_charge(
    session: AsyncSession, clock: Clock, tenant_id: str, charge_id: str
) -> Charge:
    """settled → reversed (a refund). What was settled stays on record."""
    charge = await _charge_for(session, tenant_id, charge_id, REVERSE)
    return await _moved(session, clock, charge, REVERSE)


async def invalidate_charge(
    session: AsyncSession, clock: Clock, tenant_id: str, charge_id: str
) -> Charge:
    """open → invalidated: nothing is owed any more."""
    charge = await _charge_for(session, tenant_id, charge_id, INVALIDATE)
    return await _moved(session, clock, charge, INVALIDATE)


async def reactivate_charge(
    session: AsyncSession, clock: Clock, tenant_id: str, charge_id: str
) -> Charge:
    """invalidated → open: owed again, as it was."""
    charge = await _charge_for(session, tenant_id, charge_id, REACTIVATE)
    return await _moved(session, clock, charge, REACTIVATE)


def invalidated_with(charges: Iterable[Charge], now: datetime) -> list[tuple[EventType, Change]]:
    """open → invalidated for those of `charges` that are open, which the caller locked
    (`locked_charges`): their `charge.invalidated` events, for the caller to emit in one batch
    with its own (an order's cancellation or expiry), as a contract's cancellation does with
    its unserved charges."""
    return [
        _move(charge, INVALIDATE, now) for charge in charges if charge.status == INVALIDATE.source
    ]


async def _charge_for(session: AsyncSession, tenant_id: str, charge_id: str, move: Move) -> Charge:
    """The charge, locked, if `move` may start from its status (409 otherwise)."""
    [charge] = await _charges_for(session, tenant_id, [charge_id], move)
    return charge


async def locked_charges(
    session: AsyncSession, tenant_id: str, charge_ids: Iterable[str]
) -> dict[str, Charge]:
    """The tenant's charges with these ids (the missing ones left out), locked in one
    statement, in id order, so that two batches never wait on each other crosswise."""
    wanted = sorted(set(charge_ids))
    if not wanted:
        return {}
    found = await session.scalars(
        select(Charge)
        .where(Charge.tenant_id == tenant_id, one_of(Charge.id, wanted))
        .order_by(Charge.id)
        .with_for_update()
    )
    return {charge.id: charge for charge in found}


async def _charges_for(
    session: AsyncSession, tenant_id: str, charge_ids: Sequence[str], move: Move
) -> list[Charge]:
    """The charges, locked (`locked_charges`), in the order asked, if `move` may start from
    each one's status: 404 for one that is missing, 409 for one that may not move."""
    by_id = await locked_charges(session, tenant_id, charge_ids)
    charges = []
    for charge_id in charge_ids:
        charge = by_id.get(charge_id)
        if charge is None:
            raise not_found("charge", charge_id)
        if charge.status != move.source:
            raise conflict(
                f"Charge {charge_id} is {charge.status}; only a charge that is {move.source} "
                f"can be {move.done}.",
                "invalid-transition",
            )
        charges.append(charge)
    return charges


def _settlement_instant(settled_at: datetime | None, now: datetime) -> datetime:
    if settled_at is None:
        return now
    if settled_at > now:
        raise invalid("settled_at", "must not be in the future")
    if settled_at < EARLIEST_SETTLEMENT:
        raise invalid("settled_at", "must be on or after 2000-01-01T00:00:00Z")
    return settled_at


async def fees_due(session: AsyncSession, tenant_id: str, charge: Charge, at: datetime) -> LateFees:
    """The late fees (fine and interest) the charge owes if settled at `at`: what
    `amount_due` adds, item by item (the payment page shows them)."""
    fees_at = await fee_rules(session, tenant_id)
    return fees_at(charge, at)


async def amount_due(session: AsyncSession, tenant_id: str, charge: Charge, at: datetime) -> int:
    """What settles the charge at `at`: its amount plus the late fees owed by then."""
    fees_at = await fee_rules(session, tenant_id)
    return charge.amount + fees_at(charge, at).total


async def fee_rules(
    session: AsyncSession, tenant_id: str
) -> Callable[[Charge, datetime], LateFees]:
    """The late fees a charge of the tenant owes when paid at an instant: the tenant's zone
    and billing rules read once, for a batch of charges."""
    tenant = await get_tenant(session, tenant_id)
    rules = await billing_rules(session, tenant_id)

    def fees_at(charge: Charge, at: datetime) -> LateFees:
        return late_fees(
            charge.amount,
            charge.due_date,
            local_date(at, tenant.time_zone),
            rules.fine_percent,
            rules.monthly_interest_percent,
        )

    return fees_at


def _move(charge: Charge, move: Move, now: datetime) -> tuple[EventType, Change]:
    """The charge moved (in the session), and its event to emit."""
    previous = {"status": charge.status}
    charge.status = move.target
    charge.updated_at = now
    return move.event_type, Change(ChargeOut.of(charge), charge.customer_id, previous)


async def _moved(session: AsyncSession, clock: Clock, charge: Charge, move: Move) -> Charge:
    now = clock.now()
    event = _move(charge, move, now)
    await session.flush()
    await emit_typed_events(
        session, clock, charge.tenant_id, [event], now=now, due_at=clock.real_now()
    )
    return charge
