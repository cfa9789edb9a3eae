"""Pedidos in the console: the list by status, an order's page, fulfil and cancel through
the orders' moves (the API shows the result and the same events), a refused move shown in
the page; on both databases."""

from __future__ import annotations

from assina.users.models import ConsoleRole
from tests.assertions import answered
from tests.conftest import TenantClient
from tests.integration.console_lists_support import assert_redirected, submit_drawn
from tests.integration.console_support import Console
from tests.integration.contract_support import new_customer
from tests.integration.order_support import catalog, order_moves, place_order


async def test_orders_listed_fulfilled_and_cancelled(api: TenantClient, console: Console) -> None:
    products = await catalog(api)
    customer_id = await new_customer(api, "Ana Souza")
    paid = await place_order(api, customer_id, products["once"])
    answered(await api.post(f"/v1/charges/{paid['charge_id']}/settle", {}))
    pending = await place_order(api, customer_id, products["month"])
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br", ConsoleRole.FINANCE)

    listed = await ana.page("/console/orders")
    assert listed.status_code == 200 and "Pedidos" in listed.text and "Ana Souza" in listed.text
    assert f"/console/orders/{paid['id']}" in listed.text
    only_pending = await ana.page("/console/orders?status=pending")
    assert f"/console/orders/{pending['id']}" in only_pending.text
    assert f"/console/orders/{paid['id']}" not in only_pending.text

    refused = await ana.submit(f"/console/orders/{pending['id']}/fulfill", {})
    assert refused.status_code == 409 and 'id="order-problem"' in refused.text
    assert answered(await api.get(f"/v1/orders/{pending['id']}"))["status"] == "pending"

    page = f"/console/orders/{paid['id']}"
    shown = await ana.page(page)
    assert "Matrícula" in shown.text and "Marcar como entregue" in shown.text
    fulfilled = await submit_drawn(ana, page, f"{page}/fulfill", {})
    assert_redirected(fulfilled, page)
    assert answered(await api.get(f"/v1/orders/{paid['id']}"))["status"] == "fulfilled"
    assert (await order_moves(api, paid["id"]))[-1] == ("paid", "fulfilled")

    page = f"/console/orders/{pending['id']}"
    cancelled = await submit_drawn(ana, page, f"{page}/cancel", {})
    assert_redirected(cancelled, page)
    assert answered(await api.get(f"/v1/orders/{pending['id']}"))["status"] == "cancelled"
    assert (await order_moves(api, pending["id"]))[-1] == ("pending", "cancelled")
    charge = answered(await api.get(f"/v1/charges/{pending['charge_id']}"))
    assert charge["status"] == "invalidated"
    again = await ana.submit(f"{page}/cancel", {})
    assert again.status_code == 409 and 'id="order-problem"' in again.text
    assert (await ana.submit(f"{page}/ship", {})).status_code == 404


async def test_a_viewer_cannot_move_orders(api: TenantClient, console: Console) -> None:
    products = await catalog(api)
    order = await place_order(api, await new_customer(api), products["once"])
    vera = await console(api.tenant.tenant_id, "vera@escola.com.br", ConsoleRole.VIEWER)
    page = await vera.page(f"/console/orders/{order['id']}")
    assert page.status_code == 200 and "/cancel" not in page.text
    assert (await vera.submit(f"/console/orders/{order['id']}/cancel", {})).status_code == 403
    assert answered(await api.get(f"/v1/orders/{order['id']}"))["status"] == "pending"
    assert await order_moves(api, order["id"]) == [(None, "pending")]
