"""The billing calendar over a simulated year, on both backends: every charge's amount, due
date and period for contracts of every interval, trials, a mid-period change, a cancellation
at period end and a readjustment by index; reruns and a pass that dies midway.

The expected schedules are written out by hand (dates and amounts), not computed with the
code under test."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assina.calendar.run import CalendarReport, PassOptions, run_calendar
from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.contract_support import new_contract, new_customer, new_product, stored
from tests.integration.fuzz_support import event_log
from tests.integration.test_cli import COMMAND

ZONE = ZoneInfo("America/Sao_Paulo")
FIRST_DAY = date(2026, 1, 15)  # the clock fixture's START in the tenant's zone
LAST_DAY = date(2027, 1, 15)


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), ZONE).astimezone(UTC)


async def pass_on(database: Database, clock: FrozenClock, day: date) -> CalendarReport:
    """The worker's pass on `day`: the clock at noon of that day in the tenant's zone."""
    clock.set(at_noon(day))
    report = await run_calendar(database, clock)
    assert report.failed == []
    return report


async def charges_of(api: TenantClient, contract_id: str) -> list[dict[str, Any]]:
    charges: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, "contract_id": contract_id}
        if cursor:
            params["starting_after"] = cursor
        page = (await api.get("/v1/charges", params=params)).json()
        charges.extend(page["data"])
        if not page["has_more"]:
            return sorted(charges, key=lambda charge: charge["due_date"])
        cursor = page["data"][-1]["id"]


def schedule(charges: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(charge["due_date"], charge["amount"]) for charge in charges]


def monthly(day: int, months: list[str], amount: int = 10000) -> list[tuple[str, int]]:
    return [(f"{month}-{day:02d}", amount) for month in months]


async def never_dunned(api: TenantClient, **fields: Any) -> dict[str, Any]:
    """A contract of a customer the dunning policy leaves alone: nobody pays in these
    simulations, and suspension or cancellation for debt is dunning's test, not this one's."""
    customer_id = await new_customer(api, dunning_exempt=True)
    return await new_contract(api, customer_id=customer_id, **fields)


MONTHS_2026 = [f"2026-{month:02d}" for month in range(1, 13)]


async def test_a_year_of_billing_day_by_day(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    plain = await never_dunned(api)
    month_end = await never_dunned(api, billing_day=31)
    with_trial = await never_dunned(api, trial_days=14)
    yearly_product = await new_product(api, name="Anuidade", amount=120000, interval="year")
    yearly = await never_dunned(api, product=yearly_product, readjustment_index="IPCA")
    weekly_product = await new_product(api, name="Aula", amount=5000, interval="week")
    weekly = await never_dunned(api, product=weekly_product)
    quarterly_product = await new_product(api, name="Trimestre", amount=27000, interval_count=3)
    quarterly = await never_dunned(api, product=quarterly_product)
    changed = await never_dunned(api)
    leaving = await never_dunned(api)
    for month in MONTHS_2026:
        response = await api.http.put(
            f"/v1/price-indexes/IPCA/values/{month}", json={"percent": "1"}, headers=api.headers
        )
        assert response.status_code == 200, response.text

    day = FIRST_DAY
    while day <= LAST_DAY:
        clock.set(at_noon(day))
        if day == date(2026, 3, 1):
            # 1 → 2 units with 14 of the period's 28 days left (Feb 15 to Mar 15): +5000.
            patch = {"items": [{"product_id": changed["items"][0]["product_id"], "quantity": 2}]}
            response = await api.patch(f"/v1/contracts/{changed['id']}", patch)
            assert response.status_code == 200, response.text
            # Shown until the next charge (Mar 15's, issued Mar 5) carries it.
            assert response.json()["pending_proration_amount"] == 5000
        if day == date(2026, 3, 5):
            shown = (await api.get(f"/v1/contracts/{changed['id']}")).json()
            assert shown["pending_proration_amount"] == 5000
        if day == date(2026, 6, 20):
            cancel = {"at_period_end": True, "reason": "mudou de cidade"}
            response = await api.post(f"/v1/contracts/{leaving['id']}/cancel", cancel)
            assert response.status_code == 200, response.text
        await pass_on(database, clock, day)
        if day == date(2026, 3, 5):
            shown = (await api.get(f"/v1/contracts/{changed['id']}")).json()
            assert shown["pending_proration_amount"] == 0
        day += timedelta(days=1)

    assert schedule(await charges_of(api, plain["id"])) == monthly(15, [*MONTHS_2026, "2027-01"])
    # Day 31: a stub of Jan 15 to 31 (16 of 31 days: 5161.29), then the last day of short months.
    month_end_charges = await charges_of(api, month_end["id"])
    # The stub's line names its first and last day, as people read dates in pt-BR.
    assert month_end_charges[0]["items"] == [
        {
            "product_id": None,
            "description": "Período proporcional 15/01/2026 a 30/01/2026",
            "quantity": 1,
            "amount": 5161,
        }
    ]
    assert schedule(month_end_charges) == [
        ("2026-01-15", 5161),
        ("2026-01-31", 10000),
        ("2026-02-28", 10000),
        ("2026-03-31", 10000),
        ("2026-04-30", 10000),
        ("2026-05-31", 10000),
        ("2026-06-30", 10000),
        ("2026-07-31", 10000),
        ("2026-08-31", 10000),
        ("2026-09-30", 10000),
        ("2026-10-31", 10000),
        ("2026-11-30", 10000),
        ("2026-12-31", 10000),
    ]
    # A 14-day trial: the service and billing start on Jan 29 (Feb 28 in February).
    trial_dates = ["2026-01-29", "2026-02-28"] + [f"{m}-29" for m in MONTHS_2026[2:]]
    assert schedule(await charges_of(api, with_trial["id"])) == [(d, 10000) for d in trial_dates]
    # Yearly, readjusted on its anniversary's issue day by 12 months of 1 %: 1.01 ** 12 =
    # 1.126825..., 120000 * 1.126825 = 135219.0.
    yearly_charges = await charges_of(api, yearly["id"])
    assert schedule(yearly_charges) == [("2026-01-15", 120000), ("2027-01-15", 135219)]
    weekly_dues = [FIRST_DAY + timedelta(weeks=n) for n in range(54)]
    assert schedule(await charges_of(api, weekly["id"])) == [
        (due.isoformat(), 5000) for due in weekly_dues if due <= LAST_DAY + timedelta(days=10)
    ]
    quarterly_months = ["2026-01", "2026-04", "2026-07", "2026-10", "2027-01"]
    assert schedule(await charges_of(api, quarterly["id"])) == monthly(15, quarterly_months, 27000)
    changed_charges = await charges_of(api, changed["id"])
    assert schedule(changed_charges) == [
        ("2026-01-15", 10000),
        ("2026-02-15", 10000),
        ("2026-03-15", 25000),
        *monthly(15, [*MONTHS_2026[3:], "2027-01"], 20000),
    ]
    adjustment = changed_charges[2]["items"][-1]
    assert (adjustment["description"], adjustment["amount"]) == ("Ajuste proporcional", 5000)
    # Asked on Jun 20: the Jun 15 to Jul 15 period is the last; cancelled on Jul 15.
    assert schedule(await charges_of(api, leaving["id"])) == monthly(15, MONTHS_2026[:6])
    left = (await api.get(f"/v1/contracts/{leaving['id']}")).json()
    assert (left["status"], left["cancel_reason"]) == ("cancelled", "mudou de cidade")
    assert left["cancelled_at"].startswith("2026-07-15")

    every_charge = [
        charge
        for contract in (plain, month_end, with_trial, yearly, weekly, quarterly, changed, leaving)
        for charge in await charges_of(api, contract["id"])
    ]
    for charge in every_charge:
        # Issued charge_lead_days (10) before the due date, or on the contract's first day.
        issued = datetime.fromisoformat(charge["created_at"]).astimezone(ZONE).date()
        assert issued == max(date.fromisoformat(charge["due_date"]) - timedelta(days=10), FIRST_DAY)
        assert charge["status"] == "open"
        assert charge["period_start"] == charge["due_date"]
    events = Counter(event["type"] for event in await event_log(api))
    assert events["charge.created"] == len(every_charge)
    assert events["contract.readjusted"] == 1
    [readjusted] = [e for e in await event_log(api) if e["type"] == "contract.readjusted"]
    # By the contract's index, over the 12 months before the anniversary (Jan 15, 2027).
    assert (readjusted["data"]["id"], readjusted["data"]["readjustment"]) == (
        yearly["id"],
        {"percent": "12.6825", "index": "IPCA", "reference_month": "2026-12"},
    )
    assert events["contract.cancelled"] == 1
    trial_events = [
        event
        for event in await event_log(api)
        if event["type"] == "contract.updated" and event["data"]["id"] == with_trial["id"]
    ]
    assert [event["previous"]["status"] for event in trial_events] == ["trialing"]
    assert (await stored(database, plain["id"])).next_step_on == date(2027, 2, 5)


async def test_a_second_pass_for_the_same_day_changes_nothing(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    contracts = [await new_contract(api, billing_day=day) for day in (5, 15, 20, 31)]
    first = await pass_on(database, clock, date(2026, 3, 10))
    events_after_first = await event_log(api)
    charges_after_first = [await charges_of(api, contract["id"]) for contract in contracts]

    second = await pass_on(database, clock, date(2026, 3, 10))
    earlier = await pass_on(database, clock, date(2026, 2, 1))

    assert first.charges_issued == sum(len(charges) for charges in charges_after_first) > 0
    assert (second.charges_issued, earlier.charges_issued) == (0, 0)
    assert await event_log(api) == events_after_first
    assert [await charges_of(api, c["id"]) for c in contracts] == charges_after_first


class DyingClock(FrozenClock):
    """A clock that kills the pass (an exception no handler catches) on its nth reading: the
    process dying in the middle of some contract's transaction."""

    def __init__(self, start: datetime, readings_before_death: int) -> None:
        super().__init__(start)
        self.readings_left = readings_before_death

    def now(self) -> datetime:
        self.readings_left -= 1
        if self.readings_left < 0:
            raise SystemExit("killed")
        return super().now()


