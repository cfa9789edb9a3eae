"""Contracts over HTTP: creation (schedules, trials, stubs), reading, lists, validation,
isolation and idempotency, on both backends. Changes and the lifecycle: test_contract_changes.py.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from typing import Any

import pytest

from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.assertions import assert_invalid, assert_problem, iso
from tests.conftest import TenantClient
from tests.integration.contract_support import (
    MISSING_CONTRACT,
    contract_events,
    item,
    list_contracts,
    new_contract,
    new_customer,
    new_product,
    post_contract,
    read_contract,
    stored,
)

# --- creation ----------------------------------------------------------------------------------


async def test_create_applies_the_defaults(api: TenantClient, clock: FrozenClock) -> None:
    customer_id = await new_customer(api)
    product = await new_product(api)
    response = await api.post(
        "/v1/contracts", {"customer_id": customer_id, "items": [{"product_id": product["id"]}]}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("ctr_")
    assert body == {
        "id": body["id"],
        "number": 1,
        "customer_id": customer_id,
        "items": [item(product)],
        "amount": 10000,
        "currency": "BRL",
        "status": "active",
        "start_date": "2026-01-15",
        "trial_end": None,
        "billing_day": 15,
        "current_period_start": "2026-01-15",
        "current_period_end": "2026-02-15",
        "next_charge_date": "2026-01-15",
        "pending_proration_amount": 0,
        "payment_method": "boleto",
        "readjustment_index": None,
        "dunning_exempt": False,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "status_reason": None,
        "metadata": {},
        "created_at": iso(clock.now()),
        "updated_at": iso(clock.now()),
    }
    assert await read_contract(api, body["id"]) == body


async def test_create_stores_the_schedule(api: TenantClient, database: Database) -> None:
    body = await new_contract(api, readjustment_index="IPCA", dunning_exempt=True)
    assert (body["readjustment_index"], body["dunning_exempt"]) == ("IPCA", True)
    row = await stored(database, body["id"])
    assert (row.interval, row.interval_count, str(row.anchor_date)) == ("month", 1, "2026-01-15")
    assert (row.next_period, row.stub_amount, row.pending_adjustment) == (0, 0, 0)
    assert str(row.next_step_on) == "2026-01-15"
    assert (row.readjustment_index, row.dunning_exempt, row.cancel_at_period_end) == (
        "IPCA",
        True,
        False,
    )


async def test_items_take_quantities_overrides_and_sum(api: TenantClient) -> None:
    customer_id = await new_customer(api)
    plan = await new_product(api, name="Plano", amount=10000)
    extra = await new_product(api, name="Extra", amount=4990)
    body = {
        "customer_id": customer_id,
        "items": [
            {"product_id": plan["id"], "quantity": 2},
            {"product_id": extra["id"], "amount": 3000, "description": "Extra com desconto"},
        ],
        "payment_method": "pix",
        "metadata": {"turma": "A"},
    }
    response = await api.post("/v1/contracts", body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["items"] == [
        item(plan, quantity=2),
        {**item(extra, amount=3000), "description": "Extra com desconto"},
    ]
    assert created["amount"] == 2 * 10000 + 3000
    assert created["payment_method"] == "pix"
    assert created["metadata"] == {"turma": "A"}


async def test_start_date_defaults_to_today_in_the_tenant_time_zone(api: TenantClient) -> None:
    # 12:00 UTC on Jan 15 is already Jan 16 at UTC+14.
    assert (await api.patch("/v1/tenant", {"time_zone": "Pacific/Kiritimati"})).status_code == 200
    created = await new_contract(api)
    assert created["start_date"] == "2026-01-16"
    assert created["billing_day"] == 16


async def test_trial_from_the_products(api: TenantClient, database: Database) -> None:
    customer_id = await new_customer(api)
    short = await new_product(api, trial_days=7)
    long = await new_product(api, name="Extra", amount=500, trial_days=14)
    created = await post_contract(api, customer_id, [short, long])
    assert created["status"] == "trialing"
    assert created["trial_end"] == "2026-01-29"
    assert created["billing_day"] == 29  # the service starts when the trial ends
    assert (created["current_period_start"], created["current_period_end"]) == (None, None)
    assert created["next_charge_date"] == "2026-01-29"
    assert str((await stored(database, created["id"])).anchor_date) == "2026-01-29"


async def test_trial_days_zero_overrides_the_products(api: TenantClient) -> None:
    created = await new_contract(api, product=await new_product(api, trial_days=30), trial_days=0)
    assert created["status"] == "active"
    assert created["trial_end"] is None
    assert created["current_period_start"] == "2026-01-15"


async def test_trial_with_a_billing_day_ends_in_a_stub(
    api: TenantClient, database: Database
) -> None:
    created = await new_contract(api, trial_days=10, billing_day=1)
    assert created["trial_end"] == "2026-01-25"
    assert created["next_charge_date"] == "2026-01-25"  # the stub, due when the trial ends
    row = await stored(database, created["id"])
    assert str(row.anchor_date) == "2026-02-01"
    # Jan 25 → Feb 1 is 7 of the 31 days of Jan 1 → Feb 1: 10000 * 7 / 31 = 2258.06
    assert row.stub_amount == 2258


async def test_stub_before_a_later_billing_day(api: TenantClient, database: Database) -> None:
    created = await new_contract(api, billing_day=20)
    assert created["billing_day"] == 20
    assert (created["current_period_start"], created["current_period_end"]) == (
        "2026-01-15",
        "2026-01-20",
    )
    assert created["next_charge_date"] == "2026-01-15"
    row = await stored(database, created["id"])
    assert str(row.anchor_date) == "2026-01-20"
    # 5 of the 31 days of Dec 20 → Jan 20: 10000 * 5 / 31 = 1612.9
    assert row.stub_amount == 1613


async def test_stub_before_an_earlier_billing_day(api: TenantClient, database: Database) -> None:
    created = await new_contract(api, billing_day=10)
    assert created["current_period_end"] == "2026-02-10"
    row = await stored(database, created["id"])
    # Jan 15 → Feb 10: 26 of the 31 days of Jan 10 → Feb 10: 8387.09
    assert (str(row.anchor_date), row.stub_amount) == ("2026-02-10", 8387)


async def test_billing_day_31_in_a_future_february(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    created = await new_contract(api, start_date="2026-02-10", billing_day=31)
    assert created["status"] == "active"
    # Active before its service starts: it shows its first period, the stub (issue 12).
    assert (created["current_period_start"], created["current_period_end"]) == (
        "2026-02-10",
        "2026-02-28",
    )
    assert created["next_charge_date"] == "2026-02-10"
    row = await stored(database, created["id"])
    # Feb 10 → Feb 28 (the 31st, clamped): 18 of the 28 days of Jan 31 → Feb 28.
    assert (str(row.anchor_date), row.stub_amount) == ("2026-02-28", 6429)
    clock.advance(timedelta(days=49))  # 2026-03-05
    shown = await read_contract(api, created["id"])
    assert (shown["current_period_start"], shown["current_period_end"]) == (
        "2026-02-28",
        "2026-03-31",
    )


async def test_yearly_product_bills_on_the_anniversary(api: TenantClient) -> None:
    yearly = await new_product(api, name="Anuidade", amount=120000, interval="year")
    created = await new_contract(api, product=yearly)
    assert created["billing_day"] == 15
    assert (created["current_period_start"], created["current_period_end"]) == (
        "2026-01-15",
        "2027-01-15",
    )
    assert (await new_contract(api, product=yearly, billing_day=15))["billing_day"] == 15
    customer_id = await new_customer(api)
    response = await api.post(
        "/v1/contracts",
        {"customer_id": customer_id, "items": [{"product_id": yearly["id"]}], "billing_day": 1},
    )
    assert_invalid(response, "billing_day")


@pytest.mark.parametrize(
    ("interval", "count", "end"),
    [("week", 1, "2026-01-22"), ("week", 2, "2026-01-29"), ("day", 3, "2026-01-18")],
)
async def test_weekly_and_daily_periods(
    api: TenantClient, interval: str, count: int, end: str
) -> None:
    product = await new_product(api, interval=interval, interval_count=count)
    created = await new_contract(api, product=product)
    assert (created["current_period_start"], created["current_period_end"]) == ("2026-01-15", end)
    assert created["next_charge_date"] == "2026-01-15"


async def test_quarterly_contract(api: TenantClient) -> None:
    created = await new_contract(api, product=await new_product(api, interval_count=3))
    assert created["current_period_end"] == "2026-04-15"


async def test_start_date_up_to_a_year_back(api: TenantClient) -> None:
    created = await new_contract(api, start_date="2025-06-10")
    assert created["billing_day"] == 10
    assert (created["current_period_start"], created["current_period_end"]) == (
        "2026-01-10",
        "2026-02-10",
    )
    assert created["next_charge_date"] == "2025-06-10"  # the calendar catches up from there


# --- validation --------------------------------------------------------------------------------


async def assert_refused(api: TenantClient, body: dict[str, Any], field: str) -> None:
    assert_invalid(await api.post("/v1/contracts", body), field)


async def assert_nothing_written(api: TenantClient) -> None:
    assert await list_contracts(api) == []
    assert await contract_events(api) == []


async def test_mixed_schedules_and_currencies_are_refused(api: TenantClient) -> None:
    customer_id = await new_customer(api)
    monthly = await new_product(api)
    for other in (
        await new_product(api, interval="week"),
        await new_product(api, interval_count=2),
        await new_product(api, currency="USD"),
    ):
        items = [{"product_id": monthly["id"]}, {"product_id": other["id"]}]
        await assert_refused(
            api, {"customer_id": customer_id, "items": items}, "items.1.product_id"
        )
    await assert_nothing_written(api)


async def test_unusable_products_are_refused(api: TenantClient, other_api: TenantClient) -> None:
    customer_id = await new_customer(api)
    once = await new_product(api, interval="once")
    inactive = await new_product(api)
    await api.post(f"/v1/products/{inactive['id']}/deactivate")
    deleted = await new_product(api)
    await api.delete(f"/v1/products/{deleted['id']}")
    foreign = await new_product(other_api)
    good = await new_product(api)
    for bad_id in (once["id"], inactive["id"], deleted["id"], foreign["id"], "prd_nope"):
        body = {
            "customer_id": customer_id,
            "items": [{"product_id": good["id"]}, {"product_id": bad_id}],
        }
        response = await api.post("/v1/contracts", body)
        problem = assert_invalid(response, "items.1.product_id")
        assert bad_id in problem["detail"]
    await assert_nothing_written(api)


async def test_foreign_missing_and_inactive_customers_are_refused(
    api: TenantClient, other_api: TenantClient
) -> None:
    product = await new_product(api)
    items = [{"product_id": product["id"]}]
    foreign = await new_customer(other_api)
    inactive = await new_customer(api)
    await api.post(f"/v1/customers/{inactive}/deactivate")
    for customer_id in (foreign, "cus_00000000000000000000000000", inactive):
        await assert_refused(api, {"customer_id": customer_id, "items": items}, "customer_id")
    await assert_nothing_written(api)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"items": []}, "items"),
        ({"items": None}, "items"),
        ({"items": [{"quantity": 1}]}, "items.0.product_id"),
        ({"items": [{"product_id": "{product}", "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"product_id": "{product}", "quantity": "1"}]}, "items.0.quantity"),
        ({"items": [{"product_id": "{product}", "amount": -1}]}, "items.0.amount"),
        ({"items": [{"product_id": "{product}", "amount": 1.5}]}, "items.0.amount"),
        ({"items": [{"product_id": "{product}", "description": ""}]}, "items.0.description"),
        ({"items": [{"product_id": "{product}", "price": 1}]}, "items.0.price"),
        ({"billing_day": 0}, "billing_day"),
        ({"billing_day": 32}, "billing_day"),
        ({"billing_day": "5"}, "billing_day"),
        ({"trial_days": -1}, "trial_days"),
        ({"trial_days": 731}, "trial_days"),
        ({"start_date": "2026-1-15"}, "start_date"),
        ({"start_date": 1768435200}, "start_date"),
        ({"start_date": "2026-01-15T00:00:00Z"}, "start_date"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"start_date": "1999-12-31"}, "start_date"),
        ({"start_date": "2101-01-01"}, "start_date"),
        ({"start_date": "2025-01-13"}, "start_date"),  # more than a year back
        ({"payment_method": "cash"}, "payment_method"),
        ({"readjustment_index": "IGP"}, "readjustment_index"),
        ({"dunning_exempt": "yes"}, "dunning_exempt"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"status": "active"}, "status"),
        ({"customer_id": None}, "customer_id"),
        ({"customer_id": "c" * 65}, "customer_id"),
        ({"items": [{"product_id": "{product}", "quantity": 2, "amount": 10**15}]}, "items"),
    ],
)
async def test_invalid_create_is_422_naming_the_field(
    api: TenantClient, fields: dict[str, Any], field: str
) -> None:
    customer_id = await new_customer(api)
    product = await new_product(api)
    body: dict[str, Any] = {"customer_id": customer_id, "items": [{"product_id": product["id"]}]}
    body.update(copy.deepcopy(fields))  # the parameters are shared by both backends' runs
    for line in body["items"] or []:
        if line.get("product_id") == "{product}":
            line["product_id"] = product["id"]
    await assert_refused(api, body, field)
    await assert_nothing_written(api)
    assert (await new_contract(api))["number"] == 1  # no number was taken


async def test_unknown_contract_is_404(api: TenantClient) -> None:
    body = assert_problem(await api.get(f"/v1/contracts/{MISSING_CONTRACT}"), 404)
    assert MISSING_CONTRACT in body["detail"]
    assert_problem(await api.patch(f"/v1/contracts/{MISSING_CONTRACT}", {"metadata": {}}), 404)
    assert_problem(await api.delete(f"/v1/contracts/{MISSING_CONTRACT}"), 404)
    assert_problem(await api.post(f"/v1/contracts/{MISSING_CONTRACT}/cancel", {}), 404)
    assert_problem(
        await api.post(f"/v1/contracts/{MISSING_CONTRACT}/readjust", {"percent": 1}), 404
    )


# --- isolation, numbers, idempotency -----------------------------------------------------------


async def test_another_tenant_sees_nothing(api: TenantClient, other_api: TenantClient) -> None:
    mine = await new_contract(api)
    path = f"/v1/contracts/{mine['id']}"
    assert_problem(await other_api.get(path), 404)
    assert_problem(await other_api.patch(path, {"metadata": {"x": "y"}}), 404)
    assert_problem(await other_api.delete(path), 404)
    assert_problem(await other_api.post(f"{path}/cancel", {}), 404)
    assert_problem(await other_api.post(f"{path}/readjust", {"percent": "5"}), 404)
    assert await list_contracts(other_api) == []
    assert await list_contracts(other_api, customer_id=mine["customer_id"]) == []
    assert await read_contract(api, mine["id"]) == mine


async def test_numbers_are_per_tenant(api: TenantClient, other_api: TenantClient) -> None:
    assert (await new_contract(api))["number"] == 1
    assert (await new_contract(other_api))["number"] == 1
    assert (await new_contract(api))["number"] == 2


async def test_idempotent_create(api: TenantClient) -> None:
    customer_id = await new_customer(api)
    product = await new_product(api)
    body = {"customer_id": customer_id, "items": [{"product_id": product["id"]}]}
    headers = {"Idempotency-Key": "ctr-1"}
    first = await api.post("/v1/contracts", body, headers=headers)
    again = await api.post("/v1/contracts", body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = await api.post("/v1/contracts", {**body, "payment_method": "pix"}, headers=headers)
    assert_problem(other, 409)
    assert [c["id"] for c in await list_contracts(api)] == [first.json()["id"]]
    assert len(await contract_events(api)) == 1


# --- lists and events ---------------------------------------------------------------------------


async def test_list_filters_and_pages(api: TenantClient) -> None:
    ana = await new_customer(api, "Ana")
    bia = await new_customer(api, "Bia")
    plan = await new_product(api)
    first = await post_contract(api, ana, [plan])
    second = await post_contract(api, bia, [plan], trial_days=7)
    third = await post_contract(api, ana, [plan])
    ids = [c["id"] for c in (first, second, third)]
    assert [c["id"] for c in await list_contracts(api)] == ids
    assert [c["id"] for c in await list_contracts(api, customer_id=ana)] == [ids[0], ids[2]]
    assert [c["id"] for c in await list_contracts(api, status="trialing")] == [ids[1]]
    assert await list_contracts(api, status="cancelled") == []
    assert await list_contracts(api) == [await read_contract(api, i) for i in ids]
    page = (await api.get("/v1/contracts", params={"limit": 2})).json()
    assert ([c["id"] for c in page["data"]], page["has_more"]) == (ids[:2], True)
    rest = (await api.get("/v1/contracts", params={"starting_after": ids[1]})).json()
    assert ([c["id"] for c in rest["data"]], rest["has_more"]) == (ids[2:], False)
    assert_invalid(await api.get("/v1/contracts", params={"status": "late"}), "status")


async def test_created_event_carries_the_contract(api: TenantClient) -> None:
    created = await new_contract(api)
    (event,) = await contract_events(api)
    assert event["type"] == "contract.created"
    assert event["data"] == created
    assert event["previous"] is None
    by_customer = await api.get("/v1/events", params={"customer_id": created["customer_id"]})
    assert event["id"] in [e["id"] for e in by_customer.json()["data"]]


async def test_concurrent_creates_get_numbers_1_to_n(api: TenantClient) -> None:
    customer_id = await new_customer(api)
    product = await new_product(api)
    body = {"customer_id": customer_id, "items": [{"product_id": product["id"]}]}
    responses = await asyncio.gather(*(api.post("/v1/contracts", body) for _ in range(10)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert sorted(r.json()["number"] for r in responses) == list(range(1, 11))
