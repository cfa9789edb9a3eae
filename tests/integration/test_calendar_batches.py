"""The calendar's batches (calendar/charge_batch.py), on both backends: the same scenarios give
the same charges, events and contracts whether contracts are advanced in batches or one by
one; a batch killed midway leaves nothing of itself; a batch that fails is redone contract by
contract, so that one broken contract holds back no other."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from assina.billing_settings.schemas import DEFAULT_RULES
from assina.calendar.run import CalendarReport, PassOptions, run_calendar
from assina.charges.models import Charge
from assina.charges.service import ChargeDraft, charge_row
from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.events.models import Event
from assina.notifications.models import Email
from assina.tenants.models import Tenant
from assina.webhooks.models import WebhookMessage
from tests.conftest import TenantClient
from tests.integration.charge_support import PIX_SETTINGS
from tests.integration.contract_support import new_contract, new_customer, new_product, stored
from tests.integration.fuzz_support import event_log
from tests.integration.test_calendar import (
    FIRST_DAY,
    DyingClock,
    at_noon,
    charges_of,
    never_dunned,
)

BATCHED = PassOptions(batch_size=3)
ONE_BY_ONE = PassOptions(batched=False)
AN_ID = re.compile(r"^[a-z]{3}_[0-9A-Z]{26}$")
# A payment page's link (in `payment_url` and the e-mails): the charge's id and its MAC.
A_PAYMENT_LINK = re.compile(r"/pay/([a-z]{3}_[0-9A-Z]{26})\.[A-Za-z0-9_-]{22}")


async def all_charges(api: TenantClient) -> list[dict[str, Any]]:
    charges: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = (await api.get("/v1/charges", params=params)).json()
        charges.extend(page["data"])
        if not page["has_more"]:
            return sorted(charges, key=lambda charge: charge["number"])
        params["starting_after"] = page["data"][-1]["id"]


async def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def scenario(api: TenantClient) -> dict[str, dict[str, Any]]:
    """One of every kind of contract, with a PIX receiver and an endpoint for every event."""
    await ok(await api.http.put("/v1/billing-settings", json=PIX_SETTINGS, headers=api.headers))
    await ok(await api.post("/v1/webhook-endpoints", {"url": "https://hooks.example.com/a"}))
    for month in [f"2026-{month:02d}" for month in range(1, 13)]:
        url = f"/v1/price-indexes/IPCA/values/{month}"
        await ok(await api.http.put(url, json={"percent": "0.5"}, headers=api.headers))
    plan = await new_product(api)
    extra = await new_product(api, name="Material", amount=2550)
    yearly = await new_product(api, name="Anuidade", amount=120000, interval="year")
    weekly = await new_product(api, name="Aula", amount=5000, interval="week")
    daily = await new_product(api, name="Diária", amount=900, interval="day")
    quarterly = await new_product(api, name="Trimestre", amount=27000, interval_count=3)
    two_items = {
        "customer_id": await new_customer(api, dunning_exempt=True),
        "items": [{"product_id": plan["id"]}],
    }
    two_items["items"].append({"product_id": extra["id"], "quantity": 3})
    return {
        "plain": await never_dunned(api, product=plan),
        "month_end": await never_dunned(api, product=plan, billing_day=31),
        "trial": await never_dunned(api, product=plan, trial_days=14),
        "long_trial": await never_dunned(api, product=plan, trial_days=45, billing_day=5),
        "yearly": await never_dunned(api, product=yearly, readjustment_index="IPCA"),
        "weekly": await never_dunned(api, product=weekly),
        "daily": await never_dunned(api, product=daily),
        "quarterly": await never_dunned(api, product=quarterly),
        "two_items": await ok(await api.post("/v1/contracts", two_items)),
        "card": await never_dunned(api, product=plan, payment_method="card", dunning_exempt=True),
        "raised": await never_dunned(api, product=plan),
        "lowered": await never_dunned(api, items=[{"product_id": plan["id"], "quantity": 10}]),
        "leaving": await never_dunned(api, product=plan),
        "stopped": await never_dunned(api, product=plan),
    }


async def changes_on(day: date, api: TenantClient, contracts: dict[str, dict[str, Any]]) -> None:
    """What people do to the contracts along the way, the same in both tenants."""
    plan_id = contracts["plain"]["items"][0]["product_id"]
    path = "/v1/contracts/{}".format
    if day == date(2026, 2, 1):  # + 1 unit for 14 of 28 days: a debit line on Mar 15
        items = {"items": [{"product_id": plan_id, "quantity": 2}]}
        await ok(await api.patch(path(contracts["raised"]["id"]), items))
    if day == date(2026, 2, 20):  # 10 → 1 units: a credit larger than several charges
        items = {"items": [{"product_id": plan_id, "quantity": 1}]}
        await ok(await api.patch(path(contracts["lowered"]["id"]), items))
    if day == date(2026, 3, 3):
        cancel = {"at_period_end": True, "reason": "mudou de cidade"}
        await ok(await api.post(path(contracts["leaving"]["id"]) + "/cancel", cancel))
    if day == date(2026, 3, 10):
        await ok(await api.post(path(contracts["stopped"]["id"]) + "/cancel", {"reason": "x"}))
    if day == date(2026, 3, 20):
        await ok(await api.post(path(contracts["plain"]["id"]) + "/readjust", {"percent": "4.5"}))


def normalised(value: Any, names: dict[str, str]) -> Any:
    """`value` with every id replaced by its order of first appearance, so that two tenants'
    worlds compare equal when they hold the same things made in the same order."""
    if isinstance(value, dict):
        return {key: normalised(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [normalised(item, names) for item in value]
    if isinstance(value, str) and AN_ID.match(value):
        return names.setdefault(value, f"{value[:3]}#{len(names)}")
    if isinstance(value, str):
        return A_PAYMENT_LINK.sub(lambda link: f"/pay/{normalised(link[1], names)}", value)
    return value


async def world(
    api: TenantClient, database: Database, contracts: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """What a tenant holds, ids normalised and event sequences as their rank."""
    names: dict[str, str] = {}
    schedules = []
    for contract in contracts.values():
        row = await stored(database, contract["id"])
        fields = (row.status, row.next_period, row.stub_amount, row.pending_adjustment)
        schedules.append((*fields, row.next_step_on, row.amount, row.updated_at))
    shown = [(await api.get(f"/v1/contracts/{c['id']}")).json() for c in contracts.values()]
    events = sorted(await event_log(api), key=lambda event: event["sequence"])
    for rank, event in enumerate(events):
        event["sequence"] = rank
    return {
        "schedules": schedules,
        "contracts": normalised(shown, names),
        "charges": normalised(await all_charges(api), names),
        "events": normalised(events, names),
        "messages": await messages_per_event(database, api.tenant.tenant_id),
        "emails": normalised(await emails_of(database, api.tenant.tenant_id), names),
    }


async def emails_of(database: Database, tenant_id: str) -> list[list[Any]]:
    """The tenant's outbox, oldest first; the tenant's name that signs the e-mails is left
    out (and the ids are normalised by the caller), so that two tenants' compare equal."""
    async with database.read() as session:
        name = await session.scalar(select(Tenant.name).where(Tenant.id == tenant_id))
        rows = await session.scalars(
            select(Email).where(Email.tenant_id == tenant_id).order_by(Email.id)
        )
        return [
            [
                *(e.kind, e.customer_id, e.charge_id, e.contract_id, e.status, e.subject),
                e.text_body.removesuffix(f"{name}\n"),
            ]
            for e in rows
        ]


