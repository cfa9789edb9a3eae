"""A cancelled contract's charges for periods it will never serve: invalidated with their
cancellation. Nobody owes for service that never comes: a trial cancelled before its end owes
nothing, even when the first period's charge was issued ahead (`charge_lead_days`). Charges
of periods already begun stay open: they were served, at least in part.

Not in settlement.py: that module reconsiders the customer (dunning/steps.py), which imports
the contracts' lifecycle, this module's caller; the callers reconsider themselves."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeOut
from assina.core.clock import Clock
from assina.events.catalog import EventType
from assina.events.service import emit_event


async def invalidate_unserved_charges(
    session: AsyncSession, clock: Clock, tenant_id: str, contract_id: str, ends_on: date
) -> int:
    """open → invalidated (`charge.invalidated`, `previous: {"status": "open"}`) for every
    open charge of the contract whose period starts on or after `ends_on`; how many."""
    charges = await session.scalars(
        select(Charge)
        .where(
            Charge.tenant_id == tenant_id,
            Charge.contract_id == contract_id,
            Charge.status == ChargeStatus.OPEN.value,
            Charge.period_start >= ends_on,
        )
        .order_by(Charge.period_start)
        .with_for_update()
    )
    count = 0
    for charge in charges.all():
        charge.status = ChargeStatus.INVALIDATED.value
        charge.updated_at = clock.now()
        await emit_event(
            session,
            clock,
            tenant_id,
            EventType.CHARGE_INVALIDATED,
            ChargeOut.of(charge),
            previous={"status": ChargeStatus.OPEN.value},
            customer_id=charge.customer_id,
        )
        count += 1
    return count
