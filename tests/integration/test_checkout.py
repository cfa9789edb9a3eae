"""The checkout (issue 16 B) and the orders paid by the sandbox: on a sandbox tenant served for
real, a PIX payment received by the sandbox pays the order when its notification settles the
charge; a checkout finds the customer by its document or creates it, and with a card saves
it and charges it at once (4111… approved pays the order, 4000…0002 declined leaves it
pending)."""

from __future__ import annotations

from typing import Any

from assina.payments.providers import CardDetails, Payer
from tests.conftest import TenantClient
from tests.integration.charge_support import new_customer, new_product
from tests.integration.fuzz_support import event_log
from tests.integration.order_support import order_moves, place_order, read
from tests.integration.payment_support import LiveApp

ANA = {"name": "Ana Souza", "email": "ana@example.com", "document": "529.982.247-25"}
CARD = {"exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "ANA SOUZA"}


async def _products(api: TenantClient) -> list[dict[str, str]]:
    monthly = await new_product(api, name="Mensalidade", amount=45_000)
    once = await new_product(api, name="Matrícula", amount=15_000, interval="once")
    return [{"product_id": monthly["id"]}, {"product_id": once["id"]}]


async def _checkout(api: TenantClient, **fields: Any) -> dict[str, Any]:
    response = await api.post("/v1/checkout", fields)
    assert response.status_code == 201, response.text
    done: dict[str, Any] = response.json()
    return done


async def test_a_sandbox_pix_payment_pays_the_order(sandbox: TenantClient, live: LiveApp) -> None:
    api = live.as_tenant(sandbox)
    monthly = await new_product(api, name="Mensalidade", amount=45_000)
    order = await place_order(api, await new_customer(api), monthly["id"], payment_method="pix")

    paid = await api.post(f"/v1/sandbox/charges/{order['charge_id']}/pay", {"method": "pix"})
    assert paid.status_code == 202, paid.text
    await live.connections.sandbox.notifications_settled()

    found = await read(api, f"/v1/orders/{order['id']}")
    assert found["status"] == "paid"
    [contract_id] = found["contract_ids"]
    contract = await read(api, f"/v1/contracts/{contract_id}")
    assert (contract["status"], contract["payment_method"]) == ("active", "pix")
    assert contract["next_charge_date"] == "2026-02-15"


async def test_a_checkout_creates_the_customer_then_finds_it_by_its_document(
    api: TenantClient,
) -> None:
    items = await _products(api)

    first = await _checkout(api, customer=ANA, items=items, payment_method="boleto")
    again = await _checkout(
        api,
        customer={"name": "Outra Pessoa", "document": "52998224725", "email": "x@example.com"},
        items=items[1:],
    )

    assert first["customer_created"] is True and again["customer_created"] is False
    assert again["customer_id"] == first["customer_id"]
    customer = await read(api, f"/v1/customers/{first['customer_id']}")
    assert (customer["name"], customer["email"]) == ("Ana Souza", "ana@example.com")
    for done in (first, again):
        assert done["order"]["status"] == "pending"
        assert done["order"]["customer_id"] == first["customer_id"]
        assert (done["card_id"], done["card_attempt"], done["card_error"]) == (None, None, None)
    assert first["order"]["amount"] == 60_000 and again["order"]["amount"] == 15_000
    types = [event["type"] for event in await event_log(api)]
    assert types.count("customer.created") == 1
    assert types.count("order.status_changed") == 2


async def test_a_checkout_refuses_bad_input_and_writes_nothing(api: TenantClient) -> None:
    items = await _products(api)
    before = await event_log(api)

    no_document = await api.post("/v1/checkout", {"customer": {"name": "Ana"}, "items": items})
    bad_document = await api.post(
        "/v1/checkout", {"customer": {**ANA, "document": "123.456.789-00"}, "items": items}
    )
    no_items = await api.post("/v1/checkout", {"customer": ANA, "items": []})
    unknown = await api.post(
        "/v1/checkout", {"customer": ANA, "items": [{"product_id": "prd_missing"}]}
    )
    card_by_boleto = await api.post(
        "/v1/checkout", {"customer": ANA, "items": items, "card_token": "tok_sbx_x"}
    )
    number_live = await api.post(
        "/v1/checkout",
        {
            "customer": ANA,
            "items": items,
            "payment_method": "card",
            "card": {"number": "4111111111111111", **CARD},
        },
    )

    for refused in (no_document, bad_document, no_items, unknown, card_by_boleto, number_live):
        assert refused.status_code == 422, refused.text
    assert number_live.json()["errors"][0]["field"] == "card.number"
    assert await event_log(api) == before


async def test_a_checkout_with_an_approved_card_pays_the_order_at_once(
    sandbox: TenantClient, live: LiveApp
) -> None:
    api = live.as_tenant(sandbox)
    items = await _products(api)

    done = await _checkout(
        api,
        customer=ANA,
        items=items,
        payment_method="card",
        card={"number": "4111 1111 1111 1111", **CARD},
    )

    assert done["card_error"] is None and done["card_id"].startswith("card_")
    assert done["card_attempt"]["status"] == "approved"
    order = done["order"]
    assert order["status"] == "paid" and len(order["contract_ids"]) == 1
    contract = await read(api, f"/v1/contracts/{order['contract_ids'][0]}")
    assert contract["payment_method"] == "card"
    charge = await read(api, f"/v1/charges/{order['charge_id']}")
    assert (charge["status"], charge["settled_amount"]) == ("settled", 60_000)
    cards = await read(api, f"/v1/customers/{done['customer_id']}/cards")
    assert [(c["id"], c["last4"], c["default"]) for c in cards["data"]] == [
        (done["card_id"], "1111", True)
    ]
    assert await order_moves(api, order["id"]) == [(None, "pending"), ("pending", "paid")]


async def test_a_checkout_with_a_declined_card_leaves_the_order_pending(
    sandbox: TenantClient, live: LiveApp
) -> None:
    api = live.as_tenant(sandbox)
    items = await _products(api)
    token = await _browser_token(live, sandbox, "4000000000000341")  # kept, then declined

    done = await _checkout(api, customer=ANA, items=items, payment_method="card", card_token=token)

    assert done["card_error"] is None and done["card_id"].startswith("card_")
    assert done["card_attempt"]["status"] == "declined"
    assert done["card_attempt"]["decline_code"] == "generic_decline"
    assert done["order"]["status"] == "pending"
    types = [event["type"] for event in await event_log(api)]
    assert "card.declined" in types and "contract.created" not in types


async def test_a_card_the_provider_will_not_keep_leaves_the_order_pending_and_says_why(
    sandbox: TenantClient, live: LiveApp
) -> None:
    api = live.as_tenant(sandbox)
    items = await _products(api)

    done = await _checkout(
        api,
        customer=ANA,
        items=items,
        payment_method="card",
        card={"number": "4000000000000002", **CARD},
    )

    assert (done["card_id"], done["card_attempt"]) == (None, None)
    assert done["card_error"]["status"] == 422
    assert done["card_error"]["type"].endswith("card-declined")
    assert done["order"]["status"] == "pending"
    assert (await read(api, f"/v1/customers/{done['customer_id']}/cards"))["data"] == []


async def _browser_token(live: LiveApp, tenant: TenantClient, number: str) -> str:
    """A token as the payer's browser gets it: straight from the sandbox provider."""
    client = await live.connections.sandbox_client(tenant.tenant.tenant_id)
    payer = Payer(customer_id="cus_x", name="ANA SOUZA", document=None, email=None)
    kept = await client.tokenize_card(payer, CardDetails(number, 12, 2030, "123", "ANA SOUZA"))
    return kept.token
