"""Notas fiscais (fiscal/): the settings, a settled charge's invoice written pending and
issued by the issuer relay through the sandbox issuer over loopback HTTP (numbers,
verification code, a valid access key, `fiscal_invoice.issued`), a rejection, a
cancellation, auto-issue on settlement, gap-free numbers under concurrent requests, the XML
valid against the national XSD, the PDF, and another tenant's invoices answered 404."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import nfelib
import pytest
from fastapi import FastAPI
from lxml import etree
from sqlalchemy import select

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.events.models import Event
from assina.fiscal.relay import IssuerRelay, IssuerRelayConfig
from assina.rules.fiscal import is_valid_access_key
from tests.conftest import TenantClient
from tests.integration.charge_support import create_charge, line

SETTINGS = {
    "cnpj": "11.222.333/0001-81",
    "municipal_registration": "123456",
    "municipality_code": "3550308",
    "service_code": "080101",
    "service_description": "Mensalidade escolar",
    "iss_rate_bp": 500,
}
DPS_XSD = Path(nfelib.__file__).parent / "nfse/schemas/v1_0/DPS_v1.01.xsd"


def relay(app: FastAPI, database: Database, clock: FrozenClock) -> IssuerRelay:
    config = IssuerRelayConfig(poll_first=timedelta(0))
    return IssuerRelay(database, clock, app.state.fiscal_issuers, config)


async def configure(api: TenantClient, **changes: Any) -> dict[str, Any]:
    answer = await api.http.put(
        "/v1/fiscal-settings", json={**SETTINGS, **changes}, headers=api.headers
    )
    assert answer.status_code == 200, answer.text
    settings: dict[str, Any] = answer.json()
    return settings


async def settled_charge(api: TenantClient, amount: int = 12345, **fields: Any) -> dict[str, Any]:
    customer = await api.post(
        "/v1/customers",
        {"name": "Ana Souza", "email": "ana@example.com", "document": "529.982.247-25"},
    )
    charge = await create_charge(
        api, customer.json()["id"], items=[line(amount, description="Aula")], **fields
    )
    settled = await api.post(f"/v1/charges/{charge['id']}/settle", {"amount": amount})
    assert settled.status_code == 200, settled.text
    return charge


async def invoice_of(api: TenantClient, charge_id: str, **body: Any) -> Any:
    return await api.post(f"/v1/charges/{charge_id}/fiscal-invoice", body or None)


async def events_of(database: Database, kind: str) -> list[dict[str, Any]]:
    async with database.read() as session:
        found = await session.scalars(select(Event).where(Event.type == kind).order_by(Event.id))
        return [event.data for event in found]


# --- settings ---------------------------------------------------------------------------------


async def test_fiscal_settings_default_then_replaced_and_checked(api: TenantClient) -> None:
    shown = (await api.get("/v1/fiscal-settings")).json()
    assert shown["provider"] == "sandbox" and shown["auto_issue"] is False
    assert shown["cnpj"] is None and shown["updated_at"] is None
    saved = await configure(api)
    assert saved["cnpj"] == "11222333000181" and saved["iss_rate_bp"] == 500
    for field, bad in (
        ("cnpj", "11.222.333/0001-82"),  # wrong check digit
        ("municipality_code", "3550309"),  # wrong IBGE check digit
        ("municipality_code", "9950308"),  # no such state
        ("service_code", "0801"),
        ("iss_rate_bp", 501),
        ("provider", "nfeio"),
    ):
        refused = await api.http.put(
            "/v1/fiscal-settings", json={**SETTINGS, field: bad}, headers=api.headers
        )
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0]["field"].endswith(field)
    assert (await api.get("/v1/fiscal-settings")).json() == saved


# --- issuing ----------------------------------------------------------------------------------


async def test_only_a_settled_charge_is_invoiced(api: TenantClient) -> None:
    await configure(api)
    charge = await create_charge(api)
    refused = await invoice_of(api, charge["id"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("invalid-transition")
    listed = (await api.get("/v1/fiscal-invoices")).json()
    assert listed["data"] == []


async def test_incomplete_settings_are_a_409(api: TenantClient) -> None:
    charge = await settled_charge(api)
    refused = await invoice_of(api, charge["id"])
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("fiscal-settings-incomplete")


async def test_pending_then_issued_by_the_relay_with_its_event(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api)
    charge = await settled_charge(api)
    made = await invoice_of(api, charge["id"])
    assert made.status_code == 201, made.text
    invoice = made.json()
    assert invoice["id"].startswith("nfs_") and invoice["number"] == 1
    assert invoice["status"] == "pending" and invoice["nfse_number"] is None
    assert invoice["amount"] == 12345 and invoice["iss_amount"] == 617  # 5 %, half-even
    assert invoice["service_description"] == "Mensalidade escolar"
    again = await invoice_of(api, charge["id"])
    assert again.status_code == 200 and again.json()["id"] == invoice["id"]

    issuer = relay(app, database, clock)
    await issuer.run_all()  # issue: the sandbox answers pending
    assert (await api.get(f"/v1/fiscal-invoices/{invoice['id']}")).json()["status"] == "pending"
    assert await events_of(database, "fiscal_invoice.issued") == []
    await issuer.run_all()  # the first look-up decides
    issued = (await api.get(f"/v1/fiscal-invoices/{invoice['id']}")).json()
    assert issued["status"] == "issued", issued
    assert issued["nfse_number"] == "1" and len(issued["verification_code"]) == 8
    assert is_valid_access_key(issued["access_key"])
    assert issued["access_key"].startswith("3550308" + "2" + "2" + "11222333000181")
    [event] = await events_of(database, "fiscal_invoice.issued")
    assert event["id"] == invoice["id"] and event["access_key"] == issued["access_key"]
    assert await issuer.run_all() == 0  # nothing more to do
    # Still one invoice for the charge.
    listed = (await api.get("/v1/fiscal-invoices", params={"charge_id": charge["id"]})).json()
    assert [item["id"] for item in listed["data"]] == [invoice["id"]]


async def test_a_rejection_then_the_charge_invoiced_again(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api)
    charge = await settled_charge(api)
    first = (await invoice_of(api, charge["id"], service_description="Por favor REJEITAR")).json()
    issuer = relay(app, database, clock)
    await issuer.run_all()
    await issuer.run_all()
    rejected = (await api.get(f"/v1/fiscal-invoices/{first['id']}")).json()
    assert rejected["status"] == "rejected" and rejected["rejection_reason"]
    assert rejected["nfse_number"] is None
    [event] = await events_of(database, "fiscal_invoice.rejected")
    assert event["id"] == first["id"] and event["status"] == "rejected"
    second = await invoice_of(api, charge["id"])
    assert second.status_code == 201
    assert second.json()["id"] != first["id"] and second.json()["number"] == 2
    listed = (await api.get("/v1/fiscal-invoices", params={"status": "rejected"})).json()
    assert [item["id"] for item in listed["data"]] == [first["id"]]


async def test_cancel_an_issued_invoice_through_the_issuer(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api)
    charge = await settled_charge(api)
    invoice = (await invoice_of(api, charge["id"])).json()
    early = await api.post(f"/v1/fiscal-invoices/{invoice['id']}/cancel", {"reason": "x" * 20})
    assert early.status_code == 409  # still pending
    issuer = relay(app, database, clock)
    await issuer.run_all()
    await issuer.run_all()
    short = await api.post(f"/v1/fiscal-invoices/{invoice['id']}/cancel", {"reason": "engano"})
    assert short.status_code == 422  # xMotivo: 15 to 255 characters
    reason = "Serviço cobrado em duplicidade"
    asked = await api.post(f"/v1/fiscal-invoices/{invoice['id']}/cancel", {"reason": reason})
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "issued" and asked.json()["cancel_reason"] == reason
    twice = await api.post(f"/v1/fiscal-invoices/{invoice['id']}/cancel", {"reason": reason})
    assert twice.status_code == 409
    await issuer.run_all()
    cancelled = (await api.get(f"/v1/fiscal-invoices/{invoice['id']}")).json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None
    [event] = await events_of(database, "fiscal_invoice.cancelled")
    assert event["id"] == invoice["id"]
    assert (await invoice_of(api, charge["id"])).status_code == 201  # invoiced anew


async def test_auto_issue_on_settlement(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api, auto_issue=True)
    charge = await settled_charge(api)
    listed = (await api.get("/v1/fiscal-invoices", params={"charge_id": charge["id"]})).json()
    [invoice] = listed["data"]
    assert invoice["status"] == "pending"
    issuer = relay(app, database, clock)
    await issuer.run_all()
    await issuer.run_all()
    assert (await api.get(f"/v1/fiscal-invoices/{invoice['id']}")).json()["status"] == "issued"


async def test_no_auto_issue_without_the_setting(api: TenantClient) -> None:
    await configure(api)
    await settled_charge(api)
    assert (await api.get("/v1/fiscal-invoices")).json()["data"] == []


async def test_numbers_are_gap_free_under_concurrent_requests(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api)
    charges = [await settled_charge(api, 1000 + index) for index in range(6)]
    asked = [invoice_of(api, charge["id"]) for charge in charges for _ in range(2)]
    answers = await asyncio.gather(*asked)
    assert all(answer.status_code in (200, 201) for answer in answers)
    listed = (await api.get("/v1/fiscal-invoices")).json()["data"]
    assert sorted(item["number"] for item in listed) == list(range(1, 7))
    assert len({item["charge_id"] for item in listed}) == 6
    issuer = relay(app, database, clock)
    await issuer.run_all()
    await issuer.run_all()
    issued = (await api.get("/v1/fiscal-invoices", params={"status": "issued"})).json()["data"]
    assert sorted(int(item["nfse_number"]) for item in issued) == list(range(1, 7))


async def test_the_xml_is_a_dps_the_national_xsd_accepts(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api, iss_retained=True)
    charge = await settled_charge(api, 99999)
    invoice = (await invoice_of(api, charge["id"])).json()
    answer = await api.get(f"/v1/fiscal-invoices/{invoice['id']}.xml")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/xml"
    schema = etree.XMLSchema(etree.parse(str(DPS_XSD)))
    document = etree.fromstring(answer.content)
    assert schema.validate(document), schema.error_log
    ns = {"n": "http://www.sped.fazenda.gov.br/nfse"}
    assert document.findtext(".//n:vServ", namespaces=ns) == "999.99"
    assert document.findtext(".//n:tpRetISSQN", namespaces=ns) == "2"
    assert document.findtext(".//n:toma/n:CPF", namespaces=ns) == "52998224725"


async def test_the_pdf_renders_with_the_numbers(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    from tests.pdf_support import text_of, tools

    _rasteriser, extractor, _decoder = tools()
    await configure(api)
    charge = await settled_charge(api)
    invoice = (await invoice_of(api, charge["id"])).json()
    issuer = relay(app, database, clock)
    await issuer.run_all()
    await issuer.run_all()
    issued = (await api.get(f"/v1/fiscal-invoices/{invoice['id']}")).json()
    answer = await api.get(f"/v1/fiscal-invoices/{invoice['id']}.pdf")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
    path = tmp_path / "nfse.pdf"
    path.write_bytes(answer.content)
    text = " ".join(text_of(extractor, path).split())
    key = issued["access_key"]
    assert " ".join(key[i : i + 5] for i in range(0, 50, 5)) in text
    assert issued["verification_code"] in text
    assert "R$ 123,45" in text and "R$ 6,17" in text
    assert "Número da NFS-e: 1" in text


async def test_another_tenants_invoices_are_404(api: TenantClient, other_api: TenantClient) -> None:
    await configure(api)
    charge = await settled_charge(api)
    invoice = (await invoice_of(api, charge["id"])).json()
    for path in ("", ".pdf", ".xml"):
        assert (
            await other_api.get(f"/v1/fiscal-invoices/{invoice['id']}{path}")
        ).status_code == 404
    cancel = await other_api.post(
        f"/v1/fiscal-invoices/{invoice['id']}/cancel", {"reason": "x" * 20}
    )
    assert cancel.status_code == 404
    assert (await invoice_of(other_api, charge["id"])).status_code == 404
    assert (await other_api.get("/v1/fiscal-invoices")).json()["data"] == []


@pytest.mark.parametrize("amount", [666])
async def test_a_rejecting_amount_is_rejected(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock, amount: int
) -> None:
    await configure(api)
    charge = await settled_charge(api, amount)
    invoice = (await invoice_of(api, charge["id"])).json()
    issuer = relay(app, database, clock)
    await issuer.run_all()
    await issuer.run_all()
    shown = (await api.get(f"/v1/fiscal-invoices/{invoice['id']}")).json()
    assert shown["status"] == "rejected"
