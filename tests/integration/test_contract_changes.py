"""Changing contracts over HTTP: PATCH with proration, readjustment by percent and by index,
cancellation, deletion, and products held by live contracts, on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assina.contracts.models import Contract
from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.assertions import assert_invalid, assert_problem, iso
from tests.conftest import TenantClient
from tests.integration.contract_support import (
    contract_events,
    insert_charge,
    item,
    list_contracts,
    new_contract,
    new_customer,
    new_product,
    post_contract,
    read_contract,
    set_billed,
    stored,
)


async def patch(api: TenantClient, contract_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.patch(f"/v1/contracts/{contract_id}", body)
    assert response.status_code == 200, response.text
    patched: dict[str, Any] = response.json()
    return patched


async def action(
    api: TenantClient, contract_id: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await api.post(f"/v1/contracts/{contract_id}/{name}", body)
    assert response.status_code == 200, response.text
    answered: dict[str, Any] = response.json()
    return answered


async def april_contract(
    api: TenantClient, database: Database, clock: FrozenClock, billed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A contract of 10000 from April 1 (a 30-day period), `billed` periods charged, seen on
    April 11 (day 11 of its first period)."""
    clock.set(datetime(2026, 4, 1, 12, tzinfo=UTC))
    product = await new_product(api)
    contract = await new_contract(api, product=product)
    assert (contract["current_period_start"], contract["current_period_end"]) == (
        "2026-04-01",
        "2026-05-01",
    )
    await set_billed(database, contract["id"], billed)
    clock.advance(timedelta(days=10))
    return contract, product


# --- PATCH and proration -----------------------------------------------------------------------


