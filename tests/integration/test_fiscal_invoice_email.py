"""The customer's e-mail when a nota fiscal is issued (`fiscal_invoice`), on both backends:
issued by the sandbox issuer through the issuer relay, the e-mail is queued with the
invoice's numbers, codes, amount and the national portal's link, and sent to a real SMTP
server (aiosmtpd) in pt-BR with the invoice's PDF attached; the tenant's own template, a
disabled kind, an English-locale tenant, a customer without an address, and a preview of a
real invoice."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any, cast
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.charge_support import create_charge, line
from tests.integration.email_support import parts, put, sender_for, smtp_server
from tests.integration.test_fiscal_invoices import configure, invoice_of, relay, settled_charge

# The other e-mails a settled charge causes, off: the SMTP server sees only the invoice's.
OTHER_KINDS = ["charge_created", "receipt"]
CONSULTATION = "https://www.nfse.gov.br/ConsultaPublica/?tpc=1&chave="


async def email_settings(api: TenantClient, **changes: Any) -> None:
    answer = await put(api, "/v1/email-settings", {"disabled_kinds": OTHER_KINDS, **changes})
    assert answer.status_code == 200, answer.text


async def issued_invoice(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock, charge_id: str
) -> dict[str, Any]:
    """The charge's invoice, issued by the sandbox issuer: the relay issues, then looks up."""
    made = await invoice_of(api, charge_id)
    assert made.status_code == 201, made.text
    await relay(app, database, clock).run_all()
    await relay(app, database, clock).run_all()
    invoice: dict[str, Any] = (await api.get(f"/v1/fiscal-invoices/{made.json()['id']}")).json()
    assert invoice["status"] == "issued", invoice
    return invoice


async def invoice_emails(api: TenantClient) -> list[dict[str, Any]]:
    listed = await api.get("/v1/emails", params={"kind": "fiscal_invoice"})
    assert listed.status_code == 200, listed.text
    emails: list[dict[str, Any]] = listed.json()["data"]
    return emails


def issue_day(invoice: dict[str, Any], english: bool = False) -> str:
    issued = datetime.fromisoformat(invoice["issued_at"]).astimezone(ZoneInfo("America/Sao_Paulo"))
    if english:
        return f"{issued:%B} {issued.day}, {issued.year}"
    return f"{issued:%d/%m/%Y}"


def attachment_of(message: EmailMessage) -> tuple[str | None, bytes]:
    [attachment] = list(message.iter_attachments())
    part = cast(EmailMessage, attachment)
    return part.get_filename(), cast(bytes, part.get_content())


async def test_an_issued_invoice_emails_its_customer_in_pt_br_with_the_pdf(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api)
    await email_settings(api)
    charge = await settled_charge(api, amount=123456)
    invoice = await issued_invoice(api, app, database, clock, charge["id"])

    [queued] = await invoice_emails(api)
    assert queued["status"] == "pending" and queued["to"] == "ana@example.com"
    assert queued["fiscal_invoice_id"] == invoice["id"]
    assert queued["charge_id"] == charge["id"]
    assert queued["customer_id"] == charge["customer_id"]
    nfse = invoice["nfse_number"]
    assert queued["subject"] == f"Nota fiscal emitida: NFS-e nº {nfse}"
    detail = (await api.get(f"/v1/emails/{queued['id']}")).json()
    text = detail["text"]
    assert text.startswith("Olá, Ana Souza!")
    assert (
        f"Emitimos a nota fiscal de serviço (NFS-e) nº {nfse}, no valor de R$ 1.234,56, em "
        f"{issue_day(invoice)}, referente à cobrança nº {charge['number']}." in text
    )
    assert f"Código de verificação: {invoice['verification_code']}" in text
    assert invoice["access_key"] in text and "Serviço: Mensalidade escolar" in text
    assert CONSULTATION + invoice["access_key"] in text
    assert f'href="{CONSULTATION}{invoice["access_key"]}"' in detail["html"].replace("&amp;", "&")
    # The relay running again (nothing to do) queues nothing more.
    await relay(app, database, clock).run_all()
    assert len(await invoice_emails(api)) == 1

    pdf = await api.get(f"/v1/fiscal-invoices/{invoice['id']}.pdf")
    with smtp_server() as server:
        assert await sender_for(database, clock, server.url).send_once() == 1
        [message] = server.mailbox.messages()
    assert message["Subject"] == f"Nota fiscal emitida: NFS-e nº {nfse}"
    assert message["To"] == "ana@example.com"
    body, html = parts(message)
    assert body == text and html is not None and invoice["access_key"] in html
    filename, content = attachment_of(message)
    assert filename == f"nfse-{nfse}.pdf" and content.startswith(b"%PDF")
    assert content == pdf.content  # the invoice's own page, rendered when sent
    sent = (await api.get(f"/v1/emails/{queued['id']}")).json()
    assert sent["status"] == "sent"


