"""The dunning pass of the billing calendar, for one tenant and day: the customers that may
need something (dunning/facts.py) in id order, a batch at a time.

Each batch is one write transaction; a batch that fails is rolled back and done again one
customer per transaction, so one broken customer never holds back the others (it is logged,
reported, and tried again on the next pass). Every customer's moves and e-mails commit together
with its events, so a pass killed midway leaves each customer either moved or untouched, and
running it again finishes the job.

A pass never undoes what a later day's pass did: each tenant keeps the latest day a pass ran
for (`tenants.dunning_day`), a pass for an earlier day does nothing, and a batch that finds a
later day recorded meanwhile stops (decisions inside requests use that day too, when it is
later than today: dunning/steps.py `reconsider_customers`)."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.db.database import Database
from assina.db.scope import TenantScope
from assina.dunning.facts import candidates_query
from assina.dunning.incremental import YesterdayDone, changed_candidates_query
from assina.dunning.policy import dunning_policy
from assina.dunning.steps import DunningStep, apply_dunning, last_dunning_day
from assina.rules.dunning import DunningPolicy
from assina.tenants.models import Tenant

logger = logging.getLogger("assina.dunning")

BATCH = 200


class DunningDays:
    """The dunning passes a worker completed: for each tenant, the day and the policy. The
    worker's calendar runs every minute, but a tenant's dunning pass once a day (and again
    the same day if the policy changed): between passes, whatever changes a customer's debts
    decides its standing in its own transaction (`reconsider_customers`)."""

    def __init__(self) -> None:
        self._done: dict[str, tuple[date, DunningPolicy]] = {}

    def done(self, tenant_id: str, day: date, policy: DunningPolicy) -> bool:
        return self._done.get(tenant_id) == (day, policy)

    def record(self, tenant_id: str, day: date, policy: DunningPolicy) -> None:
        self._done[tenant_id] = (day, policy)


async def run_dunning(
    database: Database,
    clock: Clock,
    tenant_id: str,
    day: date,
    failed: list[str],
    days: DunningDays | None = None,
    yesterday: YesterdayDone | None = None,
) -> DunningStep:
    """Apply the tenant's policy for `day`; ids of customers that failed go to `failed`.
    With `days`, a pass already completed for this day and policy is not run again. With
    `yesterday`, the day before was passed whole: only the customers for whom something can
    differ since are read (dunning/incremental.py)."""
    async with database.read() as session:
        policy = await dunning_policy(session, tenant_id)
    if days is not None and days.done(tenant_id, day, policy):
        return DunningStep()
    if not await _claim_day(database, tenant_id, day):
        logger.info("tenant %s: dunning pass for %s skipped: a later day's ran", tenant_id, day)
        return DunningStep()
    failures = len(failed)
    done = await _pass(database, clock, tenant_id, day, policy, failed, yesterday)
    if days is not None and len(failed) == failures:
        days.record(tenant_id, day, policy)
    return done


async def _claim_day(database: Database, tenant_id: str, day: date) -> bool:
    """Record `day` as the tenant's dunning day unless a later one is recorded: False then,
    and the pass for `day` must not run (it would move customers back in time)."""
    async with database.write() as session:
        claimed = await session.execute(
            update(Tenant)
            .where(
                Tenant.id == tenant_id,
                or_(Tenant.dunning_day.is_(None), Tenant.dunning_day <= day),
            )
            .values(dunning_day=day)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def _overtaken(session: AsyncSession, tenant_id: str, day: date) -> bool:
    """A pass for a later day ran since this one started."""
    later = await last_dunning_day(session, tenant_id)
    return later is not None and later > day


async def _pass(
    database: Database,
    clock: Clock,
    tenant_id: str,
    day: date,
    policy: DunningPolicy,
    failed: list[str],
    yesterday: YesterdayDone | None,
) -> DunningStep:
    done, after = DunningStep(), ""
    while True:
        async with database.read() as session:
            if yesterday is None:
                query = candidates_query(tenant_id, day, policy, after, BATCH)
            else:
                query = changed_candidates_query(
                    tenant_id, day, yesterday.time_zone, policy, after, BATCH
                )
            ids = list((await session.scalars(query)).all())
        if not ids:
            return done
        try:
            async with database.write() as session:
                if await _overtaken(session, tenant_id, day):
                    return done
                step = await apply_dunning(TenantScope(session, clock, tenant_id), ids, day, policy)
            done.add(step)
        except Exception:
            logger.exception("dunning batch failed; redoing it one customer at a time")
            for customer_id in ids:
                await _one_customer(database, clock, tenant_id, customer_id, day, done, failed)
        if len(ids) < BATCH:
            return done
        after = ids[-1]


async def _one_customer(
    database: Database,
    clock: Clock,
    tenant_id: str,
    customer_id: str,
    day: date,
    done: DunningStep,
    failed: list[str],
) -> None:
    try:
        async with database.write() as session:
            if await _overtaken(session, tenant_id, day):
                return
            policy = await dunning_policy(session, tenant_id)
            scope = TenantScope(session, clock, tenant_id)
            done.add(await apply_dunning(scope, [customer_id], day, policy))
    except Exception:
        logger.exception("dunning failed for customer %s", customer_id)
        failed.append(customer_id)
