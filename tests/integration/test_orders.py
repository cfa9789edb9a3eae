"""Orders (issue 16 B): a pending order and its charge, paid by the charge's settlement in the
same transaction with contracts whose first period it paid, fulfilled, cancelled (its charge
invalidated), expired by the calendar and by a sandbox test clock; every forbidden move 409;
bad input 422 writing nothing; another tenant's order 404. On both databases."""

from __future__ import annotations

from datetime import date, timedelta

from assina.calendar.run import run_calendar
from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.charge_support import new_customer, new_product
from tests.integration.fuzz_support import database_state, event_log
from tests.integration.order_support import (
    catalog,
    contract_charges,
    order_moves,
    place_order,
    read,
)
from tests.integration.payment_support import save_card

TODAY = date(2026, 1, 15)  # tests/conftest.py START in America/Sao_Paulo


async def test_an_order_is_pending_with_one_charge_for_its_one_off_items_and_first_periods(
    api: TenantClient,
) -> None:
    products = await catalog(api)
    ana = await new_customer(api)

    order = await place_order(
        api, ana, products["month"], products["once"], payment_method="pix", metadata={"a": "b"}
    )

    assert order["id"].startswith("ord_") and order["number"] == 1
    assert (order["status"], order["amount"], order["contract_ids"]) == ("pending", 60_000, [])
    assert order["expires_on"] == str(TODAY + timedelta(days=7))
    assert [item["interval"] for item in order["items"]] == ["month", "once"]
    charge = await read(api, f"/v1/charges/{order['charge_id']}")
    assert (charge["order_id"], charge["status"], charge["amount"]) == (order["id"], "open", 60_000)
    assert (charge["due_date"], charge["payment_method"], charge["contract_id"]) == (
        str(TODAY),
        "pix",
        None,
    )
    assert [line["description"] for line in charge["items"]] == ["Mensalidade", "Matrícula"]
    types = [event["type"] for event in await event_log(api)]
    assert types[-2:] == ["charge.created", "order.status_changed"]
    assert await order_moves(api, order["id"]) == [(None, "pending")]
    second = await place_order(api, ana, products["once"], due_date="2026-02-01")
    assert second["number"] == 2
    assert (await read(api, f"/v1/charges/{second['charge_id']}"))["due_date"] == "2026-02-01"


async def test_settling_the_charge_pays_the_order_and_starts_one_contract_per_interval(
    api: TenantClient,
) -> None:
    products = await catalog(api)
    ana = await new_customer(api)
    order = await place_order(
        api, ana, products["month"], products["year"], products["once"], payment_method="pix"
    )

    settled = await api.post(f"/v1/charges/{order['charge_id']}/settle", {})
    assert settled.status_code == 200, settled.text

    paid = await read(api, f"/v1/orders/{order['id']}")
    assert paid["status"] == "paid" and paid["paid_at"] is not None
    assert len(paid["contract_ids"]) == 2
    contracts = [await read(api, f"/v1/contracts/{c}") for c in paid["contract_ids"]]
    by_interval = {
        (c["items"][0]["product_id"], c["amount"]): c for c in contracts if len(c["items"]) == 1
    }
    monthly = by_interval[(products["month"], 45_000)]
    yearly = by_interval[(products["year"], 120_000)]
    for contract in (monthly, yearly):
        assert (contract["status"], contract["start_date"], contract["trial_end"]) == (
            "active",
            str(TODAY),
            None,
        )
        assert (contract["payment_method"], contract["metadata"]) == (
            "pix",
            {"order_id": order["id"]},
        )
        assert contract["current_period_start"] == str(TODAY)
    # The order's charge paid the first period: the next charge is the second one's.
    assert monthly["next_charge_date"] == "2026-02-15"
    assert yearly["next_charge_date"] == "2027-01-15"
    events = [(e["type"], e["data"].get("to")) for e in await event_log(api)]
    assert events[-4:] == [
        ("charge.settled", None),
        ("contract.created", None),
        ("contract.created", None),
        ("order.status_changed", "paid"),
    ]


async def test_a_sandbox_contract_started_by_an_order_is_never_charged_its_first_period(
    sandbox: TenantClient,
) -> None:
    monthly = await new_product(sandbox, name="Mensalidade", amount=45_000)
    ana = await new_customer(sandbox)
    order = await place_order(sandbox, ana, monthly["id"], payment_method="pix")
    await sandbox.post(f"/v1/charges/{order['charge_id']}/settle", {})
    [contract_id] = (await read(sandbox, f"/v1/orders/{order['id']}"))["contract_ids"]

    advanced = await sandbox.post("/v1/test-clock/advance", {"days": 40})
    assert advanced.status_code == 200, advanced.text

    charges = await contract_charges(sandbox, contract_id)
    assert [(c["period_start"], c["due_date"]) for c in charges] == [("2026-02-15", "2026-02-15")]
    assert (await read(sandbox, f"/v1/orders/{order['id']}"))["status"] == "paid"


