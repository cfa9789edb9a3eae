"""A calendar that tells the truth (issue 12), on both backends: a pass never undoes what a
later day's pass did, every move back names what made it, debts that cannot be paid are not
dunned (charges of 0, periods a cancelled contract will never serve), and a charge issued
late is dunned from the day it was issued.

The reproductions run the calendar with explicit days while the clock stays on today, as
`assina billing run --date D` does."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from assina.calendar.run import PassOptions, run_calendar
from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.tenants.models import Tenant
from tests.conftest import TenantClient
from tests.integration.contract_support import (
    new_contract,
    new_customer,
    new_product,
    read_contract,
)
from tests.integration.email_support import put
from tests.integration.fuzz_support import event_log
from tests.integration.test_calendar import at_noon, charges_of
from tests.integration.test_dunning import dunning_events, emails_of

TODAY = date(2026, 1, 15)  # the clock fixture's START in the tenant's zone
TOMORROW = TODAY + timedelta(days=1)


async def owing_customer(api: TenantClient, name: str, due: date = TODAY) -> dict[str, Any]:
    """A customer with one open one-off charge due on `due`."""
    customer_id = await new_customer(api, name, email=f"{name.lower()}@example.com")
    body = {
        "customer_id": customer_id,
        "items": [{"description": "Mensalidade", "amount": 5000}],
        "due_date": due.isoformat(),
    }
    charge = await api.post("/v1/charges", body)
    assert charge.status_code == 201, charge.text
    return {"customer_id": customer_id, "charge": charge.json()}


async def status_of(api: TenantClient, customer_id: str) -> str:
    status: str = (await api.get(f"/v1/customers/{customer_id}")).json()["status"]
    return status


async def dunning_day(database: Database, tenant_id: str) -> date | None:
    async with database.read() as session:
        return await session.scalar(select(Tenant.dunning_day).where(Tenant.id == tenant_id))


async def moves_of(api: TenantClient, customer_id: str) -> list[tuple[Any, ...]]:
    return dunning_events(await event_log(api), customer_id)


# --- a pass never undoes what a later day's pass did ------------------------------------------


async def test_a_pass_for_today_after_tomorrows_moves_nobody_back(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """The issue's reproduction: `billing run --date <tomorrow>` made two customers
    delinquent; a plain pass for today then moved them back, reason `paid`, with nothing
    paid."""
    ana = await owing_customer(api, "Ana")
    bia = await owing_customer(api, "Bia")
    tenant_id = api.tenant.tenant_id

    tomorrow = await run_calendar(database, clock, day=TOMORROW)
    assert tomorrow.dunning.status_changes == 2
    assert await dunning_day(database, tenant_id) == TOMORROW
    today = await run_calendar(database, clock)  # the worker's pass, for today
    assert (today.failed, today.dunning.status_changes, today.dunning.customers) == ([], 0, 0)
    again = await run_calendar(database, clock, day=TODAY)
    assert again.dunning.status_changes == 0
    assert await dunning_day(database, tenant_id) == TOMORROW  # never goes back
    for owing in (ana, bia):
        assert await status_of(api, owing["customer_id"]) == "delinquent"
        assert await moves_of(api, owing["customer_id"]) == [
            ("customer.status_changed", "active", "delinquent", "overdue")
        ]

    # Inside requests too, a decision takes the later day: a change to Bia's debts today
    # does not bring her back; Ana's payment does, and it is a payment.
    extra = await api.post(
        "/v1/charges",
        {
            "customer_id": bia["customer_id"],
            "items": [{"description": "Taxa", "amount": 100}],
            "due_date": "2026-02-01",
        },
    )
    assert (await api.post(f"/v1/charges/{extra.json()['id']}/invalidate", {})).is_success
    assert await status_of(api, bia["customer_id"]) == "delinquent"
    assert (await api.post(f"/v1/charges/{ana['charge']['id']}/settle", {})).is_success
    assert await status_of(api, ana["customer_id"]) == "active"
    assert (await moves_of(api, ana["customer_id"]))[-1][1:] == ("delinquent", "active", "paid")
    assert len(await moves_of(api, bia["customer_id"])) == 1


async def test_a_customer_suspended_by_a_later_pass_stays_so_on_its_cancelled_contract(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """The issue saw customers `active` on `cancelled` contracts: a pass far ahead cancelled
    the contract for debt, and a pass for today brought the customer back."""
    contract = await new_contract(api)
    customer_id = contract["customer_id"]
    await run_calendar(database, clock)  # issues the first charge, due today
    await run_calendar(database, clock, day=TODAY + timedelta(days=60))
    cancelled = await read_contract(api, contract["id"])
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "dunning")
    assert await status_of(api, customer_id) == "suspended"

    await run_calendar(database, clock)
    await run_calendar(database, clock, day=TODAY + timedelta(days=30))
    assert await status_of(api, customer_id) == "suspended"
    assert [move[1:] for move in await moves_of(api, customer_id)] == [
        ("active", "suspended", "suspended"),
        ("dunning",),
    ]


async def test_a_trial_ended_by_tomorrows_pass_is_in_its_first_period_today(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """The issue saw a contract `active` with `current_period_start/end: null`: its trial
    was ended by a pass for a later day. An active contract is always in a period."""
    contract = await new_contract(api, trial_days=1)
    assert (contract["status"], contract["current_period_start"]) == ("trialing", None)
    await run_calendar(database, clock, day=TOMORROW)
    shown = await read_contract(api, contract["id"])
    assert shown["status"] == "active"
    assert (shown["current_period_start"], shown["current_period_end"]) == (
        "2026-01-16",
        "2026-02-16",
    )
    ahead = await new_contract(api, start_date="2026-03-01")  # active, service starts later
    assert (ahead["current_period_start"], ahead["current_period_end"]) == (
        "2026-03-01",
        "2026-04-01",
    )


# --- every move back names what made it ---------------------------------------------------


async def test_each_move_back_names_its_cause(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    moved = await owing_customer(api, "Caio")
    exempted = await owing_customer(api, "Dora")
    lenient = await owing_customer(api, "Eva")
    await run_calendar(database, clock, day=TOMORROW)
    for owing in (moved, exempted, lenient):
        assert await status_of(api, owing["customer_id"]) == "delinquent"

    later = {"due_date": "2026-01-20"}
    assert (await api.patch(f"/v1/charges/{moved['charge']['id']}", later)).is_success
    exempt = {"dunning_exempt": True}
    assert (await api.patch(f"/v1/charges/{exempted['charge']['id']}", exempt)).is_success
    # A more lenient policy is applied by the next pass (the worker runs the day again).
    assert (await put(api, "/v1/dunning-policy", {"grace_days": 5})).is_success
    await run_calendar(database, clock, day=TOMORROW)

    reasons = {
        name: [move[1:] for move in await moves_of(api, owing["customer_id"])]
        for name, owing in (("moved", moved), ("exempted", exempted), ("lenient", lenient))
    }
    delinquent = ("active", "delinquent", "overdue")
    assert reasons == {
        "moved": [delinquent, ("delinquent", "active", "due_date_moved")],
        "exempted": [delinquent, ("delinquent", "active", "exempted")],
        "lenient": [delinquent, ("delinquent", "active", "policy_changed")],
    }


# --- debts that cannot be paid are not dunned ---------------------------------------------


async def test_a_charge_of_zero_is_settled_when_issued_and_never_reminded(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id = await new_customer(api, "Fabi", email="fabi@example.com")
    body = {
        "customer_id": customer_id,
        "items": [
            {"description": "Mensalidade", "amount": 5000},
            {"description": "Crédito", "amount": -5000},
        ],
        "due_date": "2026-01-16",
    }
    created = await api.post("/v1/charges", body)
    assert created.status_code == 201, created.text
    charge = created.json()
    assert (charge["amount"], charge["status"], charge["settled_amount"]) == (0, "settled", 0)
    events = [e for e in await event_log(api) if e["data"].get("id") == charge["id"]]
    assert [(e["type"], e["previous"]) for e in events] == [
        ("charge.created", None),
        ("charge.settled", {"status": "open"}),
    ]
    assert events[0]["data"]["status"] == "open"
    for day in range(3):
        await run_calendar(database, clock, day=TODAY + timedelta(days=day))
    assert await status_of(api, customer_id) == "active"
    assert await emails_of(api, customer_id) == []  # no charge_created, reminder nor receipt


async def _zero_contract_events(
    api: TenantClient, database: Database, clock: FrozenClock, options: PassOptions
) -> list[tuple[str, Any, Any]]:
    free = await new_product(api, name="Plano Gratuito", amount=0)
    contract = await new_contract(api, product=free)
    await run_calendar(database, clock, day=TODAY, options=options)
    [charge] = await charges_of(api, contract["id"])
    assert (charge["amount"], charge["status"]) == (0, "settled")
    return [
        (event["type"], event["data"]["status"], event["previous"])
        for event in await event_log(api)
        if event["data"].get("id") == charge["id"]
    ]


async def test_the_batch_settles_a_charge_of_zero_as_the_single_path_does(
    api: TenantClient, other_api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    batched = await _zero_contract_events(api, database, clock, PassOptions())
    single = await _zero_contract_events(other_api, database, clock, PassOptions(batched=False))
    assert (
        batched
        == single
        == [
            ("charge.created", "open", None),
            ("charge.settled", "settled", {"status": "open"}),
        ]
    )


async def test_a_trial_cancelled_on_day_3_owes_nothing(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """The first period's charge is issued ahead (lead days) during the trial; cancelled at
    once or at its end, the trial's contract never serves that period, so it is invalidated."""
    at_once = await new_contract(api, trial_days=7)
    at_end = await new_contract(api, trial_days=7)
    await run_calendar(database, clock)
    for contract in (at_once, at_end):
        [charge] = await charges_of(api, contract["id"])
        assert (charge["due_date"], charge["status"]) == ("2026-01-22", "open")

    clock.set(at_noon(TODAY + timedelta(days=3)))
    cancelled = await api.post(f"/v1/contracts/{at_once['id']}/cancel", {})
    assert cancelled.json()["status"] == "cancelled"
    [charge] = await charges_of(api, at_once["id"])
    assert charge["status"] == "invalidated"
    invalidated = [e for e in await event_log(api) if e["type"] == "charge.invalidated"]
    assert [(e["data"]["id"], e["previous"]) for e in invalidated] == [
        (charge["id"], {"status": "open"})
    ]

    asked = await api.post(f"/v1/contracts/{at_end['id']}/cancel", {"at_period_end": True})
    assert (asked.json()["status"], asked.json()["cancel_at"]) == ("trialing", "2026-01-22")
    for day in range(4, 40):
        clock.set(at_noon(TODAY + timedelta(days=day)))
        await run_calendar(database, clock)
    ended = await read_contract(api, at_end["id"])
    assert (ended["status"], ended["cancel_reason"], ended["cancel_at"]) == (
        "cancelled",
        "period_end",
        None,
    )
    assert ended["cancelled_at"].startswith("2026-01-22")
    [charge] = await charges_of(api, at_end["id"])
    assert charge["status"] == "invalidated"
    for contract in (at_once, at_end):
        assert await status_of(api, contract["customer_id"]) == "active"
        kinds = {email["kind"] for email in await emails_of(api, contract["customer_id"])}
        assert not kinds & {"overdue", "suspension", "cancellation"}


