"""Contratos in the console: the list by status and customer, a contract's page, create with
items, readjust and cancel, through the contracts service (the API shows the result and the
same events), refusals shown in the page; on both databases."""

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
from tests.integration.contract_support import new_customer, new_product, post_contract

NEW = "/console/contracts/new"


async def test_a_contract_created_with_items_readjusted_and_cancelled(
    api: TenantClient, console: Console
) -> None:
    ana_id = await new_customer(api, "Ana Souza")
    monthly = await new_product(api, name="Mensalidade", amount=10000)
    yearly = await new_product(api, name="Anuidade", amount=90000, interval="year")
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br", ConsoleRole.FINANCE)

    customer_page = await ana.page(f"/console/customers/{ana_id}")
    assert f'href="{NEW}?customer_id={ana_id}"' in customer_page.text
    form = await ana.page(f"{NEW}?customer_id={ana_id}")
    assert form.status_code == 200
    assert f'<option value="{ana_id}" selected>' in form.text
    assert "Mensalidade" in form.text and "Anuidade" in form.text

    mixed = await submit_drawn(
        ana,
        NEW,
        "/console/contracts",
        {
            "customer_id": ana_id,
            "items.0.product_id": monthly["id"],
            "items.0.quantity": "2",
            "items.2.product_id": yearly["id"],
            "items.2.quantity": "1",
        },
    )  # one interval per contract: the API's 422 names items.1, the form's third row
    assert mixed.status_code == 422
    assert marked_invalid(mixed.text, "items.2.product_id")
    no_items = await submit_drawn(ana, NEW, "/console/contracts", {"customer_id": ana_id})
    assert no_items.status_code == 422 and "Corrija os campos indicados." in no_items.text
    bad_quantity = await submit_drawn(
        ana,
        NEW,
        "/console/contracts",
        {"customer_id": ana_id, "items.0.product_id": monthly["id"], "items.0.quantity": "0"},
    )
    assert bad_quantity.status_code == 422
    assert marked_invalid(bad_quantity.text, "items.0.quantity")
    assert answered(await api.get("/v1/contracts"))["data"] == []

    created = await submit_drawn(
        ana,
        NEW,
        "/console/contracts",
        {
            "customer_id": ana_id,
            "items.1.product_id": monthly["id"],
            "items.1.quantity": "2",
            "payment_method": "pix",
            "billing_day": "10",
        },
    )
    location = assert_redirected(created, "/console/contracts/ctr_")
    contract_id = location.rsplit("/", 1)[1]
    contract = answered(await api.get(f"/v1/contracts/{contract_id}"))
    assert (contract["customer_id"], contract["amount"], contract["payment_method"]) == (
        ana_id,
        20000,
        "pix",
    )
    assert contract["billing_day"] == 10
    assert [e["data"]["id"] for e in await events_of(api, "contract.created")] == [contract_id]

    listed = await ana.page(f"/console/contracts?customer_id={ana_id}")
    assert "Ana Souza" in listed.text and f"/console/contracts/{contract_id}" in listed.text
    cancelled_only = await ana.page("/console/contracts?status=cancelled")
    assert f"/console/contracts/{contract_id}" not in cancelled_only.text
    shown = await ana.page(f"/console/contracts/{contract_id}")
    assert shown.status_code == 200 and "Mensalidade" in shown.text
    assert "Próxima cobrança" in shown.text

    both = await submit_drawn(
        ana,
        f"/console/contracts/{contract_id}",
        f"/console/contracts/{contract_id}/readjust",
        {"percent": "4,5", "index": "IPCA", "reference_month": "2025-12"},
    )
    assert both.status_code == 422 and 'role="alert"' in both.text
    readjusted = await submit_drawn(
        ana,
        f"/console/contracts/{contract_id}",
        f"/console/contracts/{contract_id}/readjust",
        {"percent": "10", "index": "", "reference_month": ""},
    )
    assert_redirected(readjusted, f"/console/contracts/{contract_id}")
    assert answered(await api.get(f"/v1/contracts/{contract_id}"))["amount"] == 22000
    [readjust_event] = await events_of(api, "contract.readjusted")
    assert readjust_event["data"]["readjustment"]["percent"] == "10.0000"

    cancelled = await submit_drawn(
        ana,
        f"/console/contracts/{contract_id}",
        f"/console/contracts/{contract_id}/cancel",
        {"reason": "Mudou de escola"},
    )
    assert_redirected(cancelled, f"/console/contracts/{contract_id}")
    after = answered(await api.get(f"/v1/contracts/{contract_id}"))
    assert (after["status"], after["cancel_reason"]) == ("cancelled", "Mudou de escola")
    assert [e["data"]["id"] for e in await events_of(api, "contract.cancelled")] == [contract_id]
    again = await ana.submit(f"/console/contracts/{contract_id}/cancel", {"reason": ""})
    assert again.status_code == 409 and 'id="contract-problem"' in again.text
    assert len(await events_of(api, "contract.cancelled")) == 1


async def test_a_cancel_at_the_period_end_waits(api: TenantClient, console: Console) -> None:
    contract = await post_contract(api, await new_customer(api), [await new_product(api)])
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br", ConsoleRole.FINANCE)
    answer = await ana.submit(
        f"/console/contracts/{contract['id']}/cancel", {"at_period_end": "on"}
    )
    assert_redirected(answer, f"/console/contracts/{contract['id']}")
    after = answered(await api.get(f"/v1/contracts/{contract['id']}"))
    assert after["cancel_at_period_end"] is True and after["status"] == "active"
    assert await events_of(api, "contract.cancelled") == []
    page = await ana.page(f"/console/contracts/{contract['id']}")
    assert "Será cancelado em" in page.text and "/cancel" not in page.text


async def test_a_viewer_cannot_change_contracts(api: TenantClient, console: Console) -> None:
    customer_id = await new_customer(api)
    product = await new_product(api)
    contract = await post_contract(api, customer_id, [product])
    vera = await console(api.tenant.tenant_id, "vera@escola.com.br", ConsoleRole.VIEWER)
    page = await vera.page(f"/console/contracts/{contract['id']}")
    assert page.status_code == 200 and "/readjust" not in page.text
    assert "/console/contracts/new" not in (await vera.page("/console/contracts")).text
    assert (await vera.page(NEW)).status_code == 403
    for path, form in [
        ("/console/contracts", {"customer_id": customer_id, "items.0.product_id": product["id"]}),
        (f"/console/contracts/{contract['id']}/cancel", {}),
        (f"/console/contracts/{contract['id']}/readjust", {"percent": "5"}),
    ]:
        assert (await vera.submit(path, form)).status_code == 403, path
    after = answered(await api.get(f"/v1/contracts/{contract['id']}"))
    assert (after["status"], after["amount"]) == ("active", 10000)
    assert len(answered(await api.get("/v1/contracts"))["data"]) == 1