async def test_the_tenant_edits_the_template_then_disables_the_kind(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api)
    await email_settings(api)
    default = (await api.get("/v1/email-templates/fiscal_invoice")).json()
    assert default["customized"] is False and "{{ invoice.access_key }}" in default["text"]
    names = {variable["name"] for variable in default["variables"]}
    assert {"invoice.nfse_number", "invoice.consultation_url", "charge.description"} <= names
    template = {
        "subject": "NF {{ invoice.nfse_number }} ({{ invoice.number }}) — {{ charge.description }}",
        "html": "",
        "text": "{{ customer.name }}: {{ invoice.amount }}, {{ invoice.verification_code }}\n"
        "{{ invoice.consultation_url }}\n",
    }
    refused = await put(
        api, "/v1/email-templates/fiscal_invoice", {**template, "text": "{{ charge.amount }}"}
    )
    assert refused.status_code == 422, refused.text  # not a variable of this kind
    assert refused.json()["errors"][0]["field"] == "text"
    saved = await put(api, "/v1/email-templates/fiscal_invoice", template)
    assert saved.status_code == 200, saved.text

    charge = await settled_charge(api, amount=5000)
    invoice = await issued_invoice(api, app, database, clock, charge["id"])
    [queued] = await invoice_emails(api)
    nfse, number = invoice["nfse_number"], invoice["number"]
    assert queued["subject"] == f"NF {nfse} ({number}) — Aula"
    detail = (await api.get(f"/v1/emails/{queued['id']}")).json()
    assert detail["text"] == (
        f"Ana Souza: R$ 50,00, {invoice['verification_code']}\n"
        f"{CONSULTATION}{invoice['access_key']}\n"
    )
    assert detail["html"] == ""

    # A preview of that real invoice renders the same.
    preview = await api.post(
        "/v1/email-templates/fiscal_invoice/preview", {"fiscal_invoice_id": invoice["id"]}
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["subject"] == queued["subject"]
    assert preview.json()["text"] == detail["text"]
    other = await api.post(
        "/v1/email-templates/fiscal_invoice/preview", {"fiscal_invoice_id": "nfs_nope"}
    )
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "fiscal_invoice_id"

    await email_settings(api, disabled_kinds=[*OTHER_KINDS, "fiscal_invoice"])
    second = await settled_charge(api, amount=7000)
    await issued_invoice(api, app, database, clock, second["id"])
    assert [email["id"] for email in await invoice_emails(api)] == [queued["id"]]


async def test_an_english_tenant_gets_the_english_default(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api)
    await email_settings(api, locale="en")
    charge = await settled_charge(api, amount=123456)
    invoice = await issued_invoice(api, app, database, clock, charge["id"])
    nfse = invoice["nfse_number"]
    with smtp_server() as server:
        assert await sender_for(database, clock, server.url).send_once() == 1
        [message] = server.mailbox.messages()
    assert message["Subject"] == f"Invoice issued: NFS-e no. {nfse}"
    text, _html = parts(message)
    assert text.startswith("Hello Ana Souza,")
    assert (
        f"We have issued the service invoice (NFS-e) no. {nfse}, of R$1,234.56, on "
        f"{issue_day(invoice, english=True)}, for charge no. {charge['number']}." in text
    )
    assert f"Verification code: {invoice['verification_code']}" in text
    assert "Olá" not in text
    filename, _content = attachment_of(message)
    assert filename == f"nfse-{nfse}.pdf"


async def test_a_customer_without_an_address_is_sent_nothing(
    api: TenantClient, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    await configure(api)
    await email_settings(api)
    customer = await api.post("/v1/customers", {"name": "Sem E-mail"})
    assert customer.status_code == 201, customer.text
    charge = await create_charge(api, customer.json()["id"], items=[line(9000)])
    settled = await api.post(f"/v1/charges/{charge['id']}/settle", {"amount": 9000})
    assert settled.status_code == 200, settled.text
    await issued_invoice(api, app, database, clock, charge["id"])
    [kept] = await invoice_emails(api)
    assert kept["status"] == "no_recipient" and kept["to"] is None
    with smtp_server() as server:
        assert await sender_for(database, clock, server.url).send_once() == 0
        assert server.mailbox.messages() == []
