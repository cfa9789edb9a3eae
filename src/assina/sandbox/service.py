"""A sandbox tenant's test clock: read it, and advance it running every day on the way
(product.md §6).

An advance holds the clock (tenants/clock.py), so that two advances, or an advance and the
worker's pass, never run the tenant's days side by side. It runs the day the clock is on
(catching up whatever the worker has not run yet), then each following day, each as of the
start of that day in the tenant's time zone, as the worker would have run it just after
midnight, and lands the clock on the target. Before each day it commits the clock's new
place, so requests made meanwhile are stamped with the day being run. What the days write is
dated by the test clock; what they send (webhooks, e-mails) is due at once, in real time.

A day is one calendar pass of the tenant, idempotent like every pass: an advance that dies
midway leaves the clock on the day it was running, and the next advance runs that day again,
which finishes its work and repeats none of it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from assina.calendar.run import CalendarReport, run_tenant_day
from assina.core.clock import Clock, ShiftedClock, local_date, local_instant
from assina.core.errors import Problem, conflict, not_found
from assina.db.database import Database
from assina.dunning.incremental import YesterdayDone
from assina.payments.card_schedule import CardRun
from assina.sandbox.schemas import (
    MAX_ADVANCE_DAYS,
    CardSummary,
    ClockAdvanced,
    ClockAdvanceIn,
    ClockReading,
    DunningSummary,
)
from assina.tenants.clock import CalendarTenant, calendar_tenant, hold_test_clock, move_test_clock

# An advance waits this long (real time) for a worker's pass of the tenant to end.
WAIT_FOR_CLOCK_SECONDS = 10.0


def clock_reading(tenant: CalendarTenant, clock: Clock) -> ClockReading:
    now = tenant.clock(clock).now()
    return ClockReading(now=now, today=local_date(now, tenant.time_zone))


async def sandbox_tenant(database: Database, tenant_id: str) -> CalendarTenant:
    """The tenant, if it is a sandbox; a live tenant has no test clock (404)."""
    async with database.read() as session:
        tenant = await calendar_tenant(session, tenant_id)
    if tenant is None or not tenant.sandbox:
        raise not_found("test clock", tenant_id)
    return tenant


def advance_target(request: ClockAdvanceIn, now: datetime, time_zone: str) -> datetime:
    """Where the clock lands: `to`, or `days` calendar days ahead at the same wall time."""
    if request.to is not None:
        return request.to
    local = now.astimezone(ZoneInfo(time_zone))
    return (local + timedelta(days=request.days or 0)).astimezone(now.tzinfo)


def _check_target(target: datetime, now: datetime) -> None:
    if target <= now:
        raise conflict(
            f"The test clock only moves forward: it is at {now.isoformat()}.",
            "clock-backwards",
        )
    if target - now > timedelta(days=MAX_ADVANCE_DAYS):
        raise Problem(
            422,
            "validation-error",
            f"An advance moves the clock at most {MAX_ADVANCE_DAYS} days.",
        )


async def advance_test_clock(
    database: Database,
    clock: Clock,
    tenant_id: str,
    request: ClockAdvanceIn,
    cards: CardRun | None = None,
) -> ClockAdvanced:
    """Advance the sandbox tenant's clock, running every day's calendar on the way (card
    charges tried through `cards`). 409 when the target is not ahead of the clock or another
    advance holds it."""
    tenant = await sandbox_tenant(database, tenant_id)
    async with hold_test_clock(database, clock, tenant_id, WAIT_FOR_CLOCK_SECONDS) as hold:
        if hold is None:
            raise conflict("Another advance of this test clock is running.", "clock-busy")
        tenant = await sandbox_tenant(database, tenant_id)  # as the last holder left it
        previous = clock_reading(tenant, clock)
        target = advance_target(request, previous.now, tenant.time_zone)
        _check_target(target, previous.now)
        report = CalendarReport()
        offset, days = tenant.clock_offset, 0
        day, last = previous.today, local_date(target, tenant.time_zone)
        yesterday: YesterdayDone | None = None  # the first day reads every candidate
        while day <= last:
            if day > previous.today:  # the clock moves to the start of the day it runs
                offset = local_instant(day, tenant.time_zone) - clock.now()
                await move_test_clock(database, clock, hold, offset)
            failures = len(report.failed)
            day_clock = ShiftedClock(clock, offset)
            await run_tenant_day(
                database, day_clock, tenant_id, day, report, yesterday=yesterday, cards=cards
            )
            whole = len(report.failed) == failures
            yesterday = YesterdayDone(tenant.time_zone) if whole else None
            days += 1
            day += timedelta(days=1)
        await move_test_clock(database, clock, hold, target - clock.now())
    return ClockAdvanced(
        clock=ClockReading(now=target, today=last),
        previous=previous,
        days=days,
        contracts=report.contracts,
        charges_issued=report.charges_issued,
        trials_ended=report.trials_ended,
        cancelled=report.cancelled,
        readjusted=report.readjusted,
        orders_expired=report.orders_expired,
        dunning=DunningSummary(**asdict(report.dunning)),
        cards=CardSummary(**asdict(report.cards)),
        failed=report.failed,
    )
