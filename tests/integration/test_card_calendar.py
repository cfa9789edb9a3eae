"""The calendar tries card charges by itself: on the due date and on the tenant's retry days
(default 1, 3 and 5 days after), each decline a numbered `card.declined`, an approval a
settlement; a day run twice tries nothing twice."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from assina.calendar.run import CalendarReport, run_tenant_day
from assina.core.clock import FrozenClock, ShiftedClock
from assina.db.database import Database
from assina.events.models import Event
from assina.payments.card_schedule import CardRun
from assina.payments.models import CardAttempt
from assina.payments.sandbox.models import SandboxPayment
from assina.tenants.clock import calendar_tenant
from tests.conftest import TenantClient
from tests.integration.charge_support import create_charge, line, new_customer, read_charge
from tests.integration.payment_support import LiveApp, sandbox_today, save_card

AMOUNT = 9_900


async def _advance(api: TenantClient, days: int) -> dict[str, Any]:
    advanced = await api.post("/v1/test-clock/advance", {"days": days})
    assert advanced.status_code == 200, advanced.text
    body: dict[str, Any] = advanced.json()
    return body


async def _declined_attempts(database: Database) -> list[tuple[int, str]]:
    async with database.read() as session:
        events = (
            await session.scalars(
                select(Event).where(Event.type == "card.declined").order_by(Event.sequence)
            )
        ).all()
        return [(event.data["attempt"], event.data["decline_code"]) for event in events]


async def _card_charge_due_in(api: TenantClient, customer_id: str, days: int) -> dict[str, Any]:
    due = await sandbox_today(api) + timedelta(days=days)
    return await create_charge(
        api, customer_id, items=[line(AMOUNT)], due_date=due.isoformat(), payment_method="card"
    )


async def _due_day_run_twice(
    sandbox: TenantClient,
    live: LiveApp,
    database: Database,
    clock: FrozenClock,
    charge: dict[str, Any],
) -> list[CalendarReport]:
    """The tenant's calendar run twice for the charge's due date: the two reports."""
    async with database.read() as session:
        tenant = await calendar_tenant(session, sandbox.tenant.tenant_id)
    assert tenant is not None
    cards = CardRun(live.connections, live.base_url)
    day = date.fromisoformat(charge["due_date"])
    tenant_clock = ShiftedClock(clock, tenant.clock_offset)
    reports = [CalendarReport(), CalendarReport()]
    for report in reports:
        await run_tenant_day(database, tenant_clock, tenant.id, day, report, cards=cards)
    return reports


async def test_a_declining_card_is_tried_on_the_due_date_and_each_retry_day(
    sandbox: TenantClient,
    live: LiveApp,
    database: Database,
) -> None:
    api = live.as_tenant(sandbox)
    customer_id = await new_customer(api)
    await save_card(api, customer_id, "4000000000000341")
    charge = await _card_charge_due_in(api, customer_id, 2)

    before_due = await _advance(api, 1)
    on_due = await _advance(api, 1)
    after = await _advance(api, 8)

    assert before_due["cards"]["attempted"] == 0
    assert on_due["cards"] == {
        "attempted": 1,
        "approved": 0,
        "declined": 1,
        "processing": 0,
        "unanswered": 0,
        "without_card": 0,
    }
    assert after["cards"]["declined"] == 3  # due + 1, + 3, + 5: then no more
    assert await _declined_attempts(database) == [
        (1, "generic_decline"),
        (2, "generic_decline"),
        (3, "generic_decline"),
        (4, "generic_decline"),
    ]
    async with database.read() as session:
        days = (await session.scalars(select(CardAttempt.scheduled_on))).all()
    due = date.fromisoformat(charge["due_date"])
    assert sorted(days) == [due + timedelta(days=n) for n in (0, 1, 3, 5)]
    assert (await read_charge(api, charge["id"]))["status"] == "open"


async def test_an_approving_card_settles_the_charge_on_its_due_date(
    sandbox: TenantClient,
    live: LiveApp,
) -> None:
    api = live.as_tenant(sandbox)
    customer_id = await new_customer(api)
    await save_card(api, customer_id, "4111111111111111")
    without_card = await new_customer(api, "Sem Cartão")
    charge = await _card_charge_due_in(api, customer_id, 1)
    await _card_charge_due_in(api, without_card, 1)

    advanced = await _advance(api, 3)

    assert (advanced["cards"]["approved"], advanced["cards"]["without_card"]) == (1, 3)
    settled = await read_charge(api, charge["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", AMOUNT)
    assert settled["settled_at"].startswith(charge["due_date"])


async def test_a_processing_card_settles_when_the_gateway_notifies(
    sandbox: TenantClient,
    live: LiveApp,
) -> None:
    api = live.as_tenant(sandbox)
    live.connections.sandbox.processing_seconds = 0
    customer_id = await new_customer(api)
    await save_card(api, customer_id, "4000000000000259")
    charge = await _card_charge_due_in(api, customer_id, 1)

    advanced = await _advance(api, 1)
    await live.connections.sandbox.notifications_settled()

    assert advanced["cards"]["processing"] == 1
    assert (await read_charge(api, charge["id"]))["status"] == "settled"


async def test_a_day_run_twice_tries_each_charge_once(
    sandbox: TenantClient,
    live: LiveApp,
    database: Database,
    clock: FrozenClock,
) -> None:
    api = live.as_tenant(sandbox)
    customer_id = await new_customer(api)
    await save_card(api, customer_id, "4000000000000341")
    charge = await _card_charge_due_in(api, customer_id, 0)

    reports = await _due_day_run_twice(sandbox, live, database, clock, charge)

    assert [report.cards.declined for report in reports] == [1, 0]
    assert await _declined_attempts(database) == [(1, "generic_decline")]
    assert (await read_charge(api, charge["id"]))["status"] == "open"


async def test_an_attempt_whose_answer_was_lost_is_tried_again_under_its_own_id(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    """The gateway charged the card but its answer never came: the attempt is `failed`, the
    next pass tries it again with the same idempotency key, and the gateway answers with the
    payment it made. One payment at the gateway, one settlement."""
    api = live.as_tenant(sandbox)
    customer_id = await new_customer(api)
    await save_card(api, customer_id, "4111111111111111")
    charge = await _card_charge_due_in(api, customer_id, 0)
    live.connections.sandbox.losing_card_answers = 1

    reports = await _due_day_run_twice(sandbox, live, database, clock, charge)

    assert [(r.cards.unanswered, r.cards.approved) for r in reports] == [(1, 0), (0, 1)]
    async with database.read() as session:
        attempts = (await session.execute(select(CardAttempt.id, CardAttempt.status))).all()
        payments = (
            await session.scalars(
                select(SandboxPayment.id).where(SandboxPayment.charge_id == charge["id"])
            )
        ).all()
    assert [status for _, status in attempts] == ["approved"]  # the same row, tried twice
    assert len(payments) == 1
    settled = await read_charge(api, charge["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", AMOUNT)


async def test_after_the_last_retry_a_declined_charge_is_dunnings(
    sandbox: TenantClient, live: LiveApp, database: Database
) -> None:
    api = live.as_tenant(sandbox)
    customer_id = await new_customer(api)
    await save_card(api, customer_id, "4000000000000341")
    charge = await _card_charge_due_in(api, customer_id, 1)

    await _advance(api, 2)  # tried on its due date and the day after, still owed
    delinquent = (await api.get(f"/v1/customers/{customer_id}")).json()["status"]
    await _advance(api, 20)  # the retry days (3, 5) and then the policy's 15 days
    suspended = (await api.get(f"/v1/customers/{customer_id}")).json()["status"]

    assert delinquent == "delinquent"  # dunning counts it from its due date, as any charge
    assert suspended == "suspended"
    assert [attempt for attempt, _ in await _declined_attempts(database)] == [1, 2, 3, 4]
    assert (await read_charge(api, charge["id"]))["status"] == "open"
