"""Issue 16's end to end: the 26 events of the seed (product.md §3), every one raised by real
code — the API, the billing calendar run by a sandbox tenant's test clock, the sandbox payment
provider notifying over HTTP, the sandbox fiscal issuer through its relay — and delivered by
the dispatcher to a real receiver on loopback in both formats: each `standard` body verified
by the `standardwebhooks` library, each `superlogica` body read by real PHP (`parse_str`, as
PHP fills `$_POST`) with the tenant's validation token, its signature verified too."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook

from assina.core.clock import FrozenClock, SystemClock
from assina.db.database import Database
from assina.events.catalog import CATALOG, NOT_RAISED_YET, EventType
from tests.assertions import answered
from tests.conftest import TenantClient
from tests.integration.charge_support import create_charge, line
from tests.integration.delivery_support import Received, Receiver, dispatch_once, new_endpoint
from tests.integration.payment_support import LiveApp, sandbox_today, save_card
from tests.integration.test_fiscal_invoices import SETTINGS, relay
from tests.unit.test_superlogica_billing import php_post

# The seed's 26, by the catalog's order (product.md §3 numbers them 1 to 26).
SEED = [kind.name.value for kind in CATALOG[:26]]

# What names each object in the superlogica format, most specific first (webhooks/superlogica.py).
FORM_KEYS = [
    ("tentativa", "card"),
    ("id_despesa_des", "expense"),
    ("id_pedido_ped", "order"),
    ("id_nota_not", "fiscal_invoice"),
    ("id_recebimento_recb", "charge"),
    ("id_planocliente_plc", "contract"),
    ("id_produto_prd", "product"),
    ("id_sacado_sac", "customer"),
]


async def customers_and_products(api: TenantClient) -> dict[str, Any]:
    """Events 1 to 9."""
    ana = answered(await api.post("/v1/customers", {"name": "Ana", "email": "ana@x.com.br"}), 201)
    answered(await api.patch(f"/v1/customers/{ana['id']}", {"phone": "+5511987654321"}))
    bia = answered(await api.post("/v1/customers", {"name": "Bia"}), 201)
    answered(await api.post(f"/v1/customers/{bia['id']}/deactivate", {}))
    answered(await api.post(f"/v1/customers/{bia['id']}/reactivate", {}))
    plan = answered(await api.post("/v1/products", {"name": "Plano", "amount": 45_000}), 201)
    answered(await api.patch(f"/v1/products/{plan['id']}", {"description": "Mensal"}))
    old = answered(await api.post("/v1/products", {"name": "Antigo", "amount": 1_000}), 201)
    answered(await api.post(f"/v1/products/{old['id']}/deactivate", {}))
    answered(await api.delete(f"/v1/products/{old['id']}"))
    return {"ana": ana["id"], "bia": bia["id"], "plan": plan}


async def contracts(api: TenantClient, world: dict[str, Any]) -> None:
    """Events 10 to 13 and 20."""
    items = [{"product_id": world["plan"]["id"]}]
    kept = answered(
        await api.post("/v1/contracts", {"customer_id": world["ana"], "items": items}), 201
    )
    answered(await api.patch(f"/v1/contracts/{kept['id']}", {"metadata": {"turma": "A"}}))
    answered(await api.post(f"/v1/contracts/{kept['id']}/readjust", {"percent": "4.5"}))
    dropped = answered(
        await api.post("/v1/contracts", {"customer_id": world["bia"], "items": items}), 201
    )
    answered(await api.delete(f"/v1/contracts/{dropped['id']}"))
    ended = answered(
        await api.post("/v1/contracts", {"customer_id": world["bia"], "items": items}), 201
    )
    answered(await api.post(f"/v1/contracts/{ended['id']}/cancel", {}))


async def charges(api: TenantClient, live: LiveApp, world: dict[str, Any]) -> str:
    """Events 14 to 19 and 24; answers the id of a charge that stays settled."""
    due = (await sandbox_today(api) + timedelta(days=3)).isoformat()
    paid = await create_charge(
        api, world["ana"], items=[line(12_000)], due_date=due, payment_method="pix"
    )
    later = (await sandbox_today(api) + timedelta(days=5)).isoformat()
    answered(await api.patch(f"/v1/charges/{paid['id']}", {"due_date": later}))
    answered(await api.post(f"/v1/sandbox/charges/{paid['id']}/pay", {"method": "pix"}), 202)
    await live.connections.sandbox.notifications_settled()
    refunded = await create_charge(api, world["ana"], items=[line(3_000)], due_date=due)
    answered(await api.post(f"/v1/charges/{refunded['id']}/settle", {"amount": 3_000}))
    answered(await api.post(f"/v1/charges/{refunded['id']}/reverse", {}))
    voided = await create_charge(api, world["ana"], items=[line(2_000)], due_date=due)
    answered(await api.post(f"/v1/charges/{voided['id']}/invalidate", {}))
    answered(await api.post(f"/v1/charges/{voided['id']}/reactivate", {}))
    card = await save_card(api, world["bia"], "4000000000000341")  # kept; its charges fail
    by_card = await create_charge(
        api, world["bia"], items=[line(4_000)], due_date=due, payment_method="card"
    )
    declined = answered(await api.post(f"/v1/charges/{by_card['id']}/pay", {"card_id": card}))
    assert declined["attempt"]["status"] == "declined", declined
    return str(paid["id"])


async def expenses(api: TenantClient) -> None:
    """Events 21 to 23 (and the extra `expense.created`)."""
    supplier = answered(
        await api.post(
            "/v1/suppliers", {"name": "Papelaria Central", "document": "11222333000181"}
        ),
        201,
    )
    body = {
        "supplier_id": supplier["id"],
        "description": "Papel A4",
        "category": "Material de escritório",
        "due_date": (await sandbox_today(api)).isoformat(),
        "amount": 45_990,
    }
    expense = answered(await api.post("/v1/expenses", body), 201)
    answered(
        await api.patch(f"/v1/expenses/{expense['id']}", {"description": "Papel A4 (10 resmas)"})
    )
    answered(await api.post(f"/v1/expenses/{expense['id']}/settle", {}))
    answered(await api.post(f"/v1/expenses/{expense['id']}/reverse", {}))


async def an_order(api: TenantClient, live: LiveApp, world: dict[str, Any]) -> None:
    """Event 25 (created, then paid by a sandbox PIX payment, which starts a contract)."""
    items = [{"product_id": world["plan"]["id"]}]
    body = {"customer_id": world["ana"], "items": items, "payment_method": "pix"}
    order = answered(await api.post("/v1/orders", body), 201)
    answered(
        await api.post(f"/v1/sandbox/charges/{order['charge_id']}/pay", {"method": "pix"}), 202
    )
    await live.connections.sandbox.notifications_settled()
    assert (answered(await api.get(f"/v1/orders/{order['id']}")))["status"] == "paid"


async def a_fiscal_invoice(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock, charge_id: str
) -> None:
    """Event 26: the sandbox issuer, through its relay, converts a settled charge."""
    answered(await api.http.put("/v1/fiscal-settings", json=SETTINGS, headers=api.headers))
    answered(await api.post(f"/v1/charges/{charge_id}/fiscal-invoice", {}), 201)
    issuer = relay(app, database, clock)
    await issuer.run_all()  # handed to the issuer
    await issuer.run_all()  # its look-up finds it issued


async def a_delinquent_customer(api: TenantClient, world: dict[str, Any]) -> None:
    """Event 5: an unpaid charge overdue, found by the calendar as the test clock advances."""
    due = (await sandbox_today(api) + timedelta(days=1)).isoformat()
    await create_charge(api, world["bia"], items=[line(5_000)], due_date=due)
    answered(await api.post("/v1/test-clock/advance", {"days": 3}))
    assert (answered(await api.get(f"/v1/customers/{world['bia']}")))["status"] == "delinquent"


def standard_types(received: list[Received], secret: str) -> list[str]:
    """Each body verified by the reference library, then its type."""
    verifier = Webhook(secret)
    types = []
    for got in received:
        verifier.verify(got.body, got.headers)
        types.append(json.loads(got.body)["type"])
    return types


def superlogica_objects(received: list[Received], secret: str, token: str) -> list[str]:
    """Each form read by PHP, its signature checked (with the library's own signer: its
    `verify` parses the body as JSON): the kind of object it carries."""
    signer = Webhook(secret)
    kinds = []
    for got in received:
        sent_at = datetime.fromtimestamp(int(got.headers["webhook-timestamp"]), UTC)
        expected = signer.sign(got.headers["webhook-id"], sent_at, got.body)
        assert expected in got.headers["webhook-signature"].split(" ")
        post = php_post(got.body)
        assert post["validationtoken"] == token
        assert got.headers["x-validation-token"] == token
        keys = set(post["data"]) | set(post)
        kinds.append(next(kind for key, kind in FORM_KEYS if key in keys))
    return kinds


async def test_the_26_seed_events_reach_a_receiver_in_both_formats(
    sandbox: TenantClient,
    live: LiveApp,
    app: FastAPI,
    database: Database,
    clock: FrozenClock,
    receiver: Receiver,
) -> None:
    assert len(SEED) == 26 and SEED[-1] == EventType.FISCAL_INVOICE_ISSUED
    assert not NOT_RAISED_YET  # the catalog promises nothing it does not raise
    api = live.as_tenant(sandbox)
    standard = await new_endpoint(api, receiver.url, event_types=SEED)
    superlogica = await new_endpoint(api, receiver.ok_url, event_types=SEED, format="superlogica")

    world = await customers_and_products(api)
    await contracts(api, world)
    settled = await charges(api, live, world)
    await expenses(api)
    await an_order(api, live, world)
    await a_fiscal_invoice(api, app, database, clock, settled)
    await a_delinquent_customer(api, world)
    # Sent on real time, as `assina serve` sends: `standardwebhooks` checks a signature's
    # timestamp against the wall clock (the events were written on the frozen one, earlier).
    while await dispatch_once(database, SystemClock()):
        pass

    types = standard_types(receiver.received, standard["secret"])
    assert set(types) == set(SEED), set(SEED) - set(types)
    token = (answered(await api.get("/v1/webhook-settings")))["validation_token"]
    objects = superlogica_objects(receiver.healthy, superlogica["secret"], token)
    # The same events in both formats: as many forms of each kind of object as JSON bodies.
    assert Counter(objects) == Counter(kind.partition(".")[0] for kind in types)