async def messages_per_event(database: Database, tenant_id: str) -> list[int]:
    """How many messages each of the tenant's events has, in sequence order."""
    async with database.read() as session:
        counts = (
            select(func.count(WebhookMessage.id))
            .where(WebhookMessage.event_id == Event.id)
            .scalar_subquery()
        )
        statement = select(counts).where(Event.tenant_id == tenant_id).order_by(Event.sequence)
        return list((await session.scalars(statement)).all())


async def test_batches_and_one_by_one_give_the_same_results(
    api: TenantClient, other_api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    batched = await scenario(api)
    one_by_one = await scenario(other_api)
    days = [FIRST_DAY + timedelta(days=n) for n in range(80)]
    # Then two passes after long gaps: several periods at once, a yearly readjustment.
    for day in [*days, date(2026, 7, 20), date(2027, 1, 20)]:
        clock.set(at_noon(day))
        await changes_on(day, api, batched)
        await changes_on(day, other_api, one_by_one)
        first = await run_calendar(database, clock, None, api.tenant.tenant_id, BATCHED)
        second = await run_calendar(database, clock, None, other_api.tenant.tenant_id, ONE_BY_ONE)
        assert first == second, day
        assert first.failed == []

    expected = await world(other_api, database, one_by_one)
    assert await world(api, database, batched) == expected
    charges = expected["charges"]
    assert len(charges) > 150
    assert sum(event["type"] == "charge.created" for event in expected["events"]) == len(charges)
    assert all(count == 1 for count in expected["messages"])
    assert any(charge["amount"] == 0 for charge in charges)  # the credit used up a whole charge
    # Every charge with something to pay has its charge_created e-mail, and only those.
    created = [email[2] for email in expected["emails"] if email[0] == "charge_created"]
    assert created == [charge["id"] for charge in charges if charge["amount"] > 0]
    assert all(charge["payment_instructions"]["pix_code"] for charge in charges if charge["amount"])
    kinds = {event["type"] for event in expected["events"]}
    assert {"contract.readjusted", "contract.cancelled", "contract.updated"} <= kinds


async def twelve_contracts(api: TenantClient) -> list[dict[str, Any]]:
    """Billing days 1 to 12; every third one a 30-day trial, over by April (a step that goes
    through `advance_contract` inside the batch, after the batch's bulk writes)."""
    customer = await new_customer(api, dunning_exempt=True)
    product = await new_product(api)
    return [
        await new_contract(
            api,
            customer_id=customer,
            product=product,
            billing_day=day,
            trial_days=30 if day % 3 == 0 else 0,
        )
        for day in range(1, 13)
    ]


# Clock readings in the pass of April 2 in batches of 4, one batch at a time: 0 is the
# tenant's today; 1, 8 and 15 start the three batches; 2-7, 9-14 and 16-27 are the trials'
# steps (contract.updated, then their charges, one reading each), which come after the
# batch's first two contracts were written in bulk.
@pytest.mark.parametrize(
    ("readings_before_death", "batches_done"),
    [(0, 0), (1, 0), (5, 0), (8, 1), (12, 1), (22, 2)],
)
async def test_a_batch_killed_midway_leaves_nothing_and_the_next_pass_finishes(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    readings_before_death: int,
    batches_done: int,
) -> None:
    contracts = sorted(await twelve_contracts(api), key=lambda contract: contract["id"])
    day = date(2026, 4, 2)
    options = PassOptions(batch_size=4, in_flight=1)
    events_before = len(await event_log(api))
    dying = DyingClock(at_noon(day), readings_before_death)
    with pytest.raises(SystemExit):
        await run_calendar(database, dying, options=options)
    charged_before_rerun = [len(await charges_of(api, c["id"])) for c in contracts]
    events_between = len(await event_log(api))

    clock.set(at_noon(day))
    report = await run_calendar(database, clock, options=options)

    assert report.failed == []
    assert report.contracts == 12 - 4 * batches_done
    charged = [await charges_of(api, contract["id"]) for contract in contracts]
    done = 4 * batches_done
    assert charged_before_rerun == [len(c) if n < done else 0 for n, c in enumerate(charged)]
    trials_ended = sum(1 for n in range(done) if n % 3 == 2)
    assert events_between - events_before == sum(charged_before_rerun) + trials_ended
    for charges in charged:
        dues = [charge["due_date"] for charge in charges]
        assert len(dues) == len(set(dues)), dues
        assert "2026-04-01" <= dues[-1] <= "2026-04-12"
    events = [event for event in await event_log(api) if event["type"] == "charge.created"]
    every_charge = [charge for charges in charged for charge in charges]
    assert sorted(e["data"]["id"] for e in events) == sorted(c["id"] for c in every_charge)
    async with database.read() as session:
        messages = await session.scalar(select(func.count(WebhookMessage.id)))
    assert messages == 0  # no endpoint: none written, none left over


async def test_a_failing_batch_is_redone_contract_by_contract(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await ok(await api.post("/v1/webhook-endpoints", {"url": "https://hooks.example.com/a"}))
    contracts = sorted(
        [await new_contract(api, billing_day=20) for _ in range(5)], key=lambda c: c["id"]
    )
    broken = contracts[2]
    # A charge for the broken contract's first period is already there (written behind the
    # calendar's back): its batch INSERT breaks the unique key, and so does its own step.
    draft = ChargeDraft(
        customer_id=broken["customer_id"],
        items=[{"description": "à mão", "quantity": 1, "amount": 100}],
        due_date=FIRST_DAY,
        payment_method="pix",
        currency="BRL",
        contract_id=broken["id"],
        period_start=FIRST_DAY,
    )
    row = charge_row(api.tenant.tenant_id, draft, 1000, DEFAULT_RULES, at_noon(FIRST_DAY))
    async with database.write() as session:
        session.add(Charge(**row))

    clock.set(at_noon(date(2026, 2, 10)))
    report = await run_calendar(database, clock, options=PassOptions(batch_size=5))

    assert report.failed == [broken["id"]]
    assert (report.contracts, report.charges_issued) == (4, 12)
    for contract in contracts:
        charges = await charges_of(api, contract["id"])
        assert len(charges) == (1 if contract is broken else 3)
    assert (await stored(database, broken["id"])).next_step_on == FIRST_DAY
    events = [event for event in await event_log(api) if event["type"] == "charge.created"]
    assert len(events) == 12
    async with database.read() as session:
        about_charges = WebhookMessage.event_type == "charge.created"
        messages = await session.scalar(select(func.count(WebhookMessage.id)).where(about_charges))
        numbers = (await session.scalars(select(Charge.number).order_by(Charge.number))).all()
    assert messages == 12
    assert list(numbers) == [*range(1, 13), 1000]  # gap-free: the failed batch gave its back


class CancellingClock(FrozenClock):
    """A clock that cancels the pass on its nth reading, as stopping the worker does: the
    cancellation reaches every batch in flight at its next wait."""

    def __init__(self, start: datetime, readings_before_cancel: int) -> None:
        super().__init__(start)
        self.readings_left = readings_before_cancel
        self.pass_task: asyncio.Task[CalendarReport] | None = None

    def now(self) -> datetime:
        self.readings_left -= 1
        if self.readings_left == -1 and self.pass_task is not None:
            self.pass_task.cancel()
        return super().now()


@pytest.mark.parametrize("readings_before_cancel", [1, 2, 6, 12, 16, 24])
async def test_a_pass_cancelled_midway_leaves_whole_batches(
    api: TenantClient, database: Database, clock: FrozenClock, readings_before_cancel: int
) -> None:
    """On PostgreSQL two batches are in flight at once (one writes while the next computes):
    whatever the moment, each batch is all there or not at all."""
    contracts = sorted(await twelve_contracts(api), key=lambda contract: contract["id"])
    day = date(2026, 4, 2)
    options = PassOptions(batch_size=4)
    cancelling = CancellingClock(at_noon(day), readings_before_cancel)
    cancelling.pass_task = asyncio.create_task(run_calendar(database, cancelling, options=options))
    with pytest.raises(asyncio.CancelledError):
        await cancelling.pass_task
    charged_before_rerun = [len(await charges_of(api, c["id"])) > 0 for c in contracts]

    clock.set(at_noon(day))
    report = await run_calendar(database, clock, options=options)

    batches = [charged_before_rerun[first : first + 4] for first in range(0, 12, 4)]
    assert all(len(set(batch)) == 1 for batch in batches), batches
    assert report.failed == []
    assert report.contracts == 12 - sum(charged_before_rerun)
    charged = [await charges_of(api, contract["id"]) for contract in contracts]
    for charges in charged:
        dues = [charge["due_date"] for charge in charges]
        assert len(dues) == len(set(dues)), dues
        assert "2026-04-01" <= dues[-1] <= "2026-04-12"
    numbers = sorted(charge["number"] for charges in charged for charge in charges)
    assert numbers == list(range(1, len(numbers) + 1))
