"""The one loop of every background job (relays and the worker's periodic passes): run a step,
log and survive its failure (a fatal one ends the loop), and wait before the next when the
step found nothing more to do."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("assina.worker")

NO_FATAL: tuple[type[BaseException], ...] = ()


async def keep_running(
    stop: asyncio.Event,
    step: Callable[[], Awaitable[bool]],
    idle: Callable[[], Awaitable[None]],
    what: str,
    fatal: tuple[type[BaseException], ...] = NO_FATAL,
) -> None:
    """Until `stop`: `step` (True when there is more to do at once), else `idle`. One failed
    step must not end the worker, the next tries again; a `fatal` error would fail every
    later step alike, so it is raised."""
    while not stop.is_set():
        busy = False
        try:
            busy = await step()
        except fatal:
            raise
        except Exception:
            logger.exception("%s failed", what)
        if not busy:
            await idle()


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def every(
    stop: asyncio.Event, seconds: float, one_pass: Callable[[], Awaitable[object]], what: str
) -> None:
    """A periodic pass: one now, then one every `seconds`, until `stop`."""

    async def step() -> bool:
        await one_pass()
        return False

    await keep_running(stop, step, lambda: wait_or_stop(stop, seconds), what)
