"""An outbox table as the relay kernel sees it: jobs with a status, a due time, a lease and an
attempt count. The kernel writes the lease and every attempt's result with a few set-based
statements per batch, whatever the table."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.db.shapes import one_of
from assina.relay.outcomes import Attempted, Next, settle

MAX_ERROR = 500
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class Outbox:
    table: Table
    # The status values meaning due (the first is the one a retry returns to), delivered and
    # failed for good.
    pending: tuple[str, ...]
    delivered: str
    failed: str
    delivered_at: str  # the column stamped on delivery
    last_error: str | None = None  # the column keeping the last failure's reason, if any

    def lease_free(self, now: ColumnElement[datetime] | datetime) -> ColumnElement[bool]:
        """Never leased, or its lease has run out: a worker that died holding it loses
        nothing, another takes the job over (at least once, never zero times)."""
        locked_until = self.table.c.locked_until
        return or_(locked_until.is_(None), locked_until <= now)

    def due(self, now: ColumnElement[datetime] | datetime) -> ColumnElement[bool]:
        c = self.table.c
        return and_(c.status.in_(self.pending), c.next_attempt_at <= now, self.lease_free(now))

    async def take_lease(self, session: AsyncSession, ids: Sequence[str], until: datetime) -> None:
        await session.execute(
            update(self.table).where(one_of(self.table.c.id, ids)).values(locked_until=until)
        )

    async def release(self, session: AsyncSession, ids: Sequence[str]) -> None:
        """Give back leases of jobs claimed but not attempted: due again at once."""
        if ids:
            await session.execute(
                update(self.table).where(one_of(self.table.c.id, ids)).values(locked_until=None)
            )

    async def record(
        self,
        session: AsyncSession,
        attempts: Sequence[Attempted],
        now: datetime,
        rng: random.Random,
    ) -> None:
        """Move each attempted job to delivered, failed or due again, releasing its lease."""
        if not attempts:
            return
        c = self.table.c
        attempted = {
            "attempt_count": c.attempt_count + 1,
            "last_attempt_at": now,
            "locked_until": None,
        }
        settled = [settle(attempt, now, rng) for attempt in attempts]
        delivered = [s.job_id for s in settled if s.next is Next.DELIVERED]
        if delivered:
            cleared = {self.last_error: None} if self.last_error else {}
            await session.execute(
                update(self.table)
                .where(one_of(c.id, delivered))
                .values(status=self.delivered, **{self.delivered_at: now}, **cleared, **attempted)
            )
        retry_values: dict[str, Any] = {"next_attempt_at": bindparam("retry_at")}
        for kind, status, values in (
            (Next.FAILED, self.failed, {}),
            (Next.RETRY, self.pending[0], retry_values),
        ):
            rows = [
                {"job": s.job_id, "retry_at": s.retry_at, "error": (s.error or "")[:MAX_ERROR]}
                for s in settled
                if s.next is kind
            ]
            if not rows:
                continue
            if self.last_error:
                values = {**values, self.last_error: bindparam("error")}
            await session.execute(
                update(self.table)
                .where(c.id == bindparam("job"))
                .values(status=status, **values, **attempted),
                rows,
            )


def skip_locked(statement: Select[*Ts], lock_rows: bool, of: Any = None) -> Select[*Ts]:
    """On PostgreSQL, rows another worker is claiming are skipped, not waited for; SQLite has
    one writer at a time, so the plain claim is atomic there."""
    if not lock_rows:
        return statement
    return statement.with_for_update(of=of, skip_locked=True)
