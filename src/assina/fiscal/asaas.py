"""Asaas as a fiscal issuer: NFS-e through Asaas API v3's invoices (notas fiscais de serviço),
over the payments' Asaas client. docs/fiscal-asaas.md gives the sources and the mapping.

An invoice hangs on the charge's Asaas payment when the charge was paid through Asaas (found
by the payment's externalReference, the charge's id: no database is read), otherwise on the
customer (`customer_for`, as the payments do). Asaas takes no idempotency key: the invoice's
`externalReference` is assina's invoice id, and `issue` looks for it before it schedules, so a
retry after a lost answer finds the invoice its first try made. Asaas schedules an invoice for
its `effectiveDate` (today: issued within minutes, decided by the municipality
asynchronously); `look_up` reads where it stands.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from assina.core.clock import Clock, local_date
from assina.fiscal.providers import (
    FiscalIssuer,
    InvoiceOrder,
    IssuedDocument,
    IssuerInvoice,
    IssuerStatus,
    ProviderRefused,
    ProviderUnavailable,
    Taker,
)
from assina.payments.asaas.adapter import asaas_customer
from assina.payments.asaas.client import AsaasClient, Json
from assina.payments.asaas.payment import ASAAS_TIME_ZONE, PAID_STATUSES, reais
from assina.payments.providers import Payer

PAGE_SIZE = 100  # the most Asaas lists in one page
# Asaas's invoice statuses (docs.asaas.com/docs/notas-fiscais) as assina's.
STATUSES: Mapping[str, IssuerStatus] = {
    "SCHEDULED": IssuerStatus.PENDING,  # agendada
    "SYNCHRONIZED": IssuerStatus.PENDING,  # enviada para a prefeitura
    "AUTHORIZED": IssuerStatus.ISSUED,  # emitida
    "ERROR": IssuerStatus.REJECTED,  # erro na emissão
    "PROCESSING_CANCELLATION": IssuerStatus.CANCELLING,
    "CANCELED": IssuerStatus.CANCELLED,
    "CANCELLATION_DENIED": IssuerStatus.ISSUED,  # the municipality kept it: issued, with why
}
# Where Asaas's statusDescription says why: a refusal, or a cancellation denied.
REASON_STATUSES = frozenset({"ERROR", "CANCELLATION_DENIED"})
CANCELLABLE_STATUSES = frozenset({"AUTHORIZED", "CANCELLATION_DENIED"})
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class MunicipalService:
    """The service as the tenant's Asaas account names it. `id`: Asaas's municipalServiceId
    (GET /v3/invoices/municipalServices, per city) for a municipality that lists its
    services; without one, the order's cTribNac goes as municipalServiceCode (the National
    Portal's way). `name`: municipalServiceName, by default that code."""

    id: str | None = None
    name: str | None = None


