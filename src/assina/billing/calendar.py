"""The billing calendar: what happens to a contract by itself as days pass (product.md §5).

For a day D (by default today in each tenant's time zone), every live contract whose
`next_step_on` has come is advanced, each in its own transaction:

1. a contract set to cancel at its period's end whose last charged period ended by D (or,
   with nothing charged, whose service start came) → `cancelled` (`contract.cancelled`);
2. a trial that ended by D → `active` (`contract.updated`);
3. on each anniversary of `start_date`, a contract with a `readjustment_index` is readjusted
   by the index's 12 monthly values ending the month before the anniversary
   (`contract.readjusted`). It happens on the issue day of the anniversary's charge, so that
   charge carries the new amount, and is retried daily while months are missing;
4. every charge whose issue day (due date minus `charge_lead_days`) is on or before D is
   issued, oldest first: the stub, then period after period (`charge.created`), carrying any
   pending proration as its own line. Suspended contracts are not charged.

Then `next_step_on` is set to the first day with something to do. A pass for D catches up on
everything earlier passes missed; running it twice changes nothing the second time (each
step moves the contract's state in the same transaction as its effects, and a charge per
contract and period is unique in the database). A pass killed midway leaves every contract
either advanced or untouched, so running it again finishes the job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing.contract_steps import ContractStep, advance_contract
from assina.billing.settings import billing_rules
from assina.contracts.models import Contract
from assina.core.clock import Clock, FrozenClock
from assina.db.database import Database
from assina.tenants.models import Tenant

logger = logging.getLogger("assina.calendar")

BATCH = 500
PASS_TIME = time(12, 0)


@dataclass
class CalendarReport:
    """What one pass did, summed over tenants."""

    contracts: int = 0
    charges_issued: int = 0
    trials_ended: int = 0
    cancelled: int = 0
    readjusted: int = 0
    failed: list[str] = field(default_factory=list)

    def add(self, step: ContractStep) -> None:
        self.contracts += 1
        self.charges_issued += step.charges_issued
        self.trials_ended += int(step.trial_ended)
        self.cancelled += int(step.cancelled)
        self.readjusted += int(step.readjusted)


def tenant_today(now: datetime, time_zone: str) -> date:
    return now.astimezone(ZoneInfo(time_zone)).date()


async def run_calendar(
    database: Database,
    clock: Clock,
    day: date | None = None,
    tenant_id: str | None = None,
) -> CalendarReport:
    """One pass of the calendar for `day` (default: each tenant's today), for every tenant
    or only `tenant_id`. A pass for another day than the tenant's today acts as of noon that
    day in the tenant's time zone: what it writes (events, charges, readjustment dates) is
    dated that day, so a simulated year reads like a real one."""
    report = CalendarReport()
    for tenant, time_zone in await _tenants(database, tenant_id):
        today = tenant_today(clock.now(), time_zone)
        if day is None or day == today:
            await _run_tenant(database, clock, tenant, today, report)
            continue
        pass_clock = FrozenClock(datetime.combine(day, PASS_TIME, ZoneInfo(time_zone)))
        await _run_tenant(database, pass_clock, tenant, day, report)
    return report


async def _tenants(database: Database, tenant_id: str | None) -> Sequence[tuple[str, str]]:
    async with database.read() as session:
        statement = select(Tenant.id, Tenant.time_zone).order_by(Tenant.id)
        if tenant_id is not None:
            statement = statement.where(Tenant.id == tenant_id)
        return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def _run_tenant(
    database: Database, clock: Clock, tenant_id: str, day: date, report: CalendarReport
) -> None:
    async with database.read() as session:
        rules = await billing_rules(session, tenant_id)
    after = ""
    while True:
        async with database.read() as session:
            ids = await _due_contracts(session, tenant_id, day, after)
        for contract_id in ids:
            try:
                async with database.write() as session:
                    step = await advance_contract(session, clock, contract_id, day, rules)
            except Exception:
                # One broken contract must not stop the others; it stays due for the next pass.
                logger.exception("calendar step failed for contract %s", contract_id)
                report.failed.append(contract_id)
                continue
            report.add(step)
        if len(ids) < BATCH:
            return
        after = ids[-1]


async def _due_contracts(session: AsyncSession, tenant_id: str, day: date, after: str) -> list[str]:
    statement = (
        select(Contract.id)
        .where(
            Contract.tenant_id == tenant_id,
            Contract.next_step_on <= day,
            Contract.deleted_at.is_(None),
            Contract.id > after,
        )
        .order_by(Contract.id)
        .limit(BATCH)
    )
    return list((await session.scalars(statement)).all())