async def test_a_paid_order_is_fulfilled_and_every_forbidden_move_is_a_409(
    api: TenantClient, database: Database
) -> None:
    products = await catalog(api)
    ana = await new_customer(api)
    order = await place_order(api, ana, products["once"])
    path = f"/v1/orders/{order['id']}"

    refused = await api.post(f"{path}/fulfill")
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("invalid-transition")
    await api.post(f"/v1/charges/{order['charge_id']}/settle", {})
    paid = await read(api, path)
    assert (paid["status"], paid["contract_ids"]) == ("paid", [])  # one-off items only
    assert (await api.post(f"{path}/cancel")).status_code == 409  # paid: not cancelled
    fulfilled = await api.post(f"{path}/fulfill")
    assert fulfilled.status_code == 200, fulfilled.text
    assert fulfilled.json()["status"] == "fulfilled" and fulfilled.json()["fulfilled_at"]
    before = await database_state(database)
    for move in ("fulfill", "cancel"):
        assert (await api.post(f"{path}/{move}")).status_code == 409
    assert await database_state(database) == before
    assert await order_moves(api, order["id"]) == [
        (None, "pending"),
        ("pending", "paid"),
        ("paid", "fulfilled"),
    ]


async def test_cancelling_a_pending_order_invalidates_its_charge(api: TenantClient) -> None:
    products = await catalog(api)
    ana = await new_customer(api)
    order = await place_order(api, ana, products["month"])

    cancelled = await api.post(f"/v1/orders/{order['id']}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"]
    charge = await read(api, f"/v1/charges/{order['charge_id']}")
    assert charge["status"] == "invalidated"
    types = [event["type"] for event in await event_log(api)]
    assert types[-2:] == ["charge.invalidated", "order.status_changed"]
    for move in ("cancel", "fulfill"):
        assert (await api.post(f"/v1/orders/{order['id']}/{move}")).status_code == 409
    # A cancelled order's charge settled after all (reactivated by hand) leaves it cancelled.
    assert (await api.post(f"/v1/charges/{order['charge_id']}/reactivate")).status_code == 200
    assert (await api.post(f"/v1/charges/{order['charge_id']}/settle", {})).status_code == 200
    assert (await read(api, f"/v1/orders/{order['id']}"))["status"] == "cancelled"


async def test_a_paid_order_stays_paid_when_its_charge_is_reversed(api: TenantClient) -> None:
    products = await catalog(api)
    order = await place_order(api, await new_customer(api), products["month"])
    await api.post(f"/v1/charges/{order['charge_id']}/settle", {})

    reversed_ = await api.post(f"/v1/charges/{order['charge_id']}/reverse")

    assert reversed_.status_code == 200, reversed_.text
    assert (await read(api, f"/v1/orders/{order['id']}"))["status"] == "paid"


