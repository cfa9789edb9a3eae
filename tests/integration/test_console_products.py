"""Produtos in the console: the list, create, edit and deactivate, through the products
service (the API shows the result and the same events), refusals shown in the page; on
both databases."""

from __future__ import annotations

from assina.users.models import ConsoleRole
from tests.assertions import answered
from tests.conftest import TenantClient
from tests.integration.console_lists_support import (
    assert_redirected,
    events_of,
    marked_invalid,
    submit_drawn,
)
from tests.integration.console_support import Console


async def test_products_listed_created_edited_and_deactivated(
    api: TenantClient, console: Console
) -> None:
    made = answered(await api.post("/v1/products", {"name": "Plano Básico", "amount": 9900}), 201)
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br", ConsoleRole.FINANCE)
    listed = await ana.page("/console/products")
    assert listed.status_code == 200
    assert "Produtos" in listed.text and "Plano Básico" in listed.text
    assert "R$\xa099,00" in listed.text or "R$ 99,00" in listed.text

    refused = await submit_drawn(
        ana,
        "/console/products/new",
        "/console/products",
        {"name": "Plano Pro", "amount": "doze", "interval": "month", "interval_count": "1"},
    )
    assert refused.status_code == 422
    assert marked_invalid(refused.text, "amount")
    bad_count = await submit_drawn(
        ana,
        "/console/products/new",
        "/console/products",
        {"name": "Plano Pro", "amount": "10", "interval": "month", "interval_count": "0"},
    )
    assert bad_count.status_code == 422 and marked_invalid(bad_count.text, "interval_count")

    created = await submit_drawn(
        ana,
        "/console/products/new",
        "/console/products",
        {
            "name": "Plano Pro",
            "amount": "1.234,50",
            "interval": "year",
            "interval_count": "1",
            "trial_days": "7",
            "description": "Anual",
        },
    )
    assert_redirected(created, "/console/products")
    products = answered(await api.get("/v1/products"))["data"]
    pro = next(p for p in products if p["name"] == "Plano Pro")
    assert (pro["amount"], pro["interval"], pro["trial_days"], pro["description"]) == (
        123450,
        "year",
        7,
        "Anual",
    )
    assert [e["data"]["id"] for e in await events_of(api, "product.created")] == [
        made["id"],
        pro["id"],
    ]

    edit = await ana.page(f"/console/products/{pro['id']}/edit")
    assert edit.status_code == 200 and 'value="1234,50"' in edit.text
    edited = await ana.submit(
        f"/console/products/{pro['id']}",
        {
            "name": "Plano Pro Anual",
            "amount": "1.300,00",
            "interval": "year",
            "interval_count": "1",
            "trial_days": "7",
            "description": "",
        },
    )
    assert_redirected(edited, "/console/products")
    after_edit = answered(await api.get(f"/v1/products/{pro['id']}"))
    assert (after_edit["name"], after_edit["amount"], after_edit["description"]) == (
        "Plano Pro Anual",
        130000,
        None,
    )
    assert len(await events_of(api, "product.updated")) == 1

    deactivated = await submit_drawn(
        ana, "/console/products", f"/console/products/{pro['id']}/deactivate", {}
    )
    assert_redirected(deactivated, "/console/products")
    assert answered(await api.get(f"/v1/products/{pro['id']}"))["status"] == "inactive"
    assert [e["data"]["id"] for e in await events_of(api, "product.deactivated")] == [pro["id"]]
    inactive = await ana.page("/console/products?status=inactive")
    assert "Plano Pro Anual" in inactive.text and "Plano Básico" not in inactive.text

    again = await ana.submit(f"/console/products/{pro['id']}/deactivate", {})
    assert again.status_code == 409 and "already inactive" in again.text
    assert len(await events_of(api, "product.deactivated")) == 1


async def test_a_viewer_cannot_change_products(api: TenantClient, console: Console) -> None:
    made = answered(await api.post("/v1/products", {"name": "Plano", "amount": 100}), 201)
    vera = await console(api.tenant.tenant_id, "vera@escola.com.br", ConsoleRole.VIEWER)
    listed = await vera.page("/console/products")
    assert listed.status_code == 200 and "Plano" in listed.text
    assert "/deactivate" not in listed.text and "/console/products/new" not in listed.text
    for path in (
        "/console/products",
        f"/console/products/{made['id']}",
        f"/console/products/{made['id']}/deactivate",
    ):
        refused = await vera.submit(path, {"name": "X", "amount": "1"})
        assert refused.status_code == 403, path
    assert answered(await api.get(f"/v1/products/{made['id']}"))["status"] == "active"
    assert await events_of(api, "product.deactivated") == []
