"""A cancelled contract's charges for periods it will never serve: invalidated with their
cancellation. Nobody owes for service that never comes: a trial cancelled before its end owes
nothing, even when the first period's charge was issued ahead (`charge_lead_days`). Charges
of periods already begun stay open: they were served, at least in part. The caller emits
their events in one batch with the contract's `contract.cancelled`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeOut
from assina.events.service import Change


async def invalidate_unserved_charges(
    session: AsyncSession, tenant_id: str, contract_id: str, ends_on: date, now: datetime
) -> list[Change]:
    """open → invalidated for every open charge of the contract whose period starts on or
    after `ends_on`: their changes, for `charge.invalidated` (`previous: {"status":
    "open"}`)."""
    charges = await session.scalars(
        select(Charge)
        .where(
            Charge.tenant_id == tenant_id,
            Charge.contract_id == contract_id,
            Charge.status == ChargeStatus.OPEN,
            Charge.period_start >= ends_on,
        )
        .order_by(Charge.period_start)
        .with_for_update()
    )
    changes = []
    for charge in charges.all():
        charge.status = ChargeStatus.INVALIDATED
        charge.updated_at = now
        was_open = {"status": ChargeStatus.OPEN}
        changes.append(Change(ChargeOut.of(charge), charge.customer_id, was_open))
    return changes
