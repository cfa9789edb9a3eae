"""A tenant's clock. A live tenant runs by real time. A sandbox tenant runs by its test clock:
business time `clock_offset_us` ahead of real time, an offset that only grows. One calendar
run at a time holds a test clock (a lease on the tenant row, in real time), so that an
advance and the worker's pass never run a sandbox tenant's days side by side."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock, ShiftedClock, local_date
from assina.core.errors import not_found
from assina.db.database import Database
from assina.tenants.models import Tenant, TenantMode

# How long a hold lasts without renewal: a process that dies holding a clock frees it then.
LEASE = timedelta(minutes=5)
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class CalendarTenant:
    """What the calendar needs of a tenant to run its day."""

    id: str
    time_zone: str
    mode: TenantMode
    clock_offset: timedelta

    @property
    def sandbox(self) -> bool:
        return self.mode == TenantMode.SANDBOX

    def clock(self, base: Clock) -> Clock:
        """The tenant's clock over the process's real one."""
        return ShiftedClock(base, self.clock_offset) if self.sandbox else base


async def tenant_today(session: AsyncSession, clock: Clock, tenant_id: str) -> date:
    """The clock's date in the tenant's time zone: the calendar date rules are written in."""
    time_zone = await session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
    if time_zone is None:
        raise not_found("tenant", tenant_id)
    return local_date(clock.now(), time_zone)


def offset_us(offset: timedelta) -> int:
    return offset // timedelta(microseconds=1)


async def calendar_tenants(
    database: Database, tenant_id: str | None = None
) -> list[CalendarTenant]:
    async with database.read() as session:
        statement = select(
            Tenant.id, Tenant.time_zone, Tenant.mode, Tenant.clock_offset_us
        ).order_by(Tenant.id)
        if tenant_id is not None:
            statement = statement.where(Tenant.id == tenant_id)
        rows = (await session.execute(statement)).all()
    return [
        CalendarTenant(row.id, row.time_zone, row.mode, timedelta(microseconds=row.clock_offset_us))
        for row in rows
    ]


async def calendar_tenant(session: AsyncSession, tenant_id: str) -> CalendarTenant | None:
    row = (
        await session.execute(
            select(Tenant.id, Tenant.time_zone, Tenant.mode, Tenant.clock_offset_us).where(
                Tenant.id == tenant_id
            )
        )
    ).first()
    if row is None:
        return None
    return CalendarTenant(
        row.id, row.time_zone, row.mode, timedelta(microseconds=row.clock_offset_us)
    )


@dataclass
class ClockHold:
    """A held test clock: `until` is the lease's end, which also identifies the holder."""

    tenant_id: str
    until: datetime


class ClockHoldLost(Exception):
    """The lease ran out and someone else holds the clock now."""


async def _take(database: Database, clock: Clock, tenant_id: str) -> ClockHold | None:
    now = clock.real_now()
    until = now + LEASE
    async with database.write() as session:
        result = await session.execute(
            update(Tenant)
            .where(
                Tenant.id == tenant_id,
                Tenant.mode == TenantMode.SANDBOX,
                or_(Tenant.clock_advancing_until.is_(None), Tenant.clock_advancing_until <= now),
            )
            .values(clock_advancing_until=until)
        )
    taken = int(getattr(result, "rowcount", 0) or 0) == 1
    return ClockHold(tenant_id, until) if taken else None


async def _release(database: Database, hold: ClockHold) -> None:
    async with database.write() as session:
        await session.execute(
            update(Tenant)
            .where(Tenant.id == hold.tenant_id, Tenant.clock_advancing_until == hold.until)
            .values(clock_advancing_until=None)
        )


@asynccontextmanager
async def hold_test_clock(
    database: Database, clock: Clock, tenant_id: str, wait_seconds: float = 0.0
) -> AsyncIterator[ClockHold | None]:
    """Hold a sandbox tenant's test clock for the block; None when another run holds it
    (after waiting up to `wait_seconds` of real time for it to be freed)."""
    deadline = time.monotonic() + wait_seconds
    hold = await _take(database, clock, tenant_id)
    while hold is None and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_SECONDS)  # a worker's pass is short: wait, don't fail
        hold = await _take(database, clock, tenant_id)
    try:
        yield hold
    finally:
        if hold is not None:
            await _release(database, hold)


async def move_test_clock(
    database: Database, clock: Clock, hold: ClockHold, offset: timedelta
) -> None:
    """Set the held clock's offset, renewing the lease; commits, so that requests see it."""
    until = clock.real_now() + LEASE
    async with database.write() as session:
        result = await session.execute(
            update(Tenant)
            .where(Tenant.id == hold.tenant_id, Tenant.clock_advancing_until == hold.until)
            .values(clock_offset_us=offset_us(offset), clock_advancing_until=until)
        )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        raise ClockHoldLost(hold.tenant_id)
    hold.until = until