async def test_cancel_at_shows_the_day_a_contract_will_end(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    contract = await new_contract(api)
    assert contract["cancel_at"] is None
    await run_calendar(database, clock)  # charges Jan 15 → Feb 15
    asked = await api.post(f"/v1/contracts/{contract['id']}/cancel", {"at_period_end": True})
    assert asked.json()["cancel_at"] == "2026-02-15"
    [charge] = await charges_of(api, contract["id"])
    assert charge["status"] == "open"  # a period already begun stays owed
    types = await api.get("/v1/event-types")
    [updated] = [t for t in types.json()["data"] if t["name"] == "contract.updated"]
    assert "cancel_at" in updated["schema"]["properties"]


# --- a charge issued late -----------------------------------------------------------------


async def test_a_charge_issued_late_is_dunned_from_its_issue_day(
    api: TenantClient, other_api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """A contract started in the past: the calendar catches up with charges due Dec 1 and
    Jan 1. By default their days overdue count from today, the day they are issued; a tenant
    that asks `from_due_date` suspends the customer at once (Dec 1 is 45 days ago)."""
    by_due_date = {"late_issue_grace": "from_due_date"}
    assert (await put(other_api, "/v1/dunning-policy", by_due_date)).is_success
    late = await new_contract(api, start_date="2025-12-01")
    strict = await new_contract(other_api, start_date="2025-12-01")
    await run_calendar(database, clock)
    due_dates = [charge["due_date"] for charge in await charges_of(api, late["id"])]
    assert due_dates == ["2025-12-01", "2026-01-01"]

    assert await status_of(api, late["customer_id"]) == "active"
    assert await status_of(other_api, strict["customer_id"]) == "suspended"
    await run_calendar(database, clock, day=TOMORROW)
    assert await status_of(api, late["customer_id"]) == "delinquent"
    await run_calendar(database, clock, day=TODAY + timedelta(days=15))
    assert await status_of(api, late["customer_id"]) == "suspended"
    assert (await read_contract(api, late["id"]))["status"] == "suspended"


async def test_a_trial_suspended_and_resumed_before_its_end_goes_back_to_its_trial(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """Under `customer` scope a trial is suspended with its customer; paid before the trial
    ends, it resumes as `trialing`, not as an `active` contract without a period."""
    assert (await put(api, "/v1/dunning-policy", {"scope": "customer"})).is_success
    owing = await owing_customer(api, "Gabi")
    trial = await new_contract(api, customer_id=owing["customer_id"], trial_days=30)
    await run_calendar(database, clock, day=TODAY + timedelta(days=15))
    assert await status_of(api, owing["customer_id"]) == "suspended"
    assert (await read_contract(api, trial["id"]))["status"] == "suspended"

    assert (await api.post(f"/v1/charges/{owing['charge']['id']}/settle", {})).is_success
    resumed = await read_contract(api, trial["id"])
    assert (resumed["status"], resumed["trial_end"]) == ("trialing", "2026-02-14")
    assert (await moves_of(api, owing["customer_id"]))[-2:] == [
        ("customer.status_changed", "suspended", "active", "paid"),
        ("contract.updated", "suspended", "trialing"),
    ]


async def test_a_cancellation_that_drops_an_overdue_charge_says_so(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """The next period's charge, issued ahead, had its due date moved back and is overdue;
    cancelling the contract at once invalidates it (its period never begins), and the
    customer is back to `active` because of the cancellation, not a payment."""
    by_due_date = {"late_issue_grace": "from_due_date"}
    assert (await put(api, "/v1/dunning-policy", by_due_date)).is_success
    contract = await new_contract(api)
    await run_calendar(database, clock)  # Jan 15 → Feb 15
    [first] = await charges_of(api, contract["id"])
    assert (await api.post(f"/v1/charges/{first['id']}/settle", {})).is_success
    clock.set(at_noon(date(2026, 2, 5)))
    await run_calendar(database, clock)  # Feb 15 → Mar 15, issued 10 days ahead
    [_, ahead] = await charges_of(api, contract["id"])
    moved = await api.patch(f"/v1/charges/{ahead['id']}", {"due_date": "2026-02-01"})
    assert moved.status_code == 200, moved.text
    assert await status_of(api, contract["customer_id"]) == "delinquent"

    assert (await api.post(f"/v1/contracts/{contract['id']}/cancel", {})).is_success
    assert [c["status"] for c in await charges_of(api, contract["id"])] == [
        "settled",
        "invalidated",
    ]
    assert await status_of(api, contract["customer_id"]) == "active"
    assert [move[1:] for move in await moves_of(api, contract["customer_id"])] == [
        ("active", "delinquent", "overdue"),
        (None,),  # contract.cancelled, no reason given
        ("delinquent", "active", "contract_cancelled"),
    ]


# --- every contract move says why --------------------------------------------------------------


async def test_every_contract_move_names_its_reason(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id = await new_customer(api, "Caio", email="caio@example.com")
    trial = await new_contract(api, customer_id=customer_id, trial_days=5)
    plain = await new_contract(api, customer_id=customer_id)
    assert (trial["status_reason"], plain["status_reason"]) == (None, None)

    async def reason(contract_id: str) -> tuple[str, str | None]:
        shown = await read_contract(api, contract_id)
        return shown["status"], shown["status_reason"]

    await run_calendar(database, clock)  # plain's first charge, due today
    await run_calendar(database, clock, day=TODAY + timedelta(days=5))
    assert await reason(trial["id"]) == ("active", "trial_ended")
    await run_calendar(database, clock, day=TODAY + timedelta(days=15))
    assert await reason(plain["id"]) == ("suspended", "overdue")

    clock.set(at_noon(TODAY + timedelta(days=15)))
    for charge in await charges_of(api, plain["id"]):
        settled = await api.post(f"/v1/charges/{charge['id']}/settle", {})
        assert settled.status_code == 200, settled.text
    assert await reason(plain["id"]) == ("active", "paid")
    event = (await event_log(api))[-1]
    assert (event["type"], event["previous"]["status_reason"]) == ("contract.updated", "overdue")

    cancelled = await api.post(f"/v1/contracts/{plain['id']}/cancel", {"reason": "caro"})
    assert (cancelled.json()["status_reason"], cancelled.json()["cancel_reason"]) == (
        "requested",
        "caro",
    )