class AsaasInvoices:
    """The FiscalIssuer of one Asaas account. `clock` gives Asaas's today (the invoice's
    effectiveDate); `municipal_service` how the account names the tenant's service."""

    def __init__(
        self,
        client: AsaasClient,
        clock: Clock,
        *,
        municipal_service: MunicipalService | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._client = client
        self._clock = clock
        self._service = municipal_service or MunicipalService()
        self._page_size = page_size

    async def issue(self, order: InvoiceOrder) -> IssuerInvoice:
        """The invoice scheduled for today: the one with this externalReference when a try
        made it already, whatever became of it; else a new one. One Asaas scheduled for a
        later day is authorised now (assina invoices a charge already settled)."""
        national_code(order.service_code)  # refused before any request
        invoice = await self._invoice_of(order.invoice_id)
        if invoice is None:
            target = await self._target(order)
            invoice = await self._client.post("/invoices", self._schedule(order, target))
        if invoice.get("status") == "SCHEDULED" and _effective_date(invoice) > self._today():
            invoice = await self._client.post(f"/invoices/{_id_of(invoice)}/authorize")
        return issuer_invoice(invoice)

    async def look_up(self, provider_invoice_id: str) -> IssuerInvoice:
        return issuer_invoice(await self._read(provider_invoice_id))

    async def cancel(self, provider_invoice_id: str, reason: str) -> IssuerInvoice:
        """Asaas's cancel takes no reason (the municipality is asked as Asaas asks it); one
        cancelling or cancelled already (a retry whose answer was lost) is answered as it is."""
        invoice = await self._read(provider_invoice_id)
        status = invoice.get("status")
        if status in ("PROCESSING_CANCELLATION", "CANCELED"):
            return issuer_invoice(invoice)
        if status not in CANCELLABLE_STATUSES:
            raise ProviderRefused(f"Asaas's invoice is {status}: only an issued one is cancelled")
        cancelled = await self._client.post(f"/invoices/{provider_invoice_id}/cancel", {})
        return issuer_invoice(cancelled)

    async def pdf(self, provider_invoice_id: str) -> IssuedDocument | None:
        return await self._document(provider_invoice_id, "pdfUrl", "application/pdf")

    async def xml(self, provider_invoice_id: str) -> IssuedDocument | None:
        return await self._document(provider_invoice_id, "xmlUrl", "application/xml")

    # --- helpers --------------------------------------------------------------------------

    def _today(self) -> date:
        return local_date(self._clock.now(), ASAAS_TIME_ZONE)

    async def _read(self, provider_invoice_id: str) -> Json:
        return await self._client.get(f"/invoices/{provider_invoice_id}")

    async def _invoice_of(self, invoice_id: str) -> Json | None:
        found = await self._client.get("/invoices", {"externalReference": invoice_id})
        return next(iter(_page(found)), None)

    async def _target(self, order: InvoiceOrder) -> dict[str, str]:
        """What the invoice hangs on: the charge's paid Asaas payment, else the customer."""
        async for payment in self._payments_of(order.charge_id):
            if payment.get("status") in PAID_STATUSES and not payment.get("deleted"):
                return {"payment": _id_of(payment)}
        return {"customer": await asaas_customer(self._client, payer_of(order.taker))}

    async def _payments_of(self, charge_id: str) -> AsyncIterator[Json]:
        offset = 0
        while True:
            page = await self._client.get(
                "/payments",
                {"externalReference": charge_id, "offset": offset, "limit": self._page_size},
            )
            items = _page(page)
            for payment in items:
                yield payment
            if not page.get("hasMore") or not items:
                return
            offset += len(items)

    def _schedule(self, order: InvoiceOrder, target: Mapping[str, str]) -> dict[str, Any]:
        code = national_code(order.service_code)
        service: dict[str, str] = (
            {"municipalServiceId": self._service.id}
            if self._service.id
            else {"municipalServiceCode": code}
        )
        return {
            **target,
            "serviceDescription": order.service_description,
            "observations": observations(order),
            "externalReference": order.invoice_id,
            "value": reais(order.amount),
            "deductions": 0,
            "effectiveDate": self._today().isoformat(),
            **service,
            "municipalServiceName": self._service.name or code,
            "taxes": taxes(order),
        }

    async def _document(
        self, provider_invoice_id: str, field: str, media_type: str
    ) -> IssuedDocument | None:
        """The file Asaas links to in `field`; None while it links to none (not issued)."""
        url = _text(await self._read(provider_invoice_id), field)
        if url is None:
            return None
        content = await self._client.download(url)
        if not _looks_like(content, media_type):
            raise ProviderUnavailable(f"Asaas's {field} did not serve {media_type}")
        return IssuedDocument(content=content, media_type=media_type)


if TYPE_CHECKING:  # mypy checks that AsaasInvoices is a FiscalIssuer

    def _interface(issuer: AsaasInvoices) -> FiscalIssuer:
        return issuer


# --- pure helpers ---------------------------------------------------------------------------


def issuer_invoice(invoice: Json) -> IssuerInvoice:
    """Asaas's invoice object as assina's answer. A status Asaas did not document is an
    answer assina cannot read (retried: never taken for a decision)."""
    raw = invoice.get("status")
    status = STATUSES.get(raw) if isinstance(raw, str) else None
    if status is None:
        raise ProviderUnavailable(f"Asaas answered an invoice status assina does not know: {raw}")
    reason = _text(invoice, "statusDescription") if raw in REASON_STATUSES else None
    if raw == "ERROR" and reason is None:
        reason = "Asaas answered ERROR without a description"
    return IssuerInvoice(
        provider_invoice_id=_id_of(invoice),
        status=status,
        nfse_number=_text(invoice, "number"),
        verification_code=_text(invoice, "validationCode"),
        reason=reason,
    )


def observations(order: InvoiceOrder) -> str:
    """Asaas's required `observations`: what links the NFS-e to assina, and the competence
    (Asaas takes no competence date of its own)."""
    return (
        f"Competência {order.competence_date:%d/%m/%Y}. "
        f"Nota {order.invoice_number} ({order.invoice_id}) da cobrança {order.charge_id}."
    )


def taxes(order: InvoiceOrder) -> dict[str, Any]:
    """Asaas's `taxes`: the ISS as a percentage, withheld or not; assina computes no federal
    retention (PIS, COFINS, CSLL, INSS, IR), which Asaas requires: zero."""
    return {
        "retainIss": order.iss_retained,
        "iss": percent(order.iss_rate_bp),
        "cofins": 0,
        "csll": 0,
        "inss": 0,
        "ir": 0,
        "pis": 0,
    }


def percent(basis_points: int) -> float:
    """Basis points as the percentage Asaas reads (250 → 2.5), checked to survive as JSON."""
    value = basis_points / 100
    if Decimal(repr(value)) * 100 != basis_points:
        raise ValueError(f"{basis_points} basis points do not survive as a JSON number")
    return value


def national_code(service_code: str) -> str:
    """The cTribNac (6 digits: item, subitem, detail) as the national list prints it:
    "010101" → "01.01.01"."""
    if len(service_code) != 6 or not (service_code.isascii() and service_code.isdigit()):
        raise ProviderRefused(f"a service code is 6 digits (cTribNac), not {service_code!r}")
    return f"{service_code[:2]}.{service_code[2:4]}.{service_code[4:]}"


def payer_of(taker: Taker) -> Payer:
    return Payer(
        customer_id=taker.customer_id,
        name=taker.name,
        document=taker.document,
        email=taker.email,
    )


def _effective_date(invoice: Json) -> date:
    text = _text(invoice, "effectiveDate")
    try:
        return date.fromisoformat(text[:10]) if text else date.min
    except ValueError:
        return date.min


def _looks_like(content: bytes, media_type: str) -> bool:
    if media_type == "application/pdf":
        return content.startswith(PDF_MAGIC)
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _page(answer: Json) -> list[Json]:
    data = answer.get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _text(invoice: Mapping[str, Any], name: str) -> str | None:
    """A text field; a number (Asaas documents strings, a municipality's number may not be)
    as its digits."""
    value = invoice.get(name)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def _id_of(invoice: Json) -> str:
    found = _text(invoice, "id")
    if found is None:
        raise ProviderUnavailable("Asaas answered without the object's id")
    return found
