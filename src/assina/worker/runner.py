"""The background loops of `assina worker` (and of `assina serve` unless `--no-worker`):
the webhook dispatcher, and housekeeping (expired idempotency keys pruned). The billing
calendar joins them when it is built."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from assina.config import Settings
from assina.core.clock import Clock
from assina.core.idempotency import prune_idempotency_keys
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.webhooks.dispatcher import Dispatcher, DispatcherConfig

logger = logging.getLogger("assina.worker")

HOUSEKEEPING_INTERVAL_SECONDS = 300.0


async def housekeeping_pass(database: Database, clock: Clock) -> int:
    async with database.write() as session:
        return await prune_idempotency_keys(session, clock.now())


async def _housekeeping(database: Database, clock: Clock, stop: asyncio.Event) -> None:
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


async def run_worker(
    settings: Settings, database: Database, clock: Clock, box: SecretBox, stop: asyncio.Event
) -> None:
    logger.info("worker started")
    dispatcher = Dispatcher(
        database,
        clock,
        box,
        DispatcherConfig(allow_private_targets=settings.allow_private_targets),
    )
    await asyncio.gather(_housekeeping(database, clock, stop), dispatcher.run(stop))
    logger.info("worker stopped")
