"""Sandbox tenants and their test clocks (product.md §6), on both backends: keys told apart,
the clock read and advanced through the API, every day of an advance run as the worker would
have run it, stamped with the test clock while what it sends is due at once in real time,
and one run of a clock at a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from assina.calendar.run import run_calendar
from assina.charges.models import Charge
from assina.contracts.models import Contract
from assina.core.clock import FrozenClock
from assina.customers.models import Customer
from assina.db.database import Database
from assina.events.models import Event
from assina.notifications.models import Email
from assina.sandbox.schemas import ClockAdvanceIn
from assina.sandbox.service import advance_test_clock
from assina.tenants.clock import hold_test_clock
from assina.webhooks.models import WebhookMessage
from tests.conftest import START, TenantClient
from tests.integration.contract_support import new_contract, new_customer
from tests.integration.test_calendar import DyingClock, charges_of, monthly, schedule

ZONE = ZoneInfo("America/Sao_Paulo")
MONTHS_2026 = [f"2026-{month:02d}" for month in range(1, 13)]


async def advance(api: TenantClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/test-clock/advance", body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), ZONE).astimezone(UTC)


async def test_keys_and_mode_tell_sandbox_and_live_apart(
    api: TenantClient, sandbox: TenantClient
) -> None:
    assert api.tenant.api_key.startswith("sk_live_")
    assert sandbox.tenant.api_key.startswith("sk_test_")
    assert (await api.get("/v1/tenant")).json()["mode"] == "live"
    assert (await sandbox.get("/v1/tenant")).json()["mode"] == "sandbox"
    # A tenant's mode is not a field anyone can change.
    refused = await sandbox.patch("/v1/tenant", {"mode": "live"})
    assert refused.status_code == 422
    assert (await sandbox.get("/v1/tenant")).json()["mode"] == "sandbox"


async def test_a_live_tenant_has_no_test_clock(api: TenantClient) -> None:
    for response in (
        await api.get("/v1/test-clock"),
        await api.post("/v1/test-clock/advance", {"days": 1}),
    ):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"


async def test_the_clock_starts_at_real_time_and_only_moves_forward(
    sandbox: TenantClient,
) -> None:
    assert (await sandbox.get("/v1/test-clock")).json() == {
        "now": "2026-01-15T12:00:00Z",
        "today": "2026-01-15",
    }
    for body in ({"days": 0}, {"days": 1101}, {"days": 1.5}, {"days": "3"}, {}, {"to": "x"}):
        response = await sandbox.post("/v1/test-clock/advance", body)
        assert response.status_code == 422, (body, response.text)
    both = await sandbox.post("/v1/test-clock/advance", {"days": 1, "to": "2026-02-01T00:00:00Z"})
    assert both.status_code == 422
    backwards = await sandbox.post("/v1/test-clock/advance", {"to": "2026-01-15T11:00:00Z"})
    assert backwards.status_code == 409
    assert backwards.json()["type"] == "urn:assina:problem:clock-backwards"
    too_far = await sandbox.post("/v1/test-clock/advance", {"to": "2029-02-01T00:00:00Z"})
    assert too_far.status_code == 422

    moved = await advance(sandbox, to="2026-01-20T09:30:00-03:00")
    assert moved["previous"] == {"now": "2026-01-15T12:00:00Z", "today": "2026-01-15"}
    assert moved["clock"] == {"now": "2026-01-20T12:30:00Z", "today": "2026-01-20"}
    assert moved["days"] == 6  # the 15th (caught up) to the 20th
    assert (await sandbox.get("/v1/test-clock")).json()["now"] == "2026-01-20T12:30:00Z"
    again = await sandbox.post("/v1/test-clock/advance", {"to": "2026-01-20T09:30:00-03:00"})
    assert again.status_code == 409  # a retried `to` finds the clock there already
    by_days = await advance(sandbox, days=3)
    assert by_days["clock"] == {"now": "2026-01-23T12:30:00Z", "today": "2026-01-23"}


async def test_a_year_advanced_bills_as_a_year_lived(
    sandbox: TenantClient, api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """The same schedule as the live tenant's year walked day by day (test_calendar.py), and
    the live tenant beside it is not billed ahead."""
    exempt = await new_customer(sandbox, dunning_exempt=True)
    plain = await new_contract(sandbox, customer_id=exempt)
    month_end = await new_contract(sandbox, customer_id=exempt, billing_day=31)
    live = await new_contract(api)

    answer = await advance(sandbox, to="2027-01-15T09:00:00-03:00")

    assert answer["days"] == 366
    assert answer["failed"] == []
    assert schedule(await charges_of(sandbox, plain["id"])) == monthly(
        15, [*MONTHS_2026, "2027-01"]
    )
    month_end_dues = [due for due, _ in schedule(await charges_of(sandbox, month_end["id"]))]
    assert month_end_dues[:3] == ["2026-01-15", "2026-01-31", "2026-02-28"]
    assert month_end_dues[-1] == "2026-12-31"
    assert answer["charges_issued"] == 13 + 13
    assert len(await charges_of(api, live["id"])) == 0  # the live tenant's today is unmoved
    # A charge is stamped at the start of the day that issued it (lead 10 days), by the
    # test clock; what the year sent is due now, in real time (the base clock is frozen).
    charges = await charges_of(sandbox, plain["id"])
    assert charges[1]["created_at"] == "2026-02-05T03:00:00Z"
    async with database.read() as session:
        stamps = set(
            (
                await session.scalars(
                    select(Event.created_at).where(Event.type == "charge.created")
                )
            ).all()
        )
        emails_due = set((await session.scalars(select(Email.next_attempt_at))).all())
    assert midnight(date(2026, 2, 5)) in stamps
    assert emails_due <= {clock.now()}


async def test_what_a_sandbox_writes_is_stamped_with_its_clock_and_sent_at_once(
    sandbox: TenantClient, database: Database, clock: FrozenClock
) -> None:
    hook = await sandbox.post("/v1/webhook-endpoints", {"url": "https://hooks.example.com/x"})
    assert hook.status_code == 201
    await advance(sandbox, days=30)  # to 2026-02-14 12:00 UTC
    customer = await sandbox.post("/v1/customers", {"name": "Bia", "email": "bia@example.com"})
    charge = await sandbox.post(
        "/v1/charges",
        {
            "customer_id": customer.json()["id"],
            "items": [{"description": "Matrícula", "amount": 10000}],
            "due_date": "2026-02-04",
        },
    )
    settled = await sandbox.post(f"/v1/charges/{charge.json()['id']}/settle", {})

    assert customer.json()["created_at"] == "2026-02-14T12:00:00Z"
    assert settled.status_code == 200, settled.text
    # Ten days late by the test clock: 2 % fine and 10/30 of 1 % interest.
    assert (settled.json()["settled_at"], settled.json()["fine_amount"]) == (
        "2026-02-14T12:00:00Z",
        200,
    )
    assert settled.json()["interest_amount"] == 33
    async with database.read() as session:
        due = (await session.scalars(select(WebhookMessage.next_attempt_at))).all()
        settled_stamp = await session.scalar(
            select(Event.created_at).where(Event.type == "charge.settled")
        )
    assert due and set(due) == {START}
    assert settled_stamp == datetime(2026, 2, 14, 12, tzinfo=UTC)


async def test_two_advances_at_once_never_run_a_day_twice(
    sandbox: TenantClient, database: Database
) -> None:
    exempt = await new_customer(sandbox, dunning_exempt=True)
    contract = await new_contract(sandbox, customer_id=exempt)
    target = {"to": "2026-06-15T09:00:00-03:00"}

    first, second = await asyncio.gather(
        sandbox.post("/v1/test-clock/advance", target),
        sandbox.post("/v1/test-clock/advance", target),
    )

    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 409], (first.text, second.text)
    assert schedule(await charges_of(sandbox, contract["id"])) == monthly(
        15, ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    )
    async with database.read() as session:
        created = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "charge.created")
        )
    assert created == 6


async def test_the_worker_leaves_a_held_clock_alone_and_runs_a_free_one_by_it(
    sandbox: TenantClient, database: Database, clock: FrozenClock
) -> None:
    exempt = await new_customer(sandbox, dunning_exempt=True)
    contract = await new_contract(sandbox, customer_id=exempt, billing_day=20)

    async with hold_test_clock(database, clock, sandbox.tenant.tenant_id) as hold:
        assert hold is not None
        held = await run_calendar(database, clock)
        async with hold_test_clock(database, clock, sandbox.tenant.tenant_id) as second:
            assert second is None  # one run of a clock at a time
    assert held.contracts == 0
    assert await charges_of(sandbox, contract["id"]) == []

    await advance(sandbox, days=5)  # to Jan 20: the stub and the 20th's charge
    clock.advance(timedelta(days=22))  # real time moves on, and the test clock with it
    free = await run_calendar(database, clock)
    assert (free.contracts, free.charges_issued, free.failed) == (1, 1, [])
    assert (await sandbox.get("/v1/test-clock")).json()["today"] == "2026-02-11"
    charges = await charges_of(sandbox, contract["id"])
    assert schedule(charges) == [("2026-01-15", 1613), ("2026-01-20", 10000), ("2026-02-20", 10000)]
    assert charges[-1]["created_at"] == "2026-02-11T12:00:00Z"


async def test_an_advance_that_dies_midway_is_finished_by_the_next(
    sandbox: TenantClient, database: Database, clock: FrozenClock
) -> None:
    exempt = await new_customer(sandbox, dunning_exempt=True)
    contracts = [await new_contract(sandbox, customer_id=exempt) for _ in range(3)]
    target = ClockAdvanceIn(to=datetime(2026, 5, 20, 12, tzinfo=UTC))

    with pytest.raises(SystemExit):
        await advance_test_clock(database, DyingClock(START, 60), sandbox.tenant.tenant_id, target)

    stopped = (await sandbox.get("/v1/test-clock")).json()["today"]
    assert "2026-01-15" < stopped < "2026-05-20"  # it died on the way, holding nothing
    finished = await advance_test_clock(database, clock, sandbox.tenant.tenant_id, target)
    assert finished.clock.today == date(2026, 5, 20)
    for contract in contracts:
        assert schedule(await charges_of(sandbox, contract["id"])) == monthly(
            15, ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
        )
    async with database.read() as session:
        created = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "charge.created")
        )
    assert created == 15


async def _story(api: TenantClient) -> None:
    """Customers that pay nothing: plain, on trial, a one-off charge, exempt, started late."""
    for name, fields in (
        ("Plano", {}),
        ("Teste", {"trial_days": 14}),
        ("Avulso", {"billing_day": 25}),
        ("Isento", {}),
        ("Atrasado", {"start_date": "2025-12-20"}),
    ):
        email = f"{name.lower()}@example.com"
        customer = await new_customer(api, name=name, email=email, dunning_exempt=name == "Isento")
        await new_contract(api, customer_id=customer, **fields)
        if name == "Avulso":
            one_off = {
                "customer_id": customer,
                "items": [{"description": "Uniforme", "amount": 8000}],
                "due_date": "2026-01-20",
            }
            assert (await api.post("/v1/charges", one_off)).status_code == 201


_CUSTOMER = (Customer.id, Customer.name, Customer.status)


async def _outcome(database: Database, tenant_id: str) -> dict[str, Any]:
    """What the days left behind, without ids or times of day."""
    async with database.read() as session:

        async def rows(*columns: Any) -> list[Any]:
            owner = columns[0].class_  # every column of one table, filtered by the tenant
            statement = select(*columns).where(owner.tenant_id == tenant_id)
            return list((await session.execute(statement)).all())

        customers = {c.id: (c.name, c.status) for c in await rows(*_CUSTOMER)}
        charges = await rows(Charge.customer_id, Charge.due_date, Charge.amount, Charge.status)
        contracts = await rows(Contract.customer_id, Contract.status, Contract.cancelled_at)
        emails = await rows(Email.customer_id, Email.kind, Email.created_at)
        events = await rows(Event.type, Event.customer_id, Event.created_at)

    def local(instant: datetime) -> date:
        return instant.astimezone(ZONE).date()

    return {
        "customers": sorted(customers.values()),
        "charges": sorted((customers[c][0], d, a, s) for c, d, a, s in charges),
        "contracts": sorted(
            (customers[c][0], s, local(at) if at else None) for c, s, at in contracts
        ),
        "emails": sorted((customers[c][0], kind, local(at)) for c, kind, at in emails),
        "events": sorted((kind, customers[c][0] if c else "", local(at)) for kind, c, at in events),
    }


async def test_an_advance_ends_where_the_days_run_one_full_pass_at_a_time_end(
    sandbox: TenantClient, api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """An advance reads, after its first day, only the customers for whom something can
    differ from the day before (dunning/incremental.py); a live twin walked one full pass a
    day through the same 100 days must end in the very same state, e-mail for e-mail and
    event for event, each on the same day."""
    await _story(sandbox)
    await _story(api)

    await advance(sandbox, to="2026-04-25T09:00:00-03:00")
    day = date(2026, 1, 15)
    while day <= date(2026, 4, 25):
        clock.set(datetime.combine(day, time(9), ZONE).astimezone(UTC))
        report = await run_calendar(database, clock, tenant_id=api.tenant.tenant_id)
        assert report.failed == []
        day += timedelta(days=1)

    advanced = await _outcome(database, sandbox.tenant.tenant_id)
    walked = await _outcome(database, api.tenant.tenant_id)
    assert advanced == walked
    kinds = {kind for _, kind, _ in advanced["emails"]}
    assert {"reminder", "overdue", "suspension", "cancellation", "trial_ending"} <= kinds


async def test_an_advance_with_an_idempotency_key_runs_once(sandbox: TenantClient) -> None:
    key = {"Idempotency-Key": "advance-1"}
    first = await sandbox.post("/v1/test-clock/advance", {"days": 3}, headers=key)
    again = await sandbox.post("/v1/test-clock/advance", {"days": 3}, headers=key)
    other = await sandbox.post("/v1/test-clock/advance", {"days": 4}, headers=key)

    assert first.status_code == again.status_code == 200, first.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert other.status_code == 409
    assert (await sandbox.get("/v1/test-clock")).json()["today"] == "2026-01-18"
    refused = await sandbox.post(
        "/v1/test-clock/advance", {"days": 0}, headers={"Idempotency-Key": "k2"}
    )
    assert refused.status_code == 422
    fixed = await sandbox.post(
        "/v1/test-clock/advance", {"days": 1}, headers={"Idempotency-Key": "k2"}
    )
    assert fixed.status_code == 200  # a refused request stores nothing under its key