# Contract by contract (the path a failed batch is redone by); batches: test_calendar_batches.py.
# Clock readings: 0 is the tenant's today, then one per charge issued (3 or 4 per contract).
@pytest.mark.parametrize(("readings_before_death", "contracts_done"), [(1, 0), (9, 2), (20, 4)])
async def test_a_pass_one_by_one_killed_midway_is_finished_by_the_next(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    readings_before_death: int,
    contracts_done: int,
) -> None:
    customer = await new_customer(api)
    product = await new_product(api)
    contracts = [
        await new_contract(api, customer_id=customer, product=product, billing_day=day)
        for day in range(1, 13)
    ]
    day = date(2026, 4, 2)
    dying = DyingClock(at_noon(day), readings_before_death)
    with pytest.raises(SystemExit):
        await run_calendar(database, dying, options=PassOptions(batched=False))
    charged_before_rerun = [len(await charges_of(api, c["id"])) for c in contracts]

    await pass_on(database, clock, day)

    charged = [await charges_of(api, contract["id"]) for contract in contracts]
    # Each contract was advanced whole or not at all, in the order of the pass (by id).
    by_id = sorted(
        zip(contracts, charged_before_rerun, charged, strict=True), key=lambda t: t[0]["id"]
    )
    assert [before for _, before, _ in by_id] == [
        len(after) if n < contracts_done else 0 for n, (_, _, after) in enumerate(by_id)
    ]
    for charges in charged:
        # Billing days 1-12 from Jan 15: the stub or first period, then monthly to Apr 1-12.
        dues = [charge["due_date"] for charge in charges]
        assert len(dues) == len(set(dues)), dues
        assert "2026-04-01" <= dues[-1] <= "2026-04-12"
    events = [event for event in await event_log(api) if event["type"] == "charge.created"]
    every_charge = [charge for charges in charged for charge in charges]
    assert sorted(e["data"]["id"] for e in events) == sorted(c["id"] for c in every_charge)


