"""An outbox table as the relay kernel sees it: jobs with a status, a due time, a lease and an
attempt count. The kernel writes the lease and every attempt's result with a few set-based
statements per batch, whatever the table."""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    or_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from assina.db.shapes import one_of_parameter
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
        connection = await session.connection()
        await connection.execute(self._lease_statement, {"ids": list(ids), "until": until})

    async def release(self, session: AsyncSession, ids: Sequence[str]) -> None:
        """Give back leases of jobs claimed but not attempted: due again at once."""
        if ids:
            connection = await session.connection()
            await connection.execute(self._lease_statement, {"ids": list(ids), "until": None})

    async def record(
        self,
        session: AsyncSession,
        attempts: Sequence[Attempted],
        now: datetime,
        rng: random.Random,
    ) -> None:
        """Move each attempted job to delivered, failed or due again, releasing its lease:
        one statement for the delivered, one (many rows) for each of the others."""
        if not attempts:
            return
        connection = await session.connection()
        settled = [settle(attempt, now, rng) for attempt in attempts]
        delivered = [s.job_id for s in settled if s.next is Next.DELIVERED]
        if delivered:
            await connection.execute(self._delivered_statement, {"ids": delivered, "now": now})
        for kind, statement in (
            (Next.FAILED, self._failed_statement),
            (Next.RETRY, self._retry_statement),
        ):
            rows = [
                {
                    "job": s.job_id,
                    "now": now,
                    "retry_at": s.retry_at,
                    "error": (s.error or "")[:MAX_ERROR],
                }
                for s in settled
                if s.next is kind
            ]
            if rows:
                await connection.execute(statement, rows)

    # The statements, built once per outbox (their values are parameters), so that executing
    # one costs no building or cache-key computing.

    @functools.cached_property
    def _lease_statement(self) -> Update:
        c = self.table.c
        return (
            update(self.table)
            .where(one_of_parameter(c.id, "ids"))
            .values(locked_until=bindparam("until"))
        )

    def _attempted(self) -> dict[str, Any]:
        c = self.table.c
        now: BindParameter[datetime] = bindparam("now")
        return {"attempt_count": c.attempt_count + 1, "last_attempt_at": now, "locked_until": None}

    @functools.cached_property
    def _delivered_statement(self) -> Update:
        cleared = {self.last_error: None} if self.last_error else {}
        values: dict[str, Any] = {
            "status": self.delivered,
            self.delivered_at: bindparam("now"),
            **cleared,
        }
        return (
            update(self.table)
            .where(one_of_parameter(self.table.c.id, "ids"))
            .values(**values, **self._attempted())
        )

    @functools.cached_property
    def _failed_statement(self) -> Update:
        return self._one_job_statement(self.failed, {})

    @functools.cached_property
    def _retry_statement(self) -> Update:
        return self._one_job_statement(self.pending[0], {"next_attempt_at": bindparam("retry_at")})

    def _one_job_statement(self, status: str, values: dict[str, Any]) -> Update:
        if self.last_error:
            values = {**values, self.last_error: bindparam("error")}
        return (
            update(self.table)
            .where(self.table.c.id == bindparam("job"))
            .values(status=status, **values, **self._attempted())
        )


def skip_locked(statement: Select[*Ts], lock_rows: bool, of: Any = None) -> Select[*Ts]:
    """On PostgreSQL, rows another worker is claiming are skipped, not waited for; SQLite has
    one writer at a time, so the plain claim is atomic there."""
    if not lock_rows:
        return statement
    return statement.with_for_update(of=of, skip_locked=True)
