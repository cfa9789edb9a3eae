"""Notas fiscais in the console: issued from a settled charge's page as POST
/v1/charges/{id}/fiscal-invoice does (the same refusals), listed, read with its PDF and XML,
and a cancellation its status forbids shown in the page; on both databases."""

from __future__ import annotations

from fastapi import FastAPI

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.users.models import ConsoleRole
from tests.conftest import TenantClient
from tests.integration.console_support import Console, idempotency_key_of
from tests.integration.test_fiscal_invoices import relay

FISCAL_SETTINGS = {
    "cnpj": "11222333000181",
    "municipality_code": "3550308",
    "service_code": "080101",
    "iss_rate_bp": 500,
}


async def _settled_charge(api: TenantClient) -> str:
    customer = (await api.post("/v1/customers", {"name": "Ana Souza"})).json()
    lines = [{"description": "Aula", "amount": 5000}]
    body = {"customer_id": customer["id"], "items": lines, "due_date": "2026-02-10"}
    charge = (await api.post("/v1/charges", body)).json()
    settled = await api.post(f"/v1/charges/{charge['id']}/settle", {"amount": 5000})
    assert settled.status_code == 200, settled.text
    charge_id: str = charge["id"]
    return charge_id


async def test_a_nota_fiscal_issued_from_the_charge_page(
    api: TenantClient, console: Console, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    charge_id = await _settled_charge(api)
    fin = await console(api.tenant.tenant_id, "fin@escola.com.br", ConsoleRole.FINANCE)
    page = await fin.page(f"/console/charges/{charge_id}")
    assert "Emitir nota fiscal" in page.text
    refused = await fin.submit(f"/console/charges/{charge_id}/fiscal-invoice", {})
    assert refused.status_code == 409  # no fiscal settings yet: shown on the charge's page
    assert 'id="charge-problem"' in refused.text
    assert (await api.get("/v1/fiscal-invoices")).json()["data"] == []

    saved = await api.http.put("/v1/fiscal-settings", json=FISCAL_SETTINGS, headers=api.headers)
    assert saved.status_code == 200, saved.text
    key = idempotency_key_of(page.text)
    issued = await fin.submit(
        f"/console/charges/{charge_id}/fiscal-invoice", {"idempotency_key": key}
    )
    assert issued.status_code == 303, issued.text
    again = await fin.submit(f"/console/charges/{charge_id}/fiscal-invoice", {})
    assert again.headers["location"] == issued.headers["location"]  # the live one, not two
    invoices = (await api.get("/v1/fiscal-invoices")).json()["data"]
    assert [(i["charge_id"], i["status"]) for i in invoices] == [(charge_id, "pending")]
    invoice_id = invoices[0]["id"]
    assert issued.headers["location"] == f"/console/fiscal-invoices/{invoice_id}"

    listed = await fin.page("/console/fiscal-invoices?status=pending")
    assert f"/console/fiscal-invoices/{invoice_id}" in listed.text and "Ana Souza" in listed.text
    shown = await fin.page(f"/console/fiscal-invoices/{invoice_id}")
    assert "R$ 50,00" in shown.text and "Pendente" in shown.text
    assert "Cancelar nota fiscal" not in shown.text  # only an issued one is cancelled
    pdf = await fin.page(f"/console/fiscal-invoices/{invoice_id}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    xml = await fin.page(f"/console/fiscal-invoices/{invoice_id}.xml")
    assert xml.headers["content-type"].startswith("application/xml") and b"<DPS" in xml.content
    reason = "Serviço cobrado em duplicidade"
    early = await fin.submit(f"/console/fiscal-invoices/{invoice_id}/cancel", {"reason": reason})
    assert early.status_code == 409 and 'id="invoice-problem"' in early.text

    issuer = relay(app, database, clock)
    await issuer.run_all()  # the sandbox issuer takes it…
    await issuer.run_all()  # …and its look-up decides: issued
    issued_page = await fin.page(f"/console/fiscal-invoices/{invoice_id}")
    assert "Emitida" in issued_page.text and "Cancelar nota fiscal" in issued_page.text
    short = await fin.submit(f"/console/fiscal-invoices/{invoice_id}/cancel", {"reason": "curto"})
    assert short.status_code == 422 and 'id="e-reason"' in short.text
    assert (await api.get(f"/v1/fiscal-invoices/{invoice_id}")).json()["cancel_reason"] is None
    asked = await fin.submit(f"/console/fiscal-invoices/{invoice_id}/cancel", {"reason": reason})
    assert asked.status_code == 303
    after = (await api.get(f"/v1/fiscal-invoices/{invoice_id}")).json()
    assert after["status"] == "issued" and after["cancel_reason"] == reason


async def test_a_viewer_issues_no_nota_fiscal(api: TenantClient, console: Console) -> None:
    charge_id = await _settled_charge(api)
    await api.http.put("/v1/fiscal-settings", json=FISCAL_SETTINGS, headers=api.headers)
    vera = await console(api.tenant.tenant_id, "vera@escola.com.br", ConsoleRole.VIEWER)
    assert "Emitir nota fiscal" not in (await vera.page(f"/console/charges/{charge_id}")).text
    refused = await vera.submit(f"/console/charges/{charge_id}/fiscal-invoice", {})
    assert refused.status_code == 403
    assert (await api.get("/v1/fiscal-invoices")).json()["data"] == []
