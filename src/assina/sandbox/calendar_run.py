"""What `assina billing run [--date D] [--tenant ID]` runs. A live tenant's calendar runs
only for its real today (catching up missed days by itself): a date in its future or past
would write a story that did not happen, so it is refused. A sandbox tenant moves through
days by its test clock: a later date advances the clock to that day."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from assina.calendar.run import run_calendar
from assina.core.clock import Clock, local_date
from assina.core.errors import Problem
from assina.db.database import Database
from assina.payments.card_schedule import CardRun
from assina.sandbox.schemas import MAX_ADVANCE_DAYS, ClockAdvanceIn
from assina.sandbox.service import advance_test_clock
from assina.tenants.clock import CalendarTenant, calendar_tenants


class CalendarRunRefused(Exception):
    """The arguments name something the calendar cannot run; nothing was done."""


async def calendar_run(
    database: Database,
    clock: Clock,
    day: date | None,
    tenant_id: str | None,
    cards: CardRun | None = None,
) -> dict[str, Any]:
    """Run the pass, or the sandbox tenant's advance to `day`; the report as JSON values."""
    tenants = await calendar_tenants(database, tenant_id)
    if tenant_id is not None and not tenants:
        raise CalendarRunRefused(f"no tenant {tenant_id!r} (`assina tenant list` shows them)")
    if day is not None and tenant_id is not None and tenants[0].sandbox:
        return await _advance_to(database, clock, tenants[0], day, cards)
    if day is not None:
        _refuse_other_days(tenants, clock, day)
    report = await run_calendar(database, clock, tenant_id=tenant_id, cards=cards)
    return dataclasses.asdict(report)


def _refuse_other_days(tenants: list[CalendarTenant], clock: Clock, day: date) -> None:
    for tenant in tenants:
        today = local_date(tenant.clock(clock).now(), tenant.time_zone)
        if day == today:
            continue
        if tenant.sandbox:
            raise CalendarRunRefused(
                f"{day} is not the sandbox tenant {tenant.id}'s today ({today}): name it with "
                "--tenant to advance its test clock"
            )
        raise CalendarRunRefused(
            f"the live tenant {tenant.id} runs its calendar only for its real today ({today}), "
            "catching up missed days by itself. To watch days pass, use a sandbox tenant "
            "(`assina tenant create NAME --sandbox`) and advance its test clock "
            "(`billing run --date D --tenant ID`, or POST /v1/test-clock/advance)"
        )


async def _advance_to(
    database: Database, clock: Clock, tenant: CalendarTenant, day: date, cards: CardRun | None
) -> dict[str, Any]:
    today = local_date(tenant.clock(clock).now(), tenant.time_zone)
    if day < today:
        raise CalendarRunRefused(
            f"the test clock of {tenant.id} is on {today} and only moves forward"
        )
    if day == today:
        report = await run_calendar(database, clock, tenant_id=tenant.id, cards=cards)
        return dataclasses.asdict(report)
    if (day - today).days > MAX_ADVANCE_DAYS:
        raise CalendarRunRefused(f"an advance moves a test clock at most {MAX_ADVANCE_DAYS} days")
    try:
        advanced = await advance_test_clock(
            database, clock, tenant.id, ClockAdvanceIn(days=(day - today).days), cards
        )
    except Problem as problem:  # busy clock, or more days than an advance takes
        raise CalendarRunRefused(problem.detail) from problem
    return advanced.model_dump(mode="json")