async def test_raising_items_mid_period_adds_the_prorated_difference(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    contract, product = await april_contract(api, database, clock, billed=1)
    changed = await patch(
        api, contract["id"], {"items": [{"product_id": product["id"], "amount": 13000}]}
    )
    assert changed["amount"] == 13000
    assert changed["items"] == [item(product, amount=13000)]
    # 3000 more for the 20 days left (Apr 11 → May 1) of 30: 3000 * 20 / 30.
    assert (await stored(database, contract["id"])).pending_adjustment == 2000
    # Shown on the contract, and in the event's `previous` (0 before).
    assert changed["pending_proration_amount"] == 2000
    event = (await contract_events(api))[-1]
    assert event["previous"]["pending_proration_amount"] == 0
    # Back down the same day: the credit cancels the debit.
    await patch(api, contract["id"], {"items": [{"product_id": product["id"], "amount": 10000}]})
    assert (await stored(database, contract["id"])).pending_adjustment == 0


async def test_lowering_items_mid_period_credits(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    contract, product = await april_contract(api, database, clock, billed=1)
    changed = await patch(
        api, contract["id"], {"items": [{"product_id": product["id"], "amount": 7000}]}
    )
    assert (await stored(database, contract["id"])).pending_adjustment == -2000
    assert changed["pending_proration_amount"] == -2000


async def test_the_contract_shows_what_the_next_charge_will_carry(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """A credit larger than the next charge: the charge takes it only up to its own amount
    (the rest waits); a cancelled contract has no next charge, so nothing is shown."""
    contract, product = await april_contract(api, database, clock, billed=2)
    changed = await patch(
        api, contract["id"], {"items": [{"product_id": product["id"], "amount": 1000}]}
    )
    # -9000 * 20 / 30 for April, -9000 for May charged ahead: -15000; the next charge is 1000.
    assert (await stored(database, contract["id"])).pending_adjustment == -15000
    assert changed["pending_proration_amount"] == -1000
    cancelled = await action(api, contract["id"], "cancel", {})
    assert cancelled["pending_proration_amount"] == 0


async def test_a_period_charged_ahead_adjusts_by_the_whole_difference(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    contract, product = await april_contract(api, database, clock, billed=2)
    await patch(api, contract["id"], {"items": [{"product_id": product["id"], "amount": 13000}]})
    assert (await stored(database, contract["id"])).pending_adjustment == 2000 + 3000


async def test_a_period_not_yet_charged_needs_no_adjustment(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    contract, product = await april_contract(api, database, clock, billed=0)
    await patch(api, contract["id"], {"items": [{"product_id": product["id"], "amount": 13000}]})
    row = await stored(database, contract["id"])
    assert (row.pending_adjustment, row.amount) == (0, 13000)


async def test_a_pending_stub_is_prorated_again(api: TenantClient, database: Database) -> None:
    product = await new_product(api)
    contract = await new_contract(api, product=product, billing_day=20)
    assert (await stored(database, contract["id"])).stub_amount == 1613
    await patch(api, contract["id"], {"items": [{"product_id": product["id"], "quantity": 2}]})
    row = await stored(database, contract["id"])
    # 20000 * 5 / 31 = 3225.8
    assert (row.stub_amount, row.pending_adjustment) == (3226, 0)


async def test_a_charged_stub_is_adjusted_by_its_share(
    api: TenantClient, database: Database
) -> None:
    product = await new_product(api)
    contract = await new_contract(api, product=product, billing_day=20)
    await set_billed(database, contract["id"], next_period=0, stub_amount=0)
    assert (await read_contract(api, contract["id"]))["next_charge_date"] == "2026-01-20"
    await patch(api, contract["id"], {"items": [{"product_id": product["id"], "amount": 13100}]})
    # The whole stub is still to come: 3100 * 5 / 31 (the stub's share of Dec 20 → Jan 20).
    assert (await stored(database, contract["id"])).pending_adjustment == 500


async def test_items_keep_their_terms_unless_sent(api: TenantClient) -> None:
    customer_id = await new_customer(api)
    plan = await new_product(api, name="Plano")
    extra = await new_product(api, name="Extra", amount=2500)
    contract = await post_contract(api, customer_id, [plan])
    await patch(
        api,
        contract["id"],
        {"items": [{"product_id": plan["id"], "amount": 8000, "description": "Plano antigo"}]},
    )
    # The product changes price and is deactivated; the contract keeps its own terms.
    await api.patch(f"/v1/products/{plan['id']}", {"amount": 99999})
    await api.post(f"/v1/products/{plan['id']}/deactivate")
    changed = await patch(
        api,
        contract["id"],
        {"items": [{"product_id": plan["id"], "quantity": 2}, {"product_id": extra["id"]}]},
    )
    assert changed["items"] == [
        {**item(plan, quantity=2, amount=8000), "description": "Plano antigo"},
        item(extra),
    ]
    assert changed["amount"] == 2 * 8000 + 2500


async def test_new_items_must_fit_the_contract(api: TenantClient) -> None:
    product = await new_product(api)
    contract = await new_contract(api, product=product)
    for other in (
        await new_product(api, interval="year"),
        await new_product(api, currency="EUR"),
        await new_product(api, interval="once"),
    ):
        items = [{"product_id": product["id"]}, {"product_id": other["id"]}]
        response = await api.patch(f"/v1/contracts/{contract['id']}", {"items": items})
        assert_invalid(response, "items.1.product_id")
    assert await read_contract(api, contract["id"]) == contract


async def test_billing_day_cannot_change(api: TenantClient) -> None:
    contract = await new_contract(api)
    refused = await api.patch(f"/v1/contracts/{contract['id']}", {"billing_day": 5})
    assert_problem(refused, 409, "billing-day-fixed")
    assert await patch(api, contract["id"], {"billing_day": 15}) == contract


async def test_patch_raises_updated_with_previous(api: TenantClient, clock: FrozenClock) -> None:
    contract = await new_contract(api)
    clock.advance(timedelta(minutes=5))
    changed = await patch(
        api, contract["id"], {"payment_method": "pix", "metadata": {"turma": "B"}}
    )
    assert changed == {
        **contract,
        "payment_method": "pix",
        "metadata": {"turma": "B"},
        "updated_at": iso(clock.now()),
    }
    event = (await contract_events(api))[-1]
    assert event["type"] == "contract.updated"
    assert event["data"] == changed
    assert event["previous"] == {"payment_method": "boleto", "metadata": {}}


async def test_patch_of_hidden_terms_is_an_update(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    contract = await new_contract(api)
    await set_billed(database, contract["id"], 1)
    async with database.write() as session:  # as the calendar leaves it: next step later
        row = await session.get(Contract, contract["id"])
        assert row is not None
        row.next_step_on = row.anchor_date + timedelta(days=20)
    clock.advance(timedelta(minutes=1))
    await patch(api, contract["id"], {"dunning_exempt": True, "readjustment_index": "IGPM"})
    event = (await contract_events(api))[-1]
    assert event["previous"] == {"dunning_exempt": False, "readjustment_index": None}
    row = await stored(database, contract["id"])
    assert (row.dunning_exempt, row.readjustment_index) == (True, "IGPM")
    assert str(row.next_step_on) == "2026-01-15"  # the calendar looks again
    await patch(api, contract["id"], {"readjustment_index": None})
    assert (await stored(database, contract["id"])).readjustment_index is None


async def test_patch_that_changes_nothing_raises_no_event(
    api: TenantClient, clock: FrozenClock
) -> None:
    product = await new_product(api)
    contract = await new_contract(api, product=product)
    clock.advance(timedelta(hours=1))
    same = {
        "items": [{"product_id": product["id"], "quantity": 1}],
        "payment_method": "boleto",
        "metadata": {},
        "dunning_exempt": False,
        "readjustment_index": None,
    }
    assert await patch(api, contract["id"], same) == contract
    assert await patch(api, contract["id"], {}) == contract
    assert len(await contract_events(api)) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"items": None}, "items"),
        ({"items": []}, "items"),
        ({"items": [{"product_id": "prd_x", "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"product_id": "prd_x"}]}, "items.0.product_id"),
        ({"payment_method": None}, "payment_method"),
        ({"payment_method": "cash"}, "payment_method"),
        ({"metadata": None}, "metadata"),
        ({"dunning_exempt": None}, "dunning_exempt"),
        ({"billing_day": None}, "billing_day"),
        ({"readjustment_index": "INPC"}, "readjustment_index"),
        ({"status": "active"}, "status"),
        ({"trial_days": 3}, "trial_days"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    api: TenantClient, payload: dict[str, Any], field: str
) -> None:
    contract = await new_contract(api)
    assert_invalid(await api.patch(f"/v1/contracts/{contract['id']}", payload), field)
    assert await read_contract(api, contract["id"]) == contract
    assert len(await contract_events(api)) == 1


# --- cancellation ------------------------------------------------------------------------------


async def test_cancel_at_once(api: TenantClient, clock: FrozenClock) -> None:
    contract = await new_contract(api)
    clock.advance(timedelta(hours=3))
    cancelled = await action(api, contract["id"], "cancel", {"reason": "mudou de cidade"})
    assert cancelled == {
        **contract,
        "status": "cancelled",
        "cancelled_at": iso(clock.now()),
        "cancel_reason": "mudou de cidade",
        "status_reason": "requested",
        "current_period_start": None,
        "current_period_end": None,
        "next_charge_date": None,
        "updated_at": iso(clock.now()),
    }
    assert await read_contract(api, contract["id"]) == cancelled
    event = (await contract_events(api))[-1]
    assert (event["type"], event["data"]) == ("contract.cancelled", cancelled)
    assert event["previous"] == {
        "status": "active",
        "cancelled_at": None,
        "cancel_reason": None,
        "status_reason": None,
        "current_period_start": "2026-01-15",
        "current_period_end": "2026-02-15",
        "next_charge_date": "2026-01-15",
    }
    assert [c["id"] for c in await list_contracts(api, status="cancelled")] == [contract["id"]]


async def test_a_cancelled_contract_is_final(api: TenantClient) -> None:
    contract = await new_contract(api)
    cancelled = await action(api, contract["id"], "cancel", {})
    assert cancelled["cancel_reason"] is None
    path = f"/v1/contracts/{contract['id']}"
    assert_problem(await api.patch(path, {"metadata": {"a": "b"}}), 409)
    assert_problem(await api.post(f"{path}/cancel", {}), 409)
    assert_problem(await api.post(f"{path}/cancel", {"at_period_end": True}), 409)
    assert_problem(await api.post(f"{path}/readjust", {"percent": 5}), 409)
    assert_problem(await api.delete(path), 409)
    assert await read_contract(api, contract["id"]) == cancelled
    assert len(await contract_events(api)) == 2


async def test_cancel_at_period_end(api: TenantClient, database: Database) -> None:
    contract = await new_contract(api)
    await set_billed(database, contract["id"], 1)  # Jan 15 → Feb 15 is paid for
    assert (await read_contract(api, contract["id"]))["next_charge_date"] == "2026-02-15"
    pending = await action(api, contract["id"], "cancel", {"at_period_end": True, "reason": "caro"})
    assert pending["status"] == "active"
    assert pending["cancel_reason"] == "caro"
    assert pending["current_period_end"] == "2026-02-15"
    assert pending["next_charge_date"] is None  # nothing more will be charged
    assert (await stored(database, contract["id"])).cancel_at_period_end is True
    event = (await contract_events(api))[-1]
    assert event["type"] == "contract.updated"
    assert pending["cancel_at"] == "2026-02-15"
    assert event["previous"] == {
        "cancel_reason": None,
        "next_charge_date": "2026-02-15",
        "cancel_at_period_end": False,
        "cancel_at": None,
    }
    path = f"/v1/contracts/{contract['id']}/cancel"
    assert_problem(await api.post(path, {"at_period_end": True}), 409)
    # At once after all: the reason given before is kept when no other is sent.
    cancelled = await action(api, contract["id"], "cancel", {})
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "caro")


async def test_a_trial_cancelled_at_period_end_is_never_charged(api: TenantClient) -> None:
    contract = await new_contract(api, trial_days=14)
    pending = await action(api, contract["id"], "cancel", {"at_period_end": True})
    assert (pending["status"], pending["next_charge_date"]) == ("trialing", None)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (None, "body"),
        ([], "body"),
        ({"at_period_end": "yes"}, "at_period_end"),
        ({"at_period_end": None}, "at_period_end"),
        ({"reason": ""}, "reason"),
        ({"reason": "r" * 501}, "reason"),
        ({"when": "now"}, "when"),
    ],
)
async def test_invalid_cancel_is_422(api: TenantClient, payload: Any, field: str) -> None:
    contract = await new_contract(api)
    assert_invalid(await api.post(f"/v1/contracts/{contract['id']}/cancel", payload), field)
    assert await read_contract(api, contract["id"]) == contract


async def test_idempotent_cancel(api: TenantClient) -> None:
    contract = await new_contract(api)
    path = f"/v1/contracts/{contract['id']}/cancel"
    headers = {"Idempotency-Key": "cancel-1"}
    first = await api.post(path, {"reason": "x"}, headers=headers)
    again = await api.post(path, {"reason": "x"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(await contract_events(api)) == 2


# --- deletion ----------------------------------------------------------------------------------


async def test_delete_before_any_charge(api: TenantClient, clock: FrozenClock) -> None:
    kept = await new_contract(api)
    gone = await new_contract(api)
    clock.advance(timedelta(minutes=1))
    response = await api.delete(f"/v1/contracts/{gone['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == {**gone, "updated_at": iso(clock.now())}
    assert_problem(await api.get(f"/v1/contracts/{gone['id']}"), 404)
    assert_problem(await api.delete(f"/v1/contracts/{gone['id']}"), 404)
    assert [c["id"] for c in await list_contracts(api)] == [kept["id"]]
    event = (await contract_events(api))[-1]
    assert (event["type"], event["data"]) == ("contract.deleted", response.json())


async def test_delete_is_refused_once_a_charge_exists(
    api: TenantClient, database: Database
) -> None:
    contract = await new_contract(api)
    await insert_charge(database, contract, api.tenant.tenant_id)
    problem = assert_problem(await api.delete(f"/v1/contracts/{contract['id']}"), 409)
    assert "cancel" in problem["detail"]
    assert await read_contract(api, contract["id"]) == contract


# --- products held by contracts ----------------------------------------------------------------


async def test_a_product_in_a_live_contract_cannot_be_deleted(api: TenantClient) -> None:
    product = await new_product(api)
    contract = await new_contract(api, product=product)
    deleted_with = await new_contract(api, product=await new_product(api, name="Outro"))
    assert_problem(await api.delete(f"/v1/products/{product['id']}"), 409)
    await action(api, contract["id"], "cancel", {})
    assert (await api.delete(f"/v1/products/{product['id']}")).status_code == 200
    other = deleted_with["items"][0]["product_id"]
    assert (await api.delete(f"/v1/contracts/{deleted_with['id']}")).status_code == 200
    assert (await api.delete(f"/v1/products/{other}")).status_code == 200


async def test_deleting_a_product_races_no_contract_into_using_it(api: TenantClient) -> None:
    customer_id = await new_customer(api)
    for _ in range(5):
        product = await new_product(api)
        body = {"customer_id": customer_id, "items": [{"product_id": product["id"]}]}
        created, deleted = await asyncio.gather(
            api.post("/v1/contracts", body), api.delete(f"/v1/products/{product['id']}")
        )
        # Exactly one wins: the contract (the DELETE sees it: 409), or the DELETE (the contract
        # finds no product: 422).
        assert sorted([created.status_code, deleted.status_code]) in ([200, 422], [201, 409])


# --- readjustment ------------------------------------------------------------------------------


async def test_readjust_by_percent(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id = await new_customer(api)
    plan = await new_product(api, name="Plano", amount=10000)
    extra = await new_product(api, name="Extra", amount=4990)
    contract = await post_contract(api, customer_id, [plan, plan, extra])
    clock.advance(timedelta(minutes=2))
    readjusted = await action(api, contract["id"], "readjust", {"percent": "4.5"})
    # Each unit amount, half-even to the centavo, then the sum: 4990 * 1.045 = 5214.55.
    assert readjusted["items"] == [
        item(plan, amount=10450),
        item(plan, amount=10450),
        item(extra, amount=5215),
    ]
    assert readjusted["amount"] == 10450 + 10450 + 5215
    assert readjusted["updated_at"] == iso(clock.now())
    assert str((await stored(database, contract["id"])).last_readjusted_on) == "2026-01-15"
    event = (await contract_events(api))[-1]
    # The event's data is the contract as answered, plus what was applied.
    applied = {"percent": "4.5000", "index": None, "reference_month": None}
    assert (event["type"], event["data"]) == (
        "contract.readjusted",
        {**readjusted, "readjustment": applied},
    )
    assert event["previous"] == {"items": contract["items"], "amount": 24990}


async def test_the_catalog_and_openapi_describe_the_new_fields(api: TenantClient) -> None:
    """What contract.readjusted carries is in the catalog's schema of its data, exactly; the
    contract's pending_proration_amount and trial_end are described in both documents."""
    contract = await new_contract(api)
    await action(api, contract["id"], "readjust", {"percent": "4.5"})
    event = (await contract_events(api))[-1]
    kinds = (await api.get("/v1/event-types")).json()["data"]
    schemas = {kind["name"]: kind["schema"] for kind in kinds}
    readjusted = schemas["contract.readjusted"]
    assert set(event["data"]) == set(readjusted["properties"])
    assert set(readjusted["required"]) == set(event["data"])
    shape = readjusted["$defs"]["ReadjustmentOut"]
    assert set(shape["properties"]) == {"percent", "index", "reference_month"}
    assert "pending_proration_amount" in schemas["contract.created"]["properties"]
    assert "readjustment" not in schemas["contract.updated"]["properties"]
    openapi = (await api.http.get("/openapi.json")).json()
    shown = openapi["components"]["schemas"]["ContractOut"]["properties"]
    assert shown["pending_proration_amount"]["type"] == "integer"
    assert "first paid day" in shown["trial_end"]["description"]


async def test_readjust_down_and_by_a_json_number(api: TenantClient) -> None:
    contract = await new_contract(api)
    assert (await action(api, contract["id"], "readjust", {"percent": -10}))["amount"] == 9000
    assert (await action(api, contract["id"], "readjust", {"percent": 0.5}))["amount"] == 9045


async def test_readjust_reprorates_a_pending_stub(api: TenantClient, database: Database) -> None:
    contract = await new_contract(api, billing_day=20)
    await action(api, contract["id"], "readjust", {"percent": "10"})
    # 11000 * 5 / 31 = 1774.19
    assert (await stored(database, contract["id"])).stub_amount == 1774


async def record_ipca(api: TenantClient, months: list[str], percent: str = "0.5") -> None:
    for month in months:
        response = await api.http.put(
            f"/v1/price-indexes/IPCA/values/{month}", json={"percent": percent}, headers=api.headers
        )
        assert response.status_code == 200, response.text


YEAR_2025 = [f"2025-{m:02d}" for m in range(1, 13)]


async def test_readjust_by_index(api: TenantClient) -> None:
    await record_ipca(api, YEAR_2025)
    contract = await new_contract(api)
    body = {"index": "IPCA", "reference_month": "2025-12"}
    readjusted = await action(api, contract["id"], "readjust", body)
    # 1.005 ** 12 = 1.0616778…: 6.1678 %, and 10000 * 1.061678 = 10616.78.
    assert readjusted["amount"] == 10617
    event = (await contract_events(api))[-1]
    assert event["type"] == "contract.readjusted"
    assert event["data"]["readjustment"] == {
        "percent": "6.1678",
        "index": "IPCA",
        "reference_month": "2025-12",
    }
    shown = {name: value for name, value in event["data"].items() if name != "readjustment"}
    assert shown == readjusted


async def test_readjust_by_index_names_the_missing_months(api: TenantClient) -> None:
    await record_ipca(api, [m for m in YEAR_2025 if m not in ("2025-03", "2025-07")])
    contract = await new_contract(api)
    body = {"index": "IPCA", "reference_month": "2025-12"}
    response = await api.post(f"/v1/contracts/{contract['id']}/readjust", body)
    problem = assert_invalid(response, "reference_month")
    assert "2025-03, 2025-07" in problem["detail"]
    other = {"index": "IGPM", "reference_month": "2025-12"}  # nothing recorded for IGP-M
    assert_invalid(
        await api.post(f"/v1/contracts/{contract['id']}/readjust", other), "reference_month"
    )
    assert await read_contract(api, contract["id"]) == contract
    assert len(await contract_events(api)) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "percent"),
        ({"percent": None}, "percent"),
        ({"percent": 5, "index": "IPCA", "reference_month": "2025-12"}, "percent"),
        ({"percent": 5, "reference_month": "2025-12"}, "percent"),
        ({"index": "IPCA"}, "reference_month"),
        ({"reference_month": "2025-12"}, "index"),
        ({"index": "INPC", "reference_month": "2025-12"}, "index"),
        ({"index": "IPCA", "reference_month": "2025-13"}, "reference_month"),
        ({"index": "IPCA", "reference_month": "2025-1"}, "reference_month"),
        ({"percent": -100}, "percent"),
        ({"percent": "1000.0001"}, "percent"),
        ({"percent": "0.00001"}, "percent"),
        ({"percent": "1e2"}, "percent"),
        ({"percent": "abc"}, "percent"),
        ({"percent": True}, "percent"),
        ({"percent": "\u0661"}, "percent"),
        ({"percent": 5, "extra": 1}, "extra"),
    ],
)
async def test_invalid_readjust_is_422_and_changes_nothing(
    api: TenantClient, payload: dict[str, Any], field: str
) -> None:
    contract = await new_contract(api)
    response = await api.post(f"/v1/contracts/{contract['id']}/readjust", payload)
    assert_invalid(response, field)
    assert await read_contract(api, contract["id"]) == contract
    assert len(await contract_events(api)) == 1


async def test_readjust_past_the_largest_amount_is_422(api: TenantClient) -> None:
    contract = await new_contract(api, product=await new_product(api, amount=10**15))
    response = await api.post(f"/v1/contracts/{contract['id']}/readjust", {"percent": 1})
    assert_invalid(response, "percent")
    assert await read_contract(api, contract["id"]) == contract
