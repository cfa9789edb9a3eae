"""The relay kernel: one outbox delivered to the outside, by adapters (webhooks/dispatcher.py,
notifications/sender.py) that choose and prepare due jobs, send them and classify each
outcome. The kernel owns what they share:

- the claim: one short write transaction that leases the chosen jobs (`FOR UPDATE SKIP
  LOCKED` on PostgreSQL, see `skip_locked`; SQLite's single writer makes the plain claim
  atomic). No transaction, row lock or pooled connection is held while sending;
- the lease: a worker that dies holding one loses nothing, once `locked_until` passes another
  claims the job again (at least once, never zero times);
- the recording of typed outcomes against the job's retry schedule (relay/schedule.py);
- wake-or-poll: on a commit that wrote jobs (LISTEN/NOTIFY across processes on PostgreSQL,
  db/notify.py), on the adapter's own events, or after the poll interval.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.db.database import Database
from assina.db.dialect import runs_concurrent_writers
from assina.relay.loop import NO_FATAL, keep_running, wait_or_stop
from assina.relay.outbox import Outbox
from assina.relay.outcomes import Attempted

logger = logging.getLogger("assina.relay")


@dataclass
class Claim:
    """The claim transaction: the adapter chooses due jobs in `session` and leases them."""

    session: AsyncSession
    now: datetime
    relay: Relay

    async def lease(self, ids: Sequence[str]) -> None:
        await self.relay.outbox.take_lease(self.session, ids, self.now + self.relay.lease)


class Relay:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        outbox: Outbox,
        *,
        lease: timedelta,
        poll_interval_seconds: float,
        wake_on_commits: bool,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.outbox = outbox
        self.lease = lease
        self.poll_interval_seconds = poll_interval_seconds
        self.wake_on_commits = wake_on_commits
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets

    @property
    def lock_rows(self) -> bool:
        """Whether the claim must skip rows locked by another worker (PostgreSQL)."""
        return runs_concurrent_writers(self.database.engine)

    @asynccontextmanager
    async def claiming(self) -> AsyncIterator[Claim]:
        async with self.database.write() as session:
            yield Claim(session, self.clock.now(), self)

    async def record(
        self,
        attempted: Callable[[datetime], Sequence[Attempted]],
        *,
        untried: Sequence[str] = (),
        also: Callable[[AsyncSession, datetime], Awaitable[None]] | None = None,
    ) -> None:
        """In one transaction: the attempts (`attempted` classifies them at the time of
        recording), the leases of `untried` jobs given back, and the adapter's own writes."""
        async with self.database.write() as session:
            now = self.clock.now()
            await self.outbox.release(session, untried)
            await self.outbox.record(session, attempted(now), now, self.rng)
            if also is not None:
                await also(session, now)

    async def run(
        self,
        stop: asyncio.Event,
        step: Callable[[], Awaitable[bool]],
        what: str,
        *,
        woken_by: Sequence[asyncio.Event] = (),
        fatal: tuple[type[BaseException], ...] = NO_FATAL,
    ) -> None:
        """Run `step` until `stop`; when it found nothing more to do, wait for a wake-up or
        the poll interval."""
        if self.wake_on_commits:
            await self._listen()

        async def idle() -> None:
            await self._idle(stop, woken_by)

        await keep_running(stop, step, idle, what, fatal)

    async def _listen(self) -> None:
        try:
            await self.database.listen_for_commits()
        except (OSError, RuntimeError) as error:
            logger.warning("no cross-process wake-ups, polling only: %s", error)

    async def _idle(self, stop: asyncio.Event, woken_by: Sequence[asyncio.Event]) -> None:
        if not self.wake_on_commits and not woken_by:
            await wait_or_stop(stop, self.poll_interval_seconds)
            return
        events = [stop, *woken_by]
        if self.wake_on_commits:
            events.append(self.database.commits)
        waits = [asyncio.ensure_future(event.wait()) for event in events]
        await asyncio.wait(waits, timeout=self.poll_interval_seconds, return_when="FIRST_COMPLETED")
        for waiting in waits:
            waiting.cancel()
        if self.wake_on_commits:
            self.database.commits.clear()
