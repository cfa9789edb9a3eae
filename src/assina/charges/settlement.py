"""The moves of a charge between its states, each with its event:

    open ──settle──▶ settled ──reverse──▶ reversed
    open ──invalidate──▶ invalidated ──reactivate──▶ open

Any other move is a 409 (`invalid-transition`) that changes nothing. Every move's event
carries `previous = {"status": <old status>}`. What follows a move (the receipt, the
customer's standing decided again) is in reactions/table.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.service import billing_rules
from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeOut, ChargeSettle
from assina.charges.service import get_charge
from assina.core.clock import Clock, local_date
from assina.core.errors import conflict, invalid
from assina.events.catalog import EventType
from assina.events.service import emit_event
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


async def settle_charge(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    charge_id: str,
    params: ChargeSettle,
) -> Charge:
    """open → settled, with the late fees owed at `settled_at` (default now).

    Days late are counted on the tenant's calendar: `settled_at` is converted to the tenant's
    time zone and compared with `due_date`. `settled_amount` is what was received: the given
    `amount`, else amount + fine + interest.
    """
    charge = await _charge_for(session, tenant_id, charge_id, SETTLE)
    settled_at = _settlement_instant(params.settled_at, clock.now())
    fees = await _late_fees(session, tenant_id, charge, settled_at)
    charge.settled_at = settled_at
    charge.fine_amount = fees.fine
    charge.interest_amount = fees.interest
    charge.settled_amount = (
        params.amount if params.amount is not None else charge.amount + fees.total
    )
    charge.settlement_method = (params.method or charge.payment_method).value
    return await _moved(session, clock, charge, SETTLE)


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


async def _charge_for(session: AsyncSession, tenant_id: str, charge_id: str, move: Move) -> Charge:
    """The charge, locked, if `move` may start from its status (409 otherwise)."""
    charge = await get_charge(session, tenant_id, charge_id, for_update=True)
    if charge.status != move.source:
        raise conflict(
            f"Charge {charge_id} is {charge.status}; only a charge that is {move.source} can be "
            f"{move.done}.",
            "invalid-transition",
        )
    return charge


def _settlement_instant(settled_at: datetime | None, now: datetime) -> datetime:
    if settled_at is None:
        return now
    if settled_at > now:
        raise invalid("settled_at", "must not be in the future")
    if settled_at < EARLIEST_SETTLEMENT:
        raise invalid("settled_at", "must be on or after 2000-01-01T00:00:00Z")
    return settled_at


async def amount_due(session: AsyncSession, tenant_id: str, charge: Charge, at: datetime) -> int:
    """What settles the charge at `at`: its amount plus the late fees owed by then."""
    fees = await _late_fees(session, tenant_id, charge, at)
    return charge.amount + fees.total


async def fees_due(session: AsyncSession, tenant_id: str, charge: Charge, at: datetime) -> LateFees:
    """The late fees (fine and interest) the charge owes if settled at `at`: what
    `amount_due` adds, item by item (the payment page shows them)."""
    return await _late_fees(session, tenant_id, charge, at)


async def _late_fees(
    session: AsyncSession, tenant_id: str, charge: Charge, settled_at: datetime
) -> LateFees:
    tenant = await get_tenant(session, tenant_id)
    settled_on = local_date(settled_at, tenant.time_zone)
    rules = await billing_rules(session, tenant_id)
    return late_fees(
        charge.amount,
        charge.due_date,
        settled_on,
        rules.fine_percent,
        rules.monthly_interest_percent,
    )


async def _moved(session: AsyncSession, clock: Clock, charge: Charge, move: Move) -> Charge:
    previous = {"status": charge.status}
    charge.status = move.target
    charge.updated_at = clock.now()
    await emit_event(
        session,
        clock,
        charge.tenant_id,
        move.event_type,
        ChargeOut.of(charge),
        previous=previous,
        customer_id=charge.customer_id,
    )
    return charge