async def test_the_calendar_expires_pending_orders_once_their_day_comes(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    products = await catalog(api)
    ana = await new_customer(api)
    settings = await api.http.put(
        "/v1/billing-settings", json={"order_expiry_days": 2}, headers=api.headers
    )
    assert settings.status_code == 200, settings.text
    order = await place_order(api, ana, products["month"])
    paid = await place_order(api, ana, products["once"])
    await api.post(f"/v1/charges/{paid['charge_id']}/settle", {})
    assert order["expires_on"] == "2026-01-17"

    before = await run_calendar(database, clock, day=TODAY + timedelta(days=1))
    assert before.orders_expired == 0
    assert (await read(api, f"/v1/orders/{order['id']}"))["status"] == "pending"
    # A pass for a later day catches up on the day missed.
    report = await run_calendar(database, clock, day=TODAY + timedelta(days=3))
    again = await run_calendar(database, clock, day=TODAY + timedelta(days=3))

    assert (report.orders_expired, again.orders_expired) == (1, 0)
    expired = await read(api, f"/v1/orders/{order['id']}")
    assert expired["status"] == "expired" and expired["expired_at"]
    assert (await read(api, f"/v1/charges/{order['charge_id']}"))["status"] == "invalidated"
    assert (await read(api, f"/v1/orders/{paid['id']}"))["status"] == "paid"
    assert await order_moves(api, order["id"]) == [(None, "pending"), ("pending", "expired")]


async def test_a_sandbox_test_clock_advance_expires_pending_orders(sandbox: TenantClient) -> None:
    once = await new_product(sandbox, name="Matrícula", amount=15_000, interval="once")
    order = await place_order(sandbox, await new_customer(sandbox), once["id"])

    six = await sandbox.post("/v1/test-clock/advance", {"days": 6})
    assert six.json()["orders_expired"] == 0
    seventh = await sandbox.post("/v1/test-clock/advance", {"days": 1})

    assert seventh.status_code == 200, seventh.text
    assert seventh.json()["orders_expired"] == 1
    assert (await read(sandbox, f"/v1/orders/{order['id']}"))["status"] == "expired"
    assert (await read(sandbox, f"/v1/charges/{order['charge_id']}"))["status"] == "invalidated"


async def test_bad_orders_are_refused_naming_the_field_and_write_nothing(
    api: TenantClient, other_api: TenantClient, database: Database
) -> None:
    products = await catalog(api)
    ana = await new_customer(api)
    gone = await new_customer(api, "Bia")
    assert (await api.post(f"/v1/customers/{gone}/deactivate")).status_code == 200
    retired = await new_product(api, name="Antigo", amount=100, interval="once")
    assert (await api.post(f"/v1/products/{retired['id']}/deactivate")).status_code == 200
    dollars = await new_product(api, name="Dólar", amount=100, interval="once", currency="USD")
    free = await new_product(api, name="Grátis", amount=0, interval="once")
    foreign = await new_product(other_api, name="Aula", amount=100)
    item = [{"product_id": products["once"]}]
    cases = {
        "customer_id": {"customer_id": "cus_missing", "items": item},
        "customer_id ": {"customer_id": gone, "items": item},
        "items": {"customer_id": ana, "items": []},
        "items.0.product_id": {"customer_id": ana, "items": [{"product_id": retired["id"]}]},
        "items.0.product_id ": {"customer_id": ana, "items": [{"product_id": foreign["id"]}]},
        "items.1.product_id": {
            "customer_id": ana,
            "items": [{"product_id": products["once"]}, {"product_id": dollars["id"]}],
        },
        "items ": {"customer_id": ana, "items": [{"product_id": free["id"]}]},
        "card_id": {
            "customer_id": ana,
            "items": item,
            "card_id": "card_missing",
            "payment_method": "card",
        },
    }
    before = await database_state(database)
    for field, body in cases.items():
        refused = await api.post("/v1/orders", body)
        assert refused.status_code == 422, (field, refused.text)
        fields = [error["field"] for error in refused.json()["errors"]]
        assert any(f.endswith(field.strip()) for f in fields), (field, fields)
    assert await database_state(database) == before


async def test_a_card_of_another_customer_is_refused(sandbox: TenantClient) -> None:
    once = await new_product(sandbox, name="Matrícula", amount=15_000, interval="once")
    ana = await new_customer(sandbox)
    bia = await new_customer(sandbox, "Bia")
    bias_card = await save_card(sandbox, bia, "4111111111111111")
    body = {"customer_id": ana, "items": [{"product_id": once["id"]}], "card_id": bias_card}

    not_hers = await sandbox.post("/v1/orders", {**body, "payment_method": "card"})
    not_card = await sandbox.post("/v1/orders", {**body, "customer_id": bia})
    hers = await sandbox.post("/v1/orders", {**body, "customer_id": bia, "payment_method": "card"})

    assert not_hers.status_code == 422 and not_hers.json()["errors"][0]["field"] == "card_id"
    assert not_card.status_code == 422 and not_card.json()["errors"][0]["field"] == "card_id"
    assert hers.status_code == 201, hers.text
    assert hers.json()["card_id"] == bias_card


async def test_orders_are_listed_filtered_and_kept_from_other_tenants(
    api: TenantClient, other_api: TenantClient
) -> None:
    products = await catalog(api)
    ana, bia = await new_customer(api), await new_customer(api, "Bia")
    first = await place_order(api, ana, products["once"])
    second = await place_order(api, bia, products["once"])
    third = await place_order(api, ana, products["month"])
    await api.post(f"/v1/orders/{third['id']}/cancel")

    everything = await read(api, "/v1/orders?limit=2")
    rest = await read(api, f"/v1/orders?limit=2&starting_after={everything['data'][-1]['id']}")
    assert [o["id"] for o in everything["data"] + rest["data"]] == [
        first["id"],
        second["id"],
        third["id"],
    ]
    assert (everything["has_more"], rest["has_more"]) == (True, False)
    pending = await read(api, f"/v1/orders?status=pending&customer_id={ana}")
    assert [o["id"] for o in pending["data"]] == [first["id"]]
    assert (await api.get("/v1/orders?status=lost")).status_code == 422

    assert (await read(other_api, "/v1/orders"))["data"] == []
    for path in (f"/v1/orders/{first['id']}",):
        assert (await other_api.get(path)).status_code == 404
    for move in ("cancel", "fulfill"):
        assert (await other_api.post(f"/v1/orders/{first['id']}/{move}")).status_code == 404
    assert (await read(api, f"/v1/orders/{first['id']}"))["status"] == "pending"
