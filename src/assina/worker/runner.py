"""The background loops of `assina worker` (and of `assina serve` unless `--no-worker`).

Today it keeps the house: expired idempotency keys are pruned. The webhook dispatcher and the
billing calendar join these loops as they are built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from assina.core.clock import Clock
from assina.core.idempotency import prune_idempotency_keys
from assina.db.database import Database

logger = logging.getLogger("assina.worker")

HOUSEKEEPING_INTERVAL_SECONDS = 300.0


async def housekeeping_pass(database: Database, clock: Clock) -> int:
    async with database.write() as session:
        return await prune_idempotency_keys(session, clock.now())


async def run_worker(database: Database, clock: Clock, stop: asyncio.Event) -> None:
    logger.info("worker started")
    while not stop.is_set():
        try:
            pruned = await housekeeping_pass(database, clock)
            if pruned:
                logger.info("pruned %d expired idempotency keys", pruned)
        except Exception:
            # One failed pass must not end the worker; the next pass tries again.
            logger.exception("housekeeping pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_INTERVAL_SECONDS)
    logger.info("worker stopped")
