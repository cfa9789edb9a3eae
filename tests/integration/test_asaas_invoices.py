"""Asaas as the fiscal issuer (fiscal/asaas.py) against the Asaas stand-in over real HTTP: an
NFS-e scheduled on the charge's payment or on the customer, decided by the municipality the
stand-in plays, retried without a second invoice, refused, cancelled, its PDF and XML. Expected
values come from the orders and from the stand-in's own state, never from the adapter's code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import aiohttp
import pytest

from assina.fiscal.asaas import AsaasInvoices, MunicipalService
from assina.fiscal.providers import (
    Emitter,
    InvoiceOrder,
    IssuerStatus,
    ProviderRefused,
    ProviderUnavailable,
    Taker,
)
from assina.payments.asaas.adapter import AsaasProvider
from assina.payments.asaas.client import AsaasRefused
from tests.integration.asaas_adapter_support import TODAY, client_for, order
from tests.integration.asaas_standin import STANDIN_API_KEY, AsaasStandin

EMITTER = Emitter(
    cnpj="11222333000181",
    municipal_registration="123456",
    municipality_code="4209102",  # Joinville
    name="Academia Exemplo",
)
TAKER = Taker(
    customer_id="cus_assina_ana",
    name="Ana Souza",
    document="52998224725",
    email="ana@example.com",
)
REFUSAL = "Código de serviço não permitido para o município."
DENIAL = "Prazo para cancelamento da nota fiscal expirado."


def invoice_order(
    invoice_id: str = "nfs_0001",
    *,
    charge_id: str = "chg_0001",
    taker: Taker = TAKER,
    amount: int = 12990,
    rate_bp: int = 250,
    retained: bool = False,
) -> InvoiceOrder:
    iss = (Decimal(amount) * rate_bp / 10000).quantize(Decimal(1), ROUND_HALF_EVEN)
    return InvoiceOrder(
        invoice_id=invoice_id,
        invoice_number=7,
        idempotency_key=f"key-{invoice_id}",
        charge_id=charge_id,
        emitter=EMITTER,
        taker=taker,
        amount=amount,
        iss_rate_bp=rate_bp,
        iss_amount=int(iss),
        iss_retained=retained,
        service_code="060101",
        service_description="Mensalidade do plano Ouro, março de 2026",
        competence_date=date(2026, 3, 1),
        requested_at=datetime(2026, 3, 2, 12, tzinfo=UTC),
    )


@pytest.fixture
async def invoices(asaas_standin: AsaasStandin) -> AsyncIterator[AsaasInvoices]:
    async with client_for(asaas_standin) as client:
        yield AsaasInvoices(client, asaas_standin.clock)


async def paid_charge(asaas: AsaasProvider, standin: AsaasStandin, charge_id: str) -> str:
    """A charge registered with Asaas (a boleto) and paid: its Asaas payment's id."""
    registered = await asaas.register_boleto(order(charge_id))
    await standin.receive_payment(registered.provider_payment_id)
    return registered.provider_payment_id


def scheduled(standin: AsaasStandin) -> list[Any]:
    return [request.body for request in standin.requests_to("POST", "/v3/invoices")]


# --- issuing --------------------------------------------------------------------------------


