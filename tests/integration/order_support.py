"""Helpers for the orders and checkout tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import TenantClient
from tests.integration.charge_support import new_product
from tests.integration.fuzz_support import event_log


async def catalog(api: TenantClient) -> dict[str, str]:
    """A monthly, a yearly and a one-off product: their ids by interval."""
    monthly = await new_product(api, name="Mensalidade", amount=45_000, interval="month")
    yearly = await new_product(api, name="Anuidade", amount=120_000, interval="year")
    once = await new_product(api, name="Matrícula", amount=15_000, interval="once")
    return {"month": monthly["id"], "year": yearly["id"], "once": once["id"]}


async def place_order(
    api: TenantClient, customer_id: str, *product_ids: str, **fields: Any
) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "items": [{"product_id": product_id} for product_id in product_ids],
        **fields,
    }
    response = await api.post("/v1/orders", body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def read(api: TenantClient, path: str) -> dict[str, Any]:
    response = await api.get(path)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def order_moves(api: TenantClient, order_id: str) -> list[tuple[str | None, str]]:
    """The order's `order.status_changed` events, oldest first: (from, to)."""
    return [
        (event["data"]["from"], event["data"]["to"])
        for event in await event_log(api)
        if event["type"] == "order.status_changed" and event["data"]["id"] == order_id
    ]


async def contract_charges(api: TenantClient, contract_id: str) -> list[dict[str, Any]]:
    listed = await read(api, f"/v1/charges?contract_id={contract_id}&limit=100")
    charges: list[dict[str, Any]] = listed["data"]
    return charges