def billing_run(db_url: str, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `assina billing run`, in a subprocess, on the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
    env.update(ASSINA_DATABASE_URL=db_url, ASSINA_DATA_DIR=str(directory / "data"))
    return subprocess.run(  # noqa: S603 - our own console script
        [*COMMAND, "billing", "run", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_billing_run_command_runs_a_live_tenant_only_for_its_real_today(
    api: TenantClient, db_url: str, tmp_path: Path
) -> None:
    """`--date` would have a live tenant's calendar tell a story that did not happen (charges
    issued and customers dunned on a day that has not come): refused, naming sandbox
    tenants, and nothing is written. A real pass (the subprocess runs on real time, so from
    January 2026 to today) issues what is due once."""
    contract = await new_contract(api, billing_day=20)
    real_today = datetime.now(ZONE).date()

    future = await asyncio.to_thread(billing_run, db_url, tmp_path, "--date", "2200-01-01")
    past = await asyncio.to_thread(billing_run, db_url, tmp_path, "--date", "2026-02-10")
    wrong = await asyncio.to_thread(billing_run, db_url, tmp_path, "--date", "10/02/2026")
    unknown = await asyncio.to_thread(billing_run, db_url, tmp_path, "--tenant", "ten_nobody")

    assert (future.returncode, past.returncode) == (2, 2), future.stderr
    assert "sandbox" in future.stderr
    assert f"real today ({real_today})" in past.stderr
    assert await charges_of(api, contract["id"]) == []
    assert wrong.returncode == 2
    assert "--date must be YYYY-MM-DD" in wrong.stderr
    assert unknown.returncode == 2
    assert "ten_nobody" in unknown.stderr

    first = await asyncio.to_thread(billing_run, db_url, tmp_path, "--date", real_today.isoformat())
    second = await asyncio.to_thread(billing_run, db_url, tmp_path)
    assert first.returncode == 0, first.stderr
    charges = await charges_of(api, contract["id"])
    assert json.loads(first.stdout)["charges_issued"] == len(charges) > 1
    assert (second.returncode, json.loads(second.stdout)["charges_issued"]) == (0, 0)
    # The stub (Jan 15 to 20, 5 of 31 days), then every 20th whose issue day has come.
    assert schedule(charges)[:3] == [
        ("2026-01-15", 1613),
        ("2026-01-20", 10000),
        ("2026-02-20", 10000),
    ]