async def test_a_charge_paid_through_asaas_is_invoiced_on_its_payment_then_issued(
    invoices: AsaasInvoices, asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    payment_id = await paid_charge(asaas, asaas_standin, "chg_0001")
    pending = await invoices.issue(invoice_order())
    assert pending.status == IssuerStatus.PENDING
    assert (pending.nfse_number, pending.verification_code) == (None, None)
    assert list(asaas_standin.invoices) == [pending.provider_invoice_id]
    assert scheduled(asaas_standin) == [
        {
            "payment": payment_id,
            "serviceDescription": "Mensalidade do plano Ouro, março de 2026",
            "observations": "Competência 01/03/2026. Nota 7 (nfs_0001) da cobrança chg_0001.",
            "externalReference": "nfs_0001",
            "value": 129.9,
            "deductions": 0,
            "effectiveDate": TODAY.isoformat(),  # Asaas's today: issued within minutes
            "municipalServiceCode": "06.01.01",
            "municipalServiceName": "06.01.01",
            "taxes": {
                "retainIss": False,
                "iss": 2.5,
                "cofins": 0,
                "csll": 0,
                "inss": 0,
                "ir": 0,
                "pis": 0,
            },
        }
    ]
    # The invoice hangs on the payment: no customer lookup, the boleto's registration made one.
    assert len(asaas_standin.requests_to("POST", "/v3/customers")) == 1
    assert len(asaas_standin.requests_to("GET", "/v3/customers")) == 1
    issued = await invoices.look_up(pending.provider_invoice_id)
    made = asaas_standin.invoices[pending.provider_invoice_id]
    assert made.status == "AUTHORIZED" and made.number and made.validation_code
    assert issued.status == IssuerStatus.ISSUED
    assert (issued.nfse_number, issued.verification_code) == (made.number, made.validation_code)
    assert issued.reason is None


async def test_a_charge_not_paid_through_asaas_is_invoiced_on_its_customer(
    invoices: AsaasInvoices, asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    # The charge has an Asaas boleto it was not paid by (settled elsewhere): not invoiced.
    await asaas.register_boleto(order("chg_0001"))
    pending = await invoices.issue(invoice_order(retained=True, rate_bp=200))
    sent = scheduled(asaas_standin)[0]
    (customer_id,) = asaas_standin.customers
    assert asaas_standin.customers[customer_id]["externalReference"] == "cus_assina_ana"
    assert "payment" not in sent and sent["customer"] == customer_id
    assert sent["taxes"]["retainIss"] is True and sent["taxes"]["iss"] == 2
    assert asaas_standin.invoices[pending.provider_invoice_id].customer == customer_id
    assert (await invoices.look_up(pending.provider_invoice_id)).status == IssuerStatus.ISSUED


async def test_a_customer_new_to_asaas_is_created_with_assina_s_reference(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    await invoices.issue(invoice_order())
    created = asaas_standin.requests_to("POST", "/v3/customers")
    assert [request.body for request in created] == [
        {
            "name": "Ana Souza",
            "cpfCnpj": "52998224725",
            "externalReference": "cus_assina_ana",
            "notificationDisabled": True,
            "email": "ana@example.com",
        }
    ]


async def test_a_taker_without_a_document_is_refused_before_anything_is_scheduled(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    with pytest.raises(ProviderRefused, match="CPF or CNPJ"):
        await invoices.issue(invoice_order(taker=replace(TAKER, document=None)))
    assert scheduled(asaas_standin) == [] and asaas_standin.invoices == {}
    asked = len(asaas_standin.requests)
    with pytest.raises(ProviderRefused, match="cTribNac"):
        await invoices.issue(replace(invoice_order(), service_code="6.01"))
    assert len(asaas_standin.requests) == asked  # nothing asked of Asaas


async def test_a_municipal_service_id_of_the_account_is_sent_instead_of_the_code(
    asaas_standin: AsaasStandin,
) -> None:
    (service_id,) = asaas_standin.municipal_services
    service = MunicipalService(id=service_id, name="Academias e ginástica")
    async with client_for(asaas_standin) as client:
        issued = await AsaasInvoices(client, asaas_standin.clock, municipal_service=service).issue(
            invoice_order()
        )
    sent = scheduled(asaas_standin)[0]
    assert (sent["municipalServiceId"], sent["municipalServiceName"]) == (service.id, service.name)
    assert "municipalServiceCode" not in sent
    assert asaas_standin.invoices[issued.provider_invoice_id].municipal_service_id == service_id


async def test_what_asaas_refuses_is_refused_with_its_codes(asaas_standin: AsaasStandin) -> None:
    service = MunicipalService(id="999999")  # not in the account's municipality's list
    async with client_for(asaas_standin) as client:
        with pytest.raises(AsaasRefused, match="Serviço municipal não encontrado") as refused:
            await AsaasInvoices(client, asaas_standin.clock, municipal_service=service).issue(
                invoice_order()
            )
    assert (refused.value.status, refused.value.codes) == (
        400,
        frozenset({"invalid_municipalServiceId"}),
    )
    assert asaas_standin.invoices == {}


async def test_the_municipality_refusing_is_rejected_with_its_reason(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    asaas_standin.invoice_refusal = REFUSAL
    pending = await invoices.issue(invoice_order())
    assert pending.status == IssuerStatus.PENDING
    rejected = await invoices.look_up(pending.provider_invoice_id)
    assert (rejected.status, rejected.reason, rejected.nfse_number) == (
        IssuerStatus.REJECTED,
        REFUSAL,
        None,
    )
    # Asked again (a retry of the same attempt), the rejected invoice is the answer.
    again = await invoices.issue(invoice_order())
    assert (again.provider_invoice_id, again.status) == (
        pending.provider_invoice_id,
        IssuerStatus.REJECTED,
    )
    assert len(scheduled(asaas_standin)) == 1


# --- retries and failures -------------------------------------------------------------------


async def test_a_retry_after_a_lost_answer_makes_one_invoice(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    asaas_standin.faults.lose_answer_to("POST", "/v3/invoices")
    with pytest.raises(ProviderUnavailable):
        await invoices.issue(invoice_order())
    assert len(asaas_standin.invoices) == 1  # Asaas made it; its answer was lost
    retried = await invoices.issue(invoice_order())
    assert list(asaas_standin.invoices) == [retried.provider_invoice_id]
    assert len(scheduled(asaas_standin)) == 1
    lookups = asaas_standin.requests_to("GET", "/v3/invoices")
    assert [r.query["externalReference"] for r in lookups] == ["nfs_0001"] * 2


async def test_an_issued_invoice_asked_again_is_answered_as_it_is(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    first = await invoices.issue(invoice_order())
    issued = await invoices.look_up(first.provider_invoice_id)
    again = await invoices.issue(invoice_order())
    assert again == issued and again.status == IssuerStatus.ISSUED
    other = await invoices.issue(invoice_order("nfs_0002"))
    assert other.provider_invoice_id != first.provider_invoice_id
    assert len(scheduled(asaas_standin)) == 2


async def test_an_invoice_scheduled_for_a_later_day_is_authorised_now(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    """One a previous try (or a person, in Asaas's panel) scheduled for tomorrow: assina
    invoices a charge already settled, so it asks Asaas to issue it now."""
    customer_id = await invoices_customer(asaas_standin)
    body = {
        "customer": customer_id,
        "serviceDescription": "Mensalidade",
        "observations": "Agendada",
        "externalReference": "nfs_0001",
        "value": 129.9,
        "deductions": 0,
        "effectiveDate": (TODAY + timedelta(days=1)).isoformat(),
        "municipalServiceCode": "06.01.01",
        "municipalServiceName": "06.01.01",
        "taxes": {
            "retainIss": False,
            "iss": 2.5,
            "cofins": 0,
            "csll": 0,
            "inss": 0,
            "ir": 0,
            "pis": 0,
        },
    }
    made = await call(asaas_standin, "POST", "/invoices", body)
    asaas_standin.decide_invoices_on_read = False
    answer = await invoices.issue(invoice_order())
    assert (answer.provider_invoice_id, answer.status) == (made["id"], IssuerStatus.PENDING)
    assert len(asaas_standin.requests_to("POST", f"/v3/invoices/{made['id']}/authorize")) == 1
    invoice = asaas_standin.invoices[made["id"]]
    assert (invoice.status, invoice.effective_date) == ("SYNCHRONIZED", TODAY)
    assert len(scheduled(asaas_standin)) == 1  # the test's own, none by the adapter


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_5xx_or_a_429_is_unavailable_and_the_retry_makes_one_invoice(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin, status: int
) -> None:
    asaas_standin.faults.fail_next(1, status=status)
    with pytest.raises(ProviderUnavailable, match=str(status)):
        await invoices.issue(invoice_order())
    issued = await invoices.issue(invoice_order())
    assert list(asaas_standin.invoices) == [issued.provider_invoice_id]


async def test_a_timeout_is_unavailable(asaas_standin: AsaasStandin) -> None:
    asaas_standin.faults.hold_next(1)
    async with client_for(asaas_standin, timeout=timedelta(milliseconds=200)) as client:
        invoices = AsaasInvoices(client, asaas_standin.clock)
        with pytest.raises(ProviderUnavailable, match="in time"):
            await invoices.issue(invoice_order())
        assert (await invoices.issue(invoice_order())).status == IssuerStatus.PENDING
    assert len(asaas_standin.invoices) == 1


# --- cancelling -----------------------------------------------------------------------------


async def issued_invoice(invoices: AsaasInvoices) -> str:
    pending = await invoices.issue(invoice_order())
    assert (await invoices.look_up(pending.provider_invoice_id)).status == IssuerStatus.ISSUED
    return pending.provider_invoice_id


async def test_an_issued_invoice_is_cancelled_through_the_municipality(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    invoice_id = await issued_invoice(invoices)
    reason = "Serviço cobrado em duplicidade pelo emitente."
    cancelling = await invoices.cancel(invoice_id, reason)
    assert cancelling.status == IssuerStatus.CANCELLING
    assert asaas_standin.invoices[invoice_id].status == "PROCESSING_CANCELLATION"
    cancelled = await invoices.look_up(invoice_id)
    assert cancelled.status == IssuerStatus.CANCELLED
    # Asked again (its answer lost, say): answered as it is, not asked of Asaas twice.
    assert (await invoices.cancel(invoice_id, reason)).status == IssuerStatus.CANCELLED
    cancels = asaas_standin.requests_to("POST", f"/v3/invoices/{invoice_id}/cancel")
    assert [request.body for request in cancels] == [{}]  # the municipality cancels it too


async def test_a_cancellation_the_municipality_denies_leaves_it_issued_with_why(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    invoice_id = await issued_invoice(invoices)
    number = asaas_standin.invoices[invoice_id].number
    asaas_standin.cancellation_denial = DENIAL
    cancelling = await invoices.cancel(invoice_id, "Serviço cobrado em duplicidade.")
    assert cancelling.status == IssuerStatus.CANCELLING
    denied = await invoices.look_up(invoice_id)
    assert (denied.status, denied.reason, denied.nfse_number) == (
        IssuerStatus.ISSUED,
        DENIAL,
        number,
    )


async def test_an_invoice_not_issued_is_not_cancelled(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    asaas_standin.decide_invoices_on_read = False
    pending = await invoices.issue(invoice_order())
    with pytest.raises(ProviderRefused, match="SCHEDULED"):
        await invoices.cancel(pending.provider_invoice_id, "Serviço cobrado em duplicidade.")
    assert asaas_standin.invoices[pending.provider_invoice_id].status == "SCHEDULED"
    assert not [r for r in asaas_standin.requests if r.path.endswith("/cancel")]


# --- documents ------------------------------------------------------------------------------


async def test_the_pdf_and_xml_are_asaas_s_files_once_issued(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    asaas_standin.decide_invoices_on_read = False
    pending = await invoices.issue(invoice_order())
    invoice_id = pending.provider_invoice_id
    assert await invoices.pdf(invoice_id) is None  # not issued: Asaas links to none
    assert await invoices.xml(invoice_id) is None
    made = asaas_standin.decide_invoice(invoice_id)
    pdf, xml = await invoices.pdf(invoice_id), await invoices.xml(invoice_id)
    assert pdf is not None and xml is not None
    assert (pdf.content, pdf.media_type) == (made.pdf(), "application/pdf")
    assert (xml.content, xml.media_type) == (made.xml(), "application/xml")
    assert made.number is not None and made.number.encode() in xml.content
    downloads = [r for r in asaas_standin.requests if r.path.startswith("/nf/")]
    assert [r.path for r in downloads] == [f"/nf/{made.slug}.pdf", f"/nf/{made.slug}.xml"]
    # The link is opened as Asaas hands it out: the API key never leaves for it.
    assert all("access_token" not in r.headers for r in downloads)


async def test_a_link_that_serves_something_else_is_no_document(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice_id = await issued_invoice(invoices)
    page = b"<html><body>Entre na sua conta</body></html>"
    monkeypatch.setattr(asaas_standin.invoices[invoice_id], "pdf", lambda: page)
    with pytest.raises(ProviderUnavailable, match="pdfUrl did not serve application/pdf"):
        await invoices.pdf(invoice_id)


async def test_a_download_fails_as_a_request_does(asaas_standin: AsaasStandin) -> None:
    async with client_for(asaas_standin) as client:
        invoices = AsaasInvoices(client, asaas_standin.clock)
        invoice_id = await issued_invoice(invoices)
        made = asaas_standin.invoices[invoice_id]
        link = f"{asaas_standin.url}/nf/{made.slug}.pdf"
        assert await client.download(link) == made.pdf()
        with pytest.raises(AsaasRefused) as missing:
            await client.download(f"{asaas_standin.url}/nf/nothing.pdf")
        assert missing.value.status == 404
        asaas_standin.faults.fail_next(1, status=503)
        with pytest.raises(ProviderUnavailable, match="503"):
            await client.download(link)
        with pytest.raises(ProviderRefused, match="larger than 16 bytes"):
            await client.download(link, limit=16)
        with pytest.raises(ProviderRefused, match="cannot fetch"):
            await client.download("file:///etc/passwd")


# --- helpers --------------------------------------------------------------------------------


async def call(
    standin: AsaasStandin, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A request to the stand-in made apart from the adapter."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, f"{standin.url}/v3{path}", json=body, headers={"access_token": STANDIN_API_KEY}
        ) as answer,
    ):
        parsed: dict[str, Any] = await answer.json()
        return parsed


async def invoices_customer(standin: AsaasStandin) -> str:
    created = await call(
        standin, "POST", "/customers", {"name": "Ana Souza", "cpfCnpj": "52998224725"}
    )
    customer_id: str = created["id"]
    return customer_id


# --- the stand-in answers as the reference shows ------------------------------------------


async def answer_of(
    standin: AsaasStandin, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, f"{standin.url}/v3{path}", json=body, headers={"access_token": STANDIN_API_KEY}
        ) as answer,
    ):
        parsed: dict[str, Any] = await answer.json()
        return answer.status, parsed


def codes(body: dict[str, Any]) -> set[str]:
    return {error["code"] for error in body["errors"]}


async def test_the_stand_in_refuses_an_invoice_without_its_required_fields(
    asaas_standin: AsaasStandin,
) -> None:
    status, body = await answer_of(asaas_standin, "POST", "/invoices", {})
    assert status == 400
    assert codes(body) == {
        "invalid_customer",
        "invalid_serviceDescription",
        "invalid_observations",
        "invalid_value",
        "invalid_deductions",
        "invalid_effectiveDate",
        "invalid_municipalServiceCode",
        "invalid_municipalServiceName",
        "invalid_taxes",
    }
    customer_id = await invoices_customer(asaas_standin)
    fields = {
        "customer": customer_id,
        "serviceDescription": "Mensalidade",
        "observations": "-",
        "value": 10,
        "deductions": 0,
        "effectiveDate": TODAY.isoformat(),
        "municipalServiceCode": "06.01.01",
        "municipalServiceName": "06.01.01",
        "taxes": {"retainIss": False, "iss": 2, "cofins": 0, "csll": 0, "inss": 0, "ir": 0},
        "paymentId": "pay_x",  # the field is `payment`
    }
    status, body = await answer_of(asaas_standin, "POST", "/invoices", fields)
    assert (status, codes(body)) == (400, {"standin_unknown_field", "invalid_taxes"})
    assert asaas_standin.invoices == {}


async def test_the_stand_in_lists_invoices_by_the_reference_s_filters(
    invoices: AsaasInvoices, asaas_standin: AsaasStandin
) -> None:
    first = await invoices.issue(invoice_order("nfs_0001"))
    await invoices.issue(invoice_order("nfs_0002"))
    _, found = await answer_of(asaas_standin, "GET", "/invoices?externalReference=nfs_0001")
    assert [invoice["id"] for invoice in found["data"]] == [first.provider_invoice_id]
    _, scheduled_today = await answer_of(
        asaas_standin, "GET", f"/invoices?effectiveDate[Ge]={TODAY}&status=SCHEDULED"
    )
    assert scheduled_today["totalCount"] == 2
    # The reference writes [Ge] and [Le]: a lower-case filter would be ignored by Asaas.
    status, body = await answer_of(asaas_standin, "GET", f"/invoices?effectiveDate[ge]={TODAY}")
    assert (status, codes(body)) == (400, {"standin_unknown_field"})
