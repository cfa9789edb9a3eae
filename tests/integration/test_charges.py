"""Charges over HTTP: create, read, list, PATCH, PIX codes, tenant isolation and idempotency;
and `issue_charge`, as the billing calendar calls it. Moves between states and late fees are in
test_charge_moves.py."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from assina.charges.links import payment_links_for
from assina.charges.service import ChargeDraft, issue_charge
from assina.contracts.models import PaymentMethod
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.rules.pix import crc_is_valid, parse_emv
from tests.assertions import assert_invalid, assert_problem, iso
from tests.conftest import TEST_SECRET_KEY, TenantClient
from tests.integration.charge_support import (
    PIX_SETTINGS,
    charge_events,
    create_charge,
    event_ids_about,
    insert_contract,
    line,
    new_customer,
    new_product,
    read_charge,
    state,
)
from tests.qr_support import decode_svg_qr

MISSING = "chg_00000000000000000000000000"


async def list_all(api: TenantClient, **params: Any) -> list[str]:
    response = await api.get("/v1/charges", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    assert response.json()["has_more"] is False
    return [charge["id"] for charge in response.json()["data"]]


async def set_pix(api: TenantClient, **extra: Any) -> None:
    body = {**PIX_SETTINGS, **extra}
    response = await api.http.put("/v1/billing-settings", json=body, headers=api.headers)
    assert response.status_code == 200, response.text


# --- create and read ---------------------------------------------------------------------------


async def test_create_applies_the_defaults(api: TenantClient, clock: FrozenClock) -> None:
    customer_id = await new_customer(api)
    body = {"customer_id": customer_id, "items": [line(10000)], "due_date": "2026-02-10"}
    response = await api.post("/v1/charges", body)
    assert response.status_code == 201, response.text
    charge = response.json()
    assert charge["id"].startswith("chg_")
    assert charge == {
        "id": charge["id"],
        "number": 1,
        "customer_id": customer_id,
        "contract_id": None,
        "order_id": None,
        "period_start": None,
        "period_end": None,
        "items": [{"product_id": None, "description": "Aula", "quantity": 1, "amount": 10000}],
        "amount": 10000,
        "currency": "BRL",
        "due_date": "2026-02-10",
        "status": "open",
        "payment_method": "boleto",
        "settled_at": None,
        "settled_amount": None,
        "fine_amount": 0,
        "interest_amount": 0,
        "payment_instructions": {"pix_code": None, "boleto_line": None, "boleto_barcode": None},
        "payment_url": payment_links_for(SecretBox(TEST_SECRET_KEY), None).url(charge["id"]),
        "metadata": {},
        "created_at": iso(clock.now()),
        "updated_at": iso(clock.now()),
    }
    assert await read_charge(api, charge["id"]) == charge
    [event] = await charge_events(api)
    assert event["type"] == "charge.created"
    assert event["data"] == charge
    assert event["previous"] is None
    assert event["id"] in await event_ids_about(api, customer_id)


async def test_lines_add_up_quantity_times_unit_amount(api: TenantClient) -> None:
    charge = await create_charge(
        api,
        items=[line(2500, quantity=4), line(999, quantity=3), line(-1000, description="Desconto")],
        payment_method="pix",
        currency="usd",
        metadata={"turma": "A"},
    )
    assert charge["amount"] == 4 * 2500 + 3 * 999 - 1000
    assert [item["quantity"] for item in charge["items"]] == [4, 3, 1]
    assert (charge["payment_method"], charge["currency"]) == ("pix", "USD")
    assert charge["metadata"] == {"turma": "A"}


async def test_a_product_line_takes_the_products_name_and_price(api: TenantClient) -> None:
    product = await new_product(api, name="Mensalidade Escola", amount=45000)
    charge = await create_charge(
        api,
        items=[
            {"product_id": product["id"]},
            {"product_id": product["id"], "quantity": 2, "description": "Irmãos", "amount": 40000},
        ],
    )
    assert charge["items"] == [
        {
            "product_id": product["id"],
            "description": "Mensalidade Escola",
            "quantity": 1,
            "amount": 45000,
        },
        {"product_id": product["id"], "description": "Irmãos", "quantity": 2, "amount": 40000},
    ]
    assert charge["amount"] == 125000


async def test_a_charge_may_be_zero_but_never_negative(
    api: TenantClient, database: Database
) -> None:
    customer_id = await new_customer(api)
    free = await create_charge(api, customer_id, items=[line(5000), line(-5000)])
    assert free["amount"] == 0
    before = await state(api, database)
    body = {"customer_id": customer_id, "items": [line(100), line(-101)], "due_date": "2026-02-01"}
    assert_invalid(await api.post("/v1/charges", body), "items")
    too_much = {**body, "items": [line(10**15, quantity=2)]}
    assert_invalid(await api.post("/v1/charges", too_much), "items")
    assert await state(api, database) == before


async def test_numbers_are_per_tenant_and_gap_free(
    api: TenantClient, other_api: TenantClient
) -> None:
    customer_id = await new_customer(api)
    assert (await create_charge(api, customer_id))["number"] == 1
    assert (await create_charge(other_api))["number"] == 1
    bad = {"customer_id": customer_id, "items": [line(-1)], "due_date": "2026-02-01"}
    assert_invalid(await api.post("/v1/charges", bad), "items")
    assert (await create_charge(api, customer_id))["number"] == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer_id": None}, "customer_id"),
        ({"customer_id": ""}, "customer_id"),
        ({"customer_id": "c" * 65}, "customer_id"),
        ({"items": []}, "items"),
        ({"items": [line()] * 101}, "items"),
        ({"items": None}, "items"),
        ({"items": [{"amount": 100}]}, "items.0"),
        ({"items": [{"description": "x"}]}, "items.0"),
        ({"items": [{**line(), "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{**line(), "quantity": 1.5}]}, "items.0.quantity"),
        ({"items": [{**line(), "quantity": 1_000_001}]}, "items.0.quantity"),
        ({"items": [{**line(), "amount": 99.9}]}, "items.0.amount"),
        ({"items": [{**line(), "amount": "100"}]}, "items.0.amount"),
        ({"items": [{**line(), "amount": 10**15 + 1}]}, "items.0.amount"),
        ({"items": [{**line(), "amount": -(10**15) - 1}]}, "items.0.amount"),
        ({"items": [{**line(), "description": ""}]}, "items.0.description"),
        ({"items": [{**line(), "description": "d" * 501}]}, "items.0.description"),
        ({"items": [{**line(), "price": 1}]}, "items.0.price"),
        ({"due_date": None}, "due_date"),
        ({"due_date": "2026-02-30"}, "due_date"),
        ({"due_date": "10/02/2026"}, "due_date"),
        ({"due_date": "2026-02-10T00:00:00"}, "due_date"),
        ({"due_date": 1767225600}, "due_date"),
        ({"due_date": "1999-12-31"}, "due_date"),
        ({"due_date": "2101-01-01"}, "due_date"),
        ({"payment_method": "cheque"}, "payment_method"),
        ({"currency": "XYZ"}, "currency"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"dunning_exempt": "yes"}, "dunning_exempt"),
        ({"status": "settled"}, "status"),
        ({"amount": 100}, "amount"),
        ({"contract_id": "ctr_1"}, "contract_id"),
    ],
)
async def test_invalid_create_is_422_and_writes_nothing(
    api: TenantClient, database: Database, changes: dict[str, Any], field: str
) -> None:
    customer_id = await new_customer(api)
    before = await state(api, database)
    body = {"customer_id": customer_id, "items": [line()], "due_date": "2026-02-10", **changes}
    assert_invalid(await api.post("/v1/charges", body), field)
    assert await state(api, database) == before


async def test_references_must_be_the_tenants_own(
    api: TenantClient, other_api: TenantClient, database: Database
) -> None:
    customer_id = await new_customer(api)
    foreign_customer = await new_customer(other_api)
    foreign_product = await new_product(other_api)
    inactive = await new_product(api, name="Antigo")
    await api.post(f"/v1/products/{inactive['id']}/deactivate")
    deleted = await new_product(api, name="Excluído")
    await api.delete(f"/v1/products/{deleted['id']}")
    dollars = await new_product(api, name="Curso", currency="USD")
    before = await state(api, database)

    async def refused(body_changes: dict[str, Any], field: str) -> None:
        body = {"customer_id": customer_id, "items": [line()], "due_date": "2026-02-10"}
        assert_invalid(await api.post("/v1/charges", {**body, **body_changes}), field)

    await refused({"customer_id": foreign_customer}, "customer_id")
    await refused({"customer_id": "cus_00000000000000000000000000"}, "customer_id")
    await refused({"items": [line(), {"product_id": foreign_product["id"]}]}, "items.1.product_id")
    await refused({"items": [{"product_id": inactive["id"]}]}, "items.0.product_id")
    await refused({"items": [{"product_id": deleted["id"]}]}, "items.0.product_id")
    await refused({"items": [{"product_id": dollars["id"]}]}, "items.0.amount")
    assert await state(api, database) == before
    # In its own currency, or with an amount, the product is fine.
    charge = await create_charge(
        api, customer_id, items=[{"product_id": dollars["id"]}], currency="USD"
    )
    assert charge["amount"] == 45000
    assert (
        await create_charge(api, customer_id, items=[{"product_id": dollars["id"], "amount": 1}])
    )["amount"] == 1


async def test_another_tenants_charge_is_404(api: TenantClient, other_api: TenantClient) -> None:
    foreign = await create_charge(other_api)
    for url in (f"/v1/charges/{foreign['id']}", f"/v1/charges/{MISSING}"):
        body = assert_problem(await api.get(url), 404, "not-found")
        assert url.rsplit("/", 1)[1] in body["detail"]
        assert_problem(await api.patch(url, {"metadata": {}}), 404)
        for move in ("settle", "reverse", "invalidate", "reactivate"):
            assert_problem(await api.post(f"{url}/{move}"), 404)
    assert await list_all(api) == []
    assert await list_all(api, customer_id=foreign["customer_id"]) == []
    assert (await read_charge(other_api, foreign["id"]))["status"] == "open"


# --- lists -------------------------------------------------------------------------------------


async def test_list_filters(api: TenantClient, clock: FrozenClock) -> None:
    ana, bia = await new_customer(api, "Ana"), await new_customer(api, "Bia")
    a1 = await create_charge(api, ana, due_date="2026-02-01")
    clock.advance(timedelta(days=1))
    a2 = await create_charge(api, ana, due_date="2026-03-01")
    b1 = await create_charge(api, bia, due_date="2026-02-15")
    await api.post(f"/v1/charges/{a2['id']}/invalidate")

    assert await list_all(api) == [a1["id"], a2["id"], b1["id"]]
    assert await list_all(api, customer_id=ana) == [a1["id"], a2["id"]]
    assert await list_all(api, status="open") == [a1["id"], b1["id"]]
    assert await list_all(api, status="invalidated", customer_id=ana) == [a2["id"]]
    assert await list_all(api, status="settled") == []
    assert await list_all(api, due_gte="2026-02-15") == [a2["id"], b1["id"]]
    assert await list_all(api, due_lt="2026-02-15") == [a1["id"]]
    assert await list_all(api, due_gte="2026-02-01", due_lt="2026-03-01") == [a1["id"], b1["id"]]
    assert await list_all(api, created_gte=iso(clock.now())) == [a2["id"], b1["id"]]
    assert await list_all(api, contract_id="ctr_00000000000000000000000000") == []
    listed = (await api.get("/v1/charges", params={"customer_id": bia})).json()["data"]
    assert listed == [await read_charge(api, b1["id"])]
    refused = [
        ("status", "paid"),
        ("due_gte", "2026-13-01"),
        ("due_lt", "x"),
        ("due_lt", "1767225600"),
        ("due_gte", "2026-02-01T00:00:00"),
    ]
    for name, value in refused:
        assert_invalid(await api.get("/v1/charges", params={name: value}), name)


async def test_pagination(api: TenantClient) -> None:
    customer_id = await new_customer(api)
    created = [(await create_charge(api, customer_id))["id"] for _ in range(5)]
    seen: list[str] = []
    flags: list[bool] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await api.get("/v1/charges", params=params)).json()
        seen += [charge["id"] for charge in page["data"]]
        flags.append(page["has_more"])
        if not page["has_more"]:
            break
        params["starting_after"] = page["data"][-1]["id"]
    assert seen == created
    assert flags == [True, True, False]


# --- PIX ---------------------------------------------------------------------------------------


async def test_a_pix_code_when_the_settings_name_a_receiver(api: TenantClient) -> None:
    assert (await create_charge(api))["payment_instructions"]["pix_code"] is None
    await set_pix(api)
    charge = await create_charge(api, items=[line(12345)])
    code = charge["payment_instructions"]["pix_code"]
    assert crc_is_valid(code)
    fields = parse_emv(code)
    assert fields["54"] == "123.45"
    assert fields["59"] == "Escola Alfa Ltda"
    assert fields["60"] == "Sao Paulo"
    txid = f"ASSINA{charge['number']}"
    assert fields["62"] == f"05{len(txid):02d}{txid}"
    assert PIX_SETTINGS["pix_key"] in fields["26"]
    assert charge["payment_instructions"]["boleto_line"] is None


async def test_no_pix_code_without_a_whole_receiver_in_reais(api: TenantClient) -> None:
    await set_pix(api, merchant_city=None)
    assert (await create_charge(api))["payment_instructions"]["pix_code"] is None
    await set_pix(api)
    assert (await create_charge(api, currency="USD"))["payment_instructions"]["pix_code"] is None
    zero = await create_charge(api, items=[line(0)])
    assert zero["payment_instructions"]["pix_code"] is None
    beyond = await create_charge(api, items=[line(10**12)])  # longer than a BR Code's amount
    assert beyond["payment_instructions"]["pix_code"] is None


async def test_the_pix_qr_of_a_charge_decodes_to_its_pix_code(api: TenantClient) -> None:
    await set_pix(api)
    charge = await create_charge(api, items=[line(12345)])
    response = await api.get(f"/v1/charges/{charge['id']}/pix.svg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.text.startswith("<svg")
    assert decode_svg_qr(response.text) == charge["payment_instructions"]["pix_code"]


async def test_no_pix_qr_without_a_pix_code_nor_for_another_tenant(
    api: TenantClient, other_api: TenantClient
) -> None:
    without = await create_charge(api)
    assert without["payment_instructions"]["pix_code"] is None
    assert_problem(await api.get(f"/v1/charges/{without['id']}/pix.svg"), 409, "no-pix-code")
    await set_pix(api)
    with_code = await create_charge(api)
    assert_problem(await other_api.get(f"/v1/charges/{with_code['id']}/pix.svg"), 404)
    assert_problem(await api.get("/v1/charges/chg_missing/pix.svg"), 404)


# --- PATCH -------------------------------------------------------------------------------------


async def test_patch_changes_the_fields_sent_and_raises_charge_updated(
    api: TenantClient, clock: FrozenClock
) -> None:
    created = await create_charge(api, metadata={"a": "1"})
    clock.advance(timedelta(hours=2))
    changes = {"due_date": "2026-02-20", "payment_method": "card", "metadata": {"b": "2"}}
    response = await api.patch(f"/v1/charges/{created['id']}", changes)
    assert response.status_code == 200, response.text
    assert response.json() == {**created, **changes, "updated_at": iso(clock.now())}
    assert await read_charge(api, created["id"]) == response.json()
    event = (await charge_events(api))[-1]
    assert event["type"] == "charge.updated"
    assert event["data"] == response.json()
    assert event["id"] in await event_ids_about(api, created["customer_id"])
    assert event["previous"] == {
        "due_date": "2026-01-10",
        "payment_method": "boleto",
        "metadata": {"a": "1"},
    }


async def test_patch_items_recomputes_the_amount_and_the_pix_code(api: TenantClient) -> None:
    await set_pix(api)
    product = await new_product(api, amount=30000)
    created = await create_charge(api)
    old_code = created["payment_instructions"]["pix_code"]
    items = [{"product_id": product["id"]}, line(-5000, description="Bolsa")]
    patched = (await api.patch(f"/v1/charges/{created['id']}", {"items": items})).json()
    assert patched["amount"] == 25000
    new_code = patched["payment_instructions"]["pix_code"]
    assert crc_is_valid(new_code) and parse_emv(new_code)["54"] == "250.00"
    event = (await charge_events(api))[-1]
    assert event["previous"] == {
        "items": created["items"],
        "amount": 10000,
        "payment_instructions": {"pix_code": old_code, "boleto_line": None, "boleto_barcode": None},
    }
    # A new due date leaves the code as it was.
    moved = (await api.patch(f"/v1/charges/{created['id']}", {"due_date": "2026-03-01"})).json()
    assert moved["payment_instructions"]["pix_code"] == new_code


async def test_patch_that_changes_nothing_raises_no_event(
    api: TenantClient, clock: FrozenClock
) -> None:
    created = await create_charge(api)
    clock.advance(timedelta(hours=1))
    same = {"items": [line()], "due_date": created["due_date"], "dunning_exempt": False}
    assert (await api.patch(f"/v1/charges/{created['id']}", same)).json() == created
    assert (await api.patch(f"/v1/charges/{created['id']}", {})).json() == created
    assert len(await charge_events(api)) == 1


async def test_patch_of_dunning_exempt_is_recorded(api: TenantClient, clock: FrozenClock) -> None:
    created = await create_charge(api)
    clock.advance(timedelta(hours=1))
    patched = await api.patch(f"/v1/charges/{created['id']}", {"dunning_exempt": True})
    assert patched.json() == {**created, "updated_at": iso(clock.now())}
    assert (await charge_events(api))[-1]["previous"] == {"dunning_exempt": False}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"items": None}, "items"),
        ({"items": []}, "items"),
        ({"items": [line(-1)]}, "items"),
        ({"items": [{"product_id": "prd_00000000000000000000000000"}]}, "items.0.product_id"),
        ({"due_date": None}, "due_date"),
        ({"due_date": "2026-02-30"}, "due_date"),
        ({"payment_method": None}, "payment_method"),
        ({"metadata": None}, "metadata"),
        ({"dunning_exempt": None}, "dunning_exempt"),
        ({"currency": "USD"}, "currency"),
        ({"customer_id": "cus_x"}, "customer_id"),
        ({"amount": 5}, "amount"),
        ({"status": "settled"}, "status"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    api: TenantClient, database: Database, payload: dict[str, Any], field: str
) -> None:
    created = await create_charge(api)
    before = await state(api, database)
    assert_invalid(await api.patch(f"/v1/charges/{created['id']}", payload), field)
    assert await state(api, database) == before


# --- idempotency -------------------------------------------------------------------------------


async def test_post_with_an_idempotency_key_creates_one_charge(
    api: TenantClient, database: Database
) -> None:
    customer_id = await new_customer(api)
    body = {"customer_id": customer_id, "items": [line()], "due_date": "2026-02-10"}
    key = {"Idempotency-Key": "cobranca-1"}
    first = await api.post("/v1/charges", body, headers=key)
    again = await api.post("/v1/charges", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await list_all(api) == [first.json()["id"]]
    assert len(await charge_events(api)) == 1
    before = await state(api, database)
    other = await api.post("/v1/charges", {**body, "due_date": "2026-02-11"}, headers=key)
    assert_problem(other, 409, "idempotency-key-reused")
    assert await state(api, database) == before


# --- issue_charge, as the billing calendar calls it --------------------------------------------


async def test_issue_charge_for_a_contract_period(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await set_pix(api)
    tenant_id = api.tenant.tenant_id
    customer_id = await new_customer(api)
    contract_id = await insert_contract(database, clock, tenant_id, customer_id)
    draft = ChargeDraft(
        customer_id=customer_id,
        items=[
            {"product_id": None, "description": "Mensalidade", "quantity": 1, "amount": 10000},
            {
                "product_id": None,
                "description": "Crédito proporcional",
                "quantity": 1,
                "amount": -2500,
            },
        ],
        due_date=date(2026, 2, 10),
        payment_method=PaymentMethod.PIX,
        currency="BRL",
        contract_id=contract_id,
        period_start=date(2026, 2, 10),
        period_end=date(2026, 3, 10),
        dunning_exempt=True,
    )
    async with database.write() as session:
        charge = await issue_charge(session, clock, tenant_id, draft)
        charge_id = charge.id
    shown = await read_charge(api, charge_id)
    assert (shown["amount"], shown["contract_id"], shown["status"]) == (7500, contract_id, "open")
    assert parse_emv(shown["payment_instructions"]["pix_code"])["54"] == "75.00"
    assert await list_all(api, contract_id=contract_id) == [charge_id]
    [event] = await charge_events(api)
    assert (event["type"], event["data"]) == ("charge.created", shown)
    assert await event_ids_about(api, customer_id) == [event["id"]]
