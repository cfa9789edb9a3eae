"""Fixtures for the integration tests' fuzzing (test_fuzz.py, test_nasty_inputs.py), and the
Asaas v3 stand-in (`asaas_standin`, tests/integration/asaas_standin.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from assina.db.database import Database, create_engine
from tests.conftest import TenantClient, fresh_pg_database, postgres_base_url
from tests.integration.asaas_adapter_support import (  # noqa: F401  (fixtures)
    asaas,
    asaas_connections,
    inbox,
)
from tests.integration.asaas_standin import asaas_standin  # noqa: F401  (a fixture)
from tests.integration.console_support import console  # noqa: F401  (a fixture)
from tests.integration.delivery_support import Received, Receiver
from tests.integration.fuzz_openapi import (
    Schemas,
    World,
    operations_of,
)
from tests.integration.fuzz_support import (
    event_log,
)
from tests.integration.payment_support import live  # noqa: F401  (a fixture)


async def first_message(client: TenantClient, endpoint_id: str) -> str:
    listed = await client.get(f"/v1/webhook-endpoints/{endpoint_id}/messages")
    message_id: str = listed.json()["data"][0]["id"]
    return message_id


async def _fiscal_invoice(api: TenantClient, customer_id: str, due: str) -> str:
    """A nota fiscal (pending: no issuer is asked) of a charge settled for it: its id."""
    settings = {
        "cnpj": "11222333000181",
        "municipality_code": "3550308",
        "service_code": "080101",
        "iss_rate_bp": 500,
    }
    saved = await api.http.put("/v1/fiscal-settings", json=settings, headers=api.headers)
    assert saved.status_code == 200, saved.text
    lines = [{"description": "Aula", "amount": 5000}]
    charge = await api.post(
        "/v1/charges", {"customer_id": customer_id, "items": lines, "due_date": due}
    )
    assert charge.status_code == 201, charge.text
    settled = await api.post(f"/v1/charges/{charge.json()['id']}/settle", {"amount": 5000})
    assert settled.status_code == 200, settled.text
    invoice = await api.post(f"/v1/charges/{charge.json()['id']}/fiscal-invoice", {})
    assert invoice.status_code == 201, invoice.text
    invoice_id: str = invoice.json()["id"]
    return invoice_id


@pytest.fixture
async def world(api: TenantClient, other_api: TenantClient, database: Database) -> World:
    customer = await api.post(
        "/v1/customers",
        {"name": "Ana", "document": "529.982.247-25", "metadata": {"turma": "A"}},
    )
    product = await api.post("/v1/products", {"name": "Mensalidade", "amount": 45000})
    foreign = await other_api.post("/v1/customers", {"name": "Bia"})
    foreign_product = await other_api.post("/v1/products", {"name": "Aula", "amount": 100})
    due = "2026-02-10"
    own_lines = [{"product_id": product.json()["id"]}]
    charge = await api.post(
        "/v1/charges", {"customer_id": customer.json()["id"], "items": own_lines, "due_date": due}
    )
    foreign_lines = [{"description": "Aula", "amount": 100}]
    foreign_charge = await other_api.post(
        "/v1/charges",
        {"customer_id": foreign.json()["id"], "items": foreign_lines, "due_date": due},
    )
    own_items = {"customer_id": customer.json()["id"], "items": own_lines}
    contract = await api.post("/v1/contracts", own_items)
    foreign_items = [{"product_id": foreign_product.json()["id"]}]
    foreign_contract = await other_api.post(
        "/v1/contracts", {"customer_id": foreign.json()["id"], "items": foreign_items}
    )
    order = await api.post("/v1/orders", {"customer_id": customer.json()["id"], "items": own_lines})
    foreign_order = await other_api.post(
        "/v1/orders", {"customer_id": foreign.json()["id"], "items": foreign_items}
    )
    supplier = await api.post("/v1/suppliers", {"name": "Papelaria"})
    foreign_supplier = await other_api.post("/v1/suppliers", {"name": "Papelaria"})
    bill = {"description": "Papel", "category": "suprimentos", "amount": 100, "due_date": due}
    expense = await api.post("/v1/expenses", {"supplier_id": supplier.json()["id"], **bill})
    foreign_expense = await other_api.post(
        "/v1/expenses", {"supplier_id": foreign_supplier.json()["id"], **bill}
    )
    invoice = await _fiscal_invoice(api, customer.json()["id"], due)
    foreign_invoice = await _fiscal_invoice(other_api, foreign.json()["id"], due)
    hook = {"url": "https://hooks.example.com/assina"}
    endpoint = await api.post("/v1/webhook-endpoints", hook)
    foreign_endpoint = await other_api.post("/v1/webhook-endpoints", hook)
    created_all = (
        customer,
        product,
        charge,
        foreign,
        foreign_product,
        foreign_charge,
        supplier,
        foreign_supplier,
        expense,
        foreign_expense,
        order,
        foreign_order,
    )
    for created in (*created_all, contract, foreign_contract, endpoint, foreign_endpoint):
        assert created.status_code == 201, created.text
    # One event after the endpoints exist, so that each tenant has a message.
    await api.post("/v1/products", {"name": "Taxa", "amount": 1000})
    await other_api.post("/v1/products", {"name": "Taxa", "amount": 1000})
    message = await first_message(api, endpoint.json()["id"])
    foreign_message = await first_message(other_api, foreign_endpoint.json()["id"])
    events = await event_log(api)
    document = (await api.http.get("/openapi.json")).json()
    return World(
        api=api,
        database=database,
        operations=operations_of(document),
        schemas=Schemas(document),
        own_ids={
            "customer_id": [customer.json()["id"]],
            "product_id": [product.json()["id"]],
            "charge_id": [charge.json()["id"]],
            "contract_id": [contract.json()["id"]],
            "order_id": [order.json()["id"]],
            "index": ["IPCA"],  # price index values: /v1/price-indexes/{index}/values/{month}
            "month": ["2026-01"],
            "endpoint_id": [endpoint.json()["id"]],
            "event_id": [events[0]["id"]],
            "message_id": [message],
            "kind": ["reminder"],  # e-mail templates: /v1/email-templates/{kind}
            "supplier_id": [supplier.json()["id"]],
            "expense_id": [expense.json()["id"]],
            "invoice_id": [invoice],
        },
        foreign_ids=[
            foreign.json()["id"],
            foreign_product.json()["id"],
            foreign_charge.json()["id"],
            foreign_contract.json()["id"],
            foreign_order.json()["id"],
            foreign_endpoint.json()["id"],
            foreign_message,
            foreign_supplier.json()["id"],
            foreign_expense.json()["id"],
            foreign_invoice,
        ],
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on loopback: `/hook` follows `script`, `/ok` always 204, `/slow`
    waits for `release_slow`."""
    state = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        state.received.append(Received(dict(request.headers), body))
        if state.on_receive is not None:
            state.on_receive()
        if state.fail_once_for is not None and state.fail_once_for.encode() in body:
            state.fail_once_for = None
            return web.Response(status=503, text="answer 503")
        status = state.script.pop(0) if state.script else 200
        return web.Response(status=status, text=f"answer {status}", headers=state.extra_headers)

    async def healthy(request: web.Request) -> web.Response:
        state.healthy.append(Received(dict(request.headers), await request.read()))
        state.changed.set()
        return web.Response(status=204)

    async def slow(request: web.Request) -> web.Response:
        state.slow.append(Received(dict(request.headers), await request.read()))
        state.changed.set()
        await state.release_slow.wait()  # answers only when the test lets it
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/ok", healthy)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hook"
    yield state
    await runner.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """An engine on a brand-new, empty database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    else:
        if postgres_base_url() is None:
            pytest.skip("ASSINA_TEST_DATABASE_URL is not set")
        url = await fresh_pg_database("migrations")
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()
