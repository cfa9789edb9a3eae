"""The dunning pass of the billing calendar, for one tenant and day: the customers that may
need something (dunning/facts.py) in id order, a batch at a time.

Each batch is one write transaction; a batch that fails is rolled back and done again one
customer per transaction, so one broken customer never holds back the others (it is logged,
reported, and tried again on the next pass). Every customer's moves and e-mails commit together
with its events, so a pass killed midway leaves each customer either moved or untouched, and
running it again finishes the job."""

from __future__ import annotations

import logging
from datetime import date

from assina.core.clock import Clock
from assina.db.database import Database
from assina.dunning.facts import candidates_query
from assina.dunning.policy import dunning_policy
from assina.dunning.steps import DunningStep, apply_dunning

logger = logging.getLogger("assina.dunning")

BATCH = 200


async def run_dunning(
    database: Database, clock: Clock, tenant_id: str, day: date, failed: list[str]
) -> DunningStep:
    """Apply the tenant's policy for `day`; ids of customers that failed go to `failed`."""
    async with database.read() as session:
        policy = await dunning_policy(session, tenant_id)
    done, after = DunningStep(), ""
    while True:
        async with database.read() as session:
            query = candidates_query(tenant_id, day, policy, after, BATCH)
            ids = list((await session.scalars(query)).all())
        if not ids:
            return done
        try:
            async with database.write() as session:
                step = await apply_dunning(session, clock, tenant_id, ids, day, policy)
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
            policy = await dunning_policy(session, tenant_id)
            done.add(await apply_dunning(session, clock, tenant_id, [customer_id], day, policy))
    except Exception:
        logger.exception("dunning failed for customer %s", customer_id)
        failed.append(customer_id)
