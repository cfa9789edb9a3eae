"""The Asaas stand-in's invoice routes (notas fiscais de serviço; the stand-in is
tests/integration/asaas_standin.py): schedule, list, read, authorize and cancel an invoice, and
the PDF and XML its links serve, as docs/fiscal-asaas.md, "Asaas's invoices API", describes
them.

The municipality is played by the stand-in: an invoice scheduled for today or earlier is decided
the next time it is read by id (`decide_invoices_on_read`, on by default) or when a test calls
`decide_invoice`; AUTHORIZED (a number and a verification code, its PDF and XML linked), or
ERROR with `invoice_refusal` as its statusDescription when a test set one. A cancellation is
decided the same way: CANCELED, or CANCELLATION_DENIED with `cancellation_denial`. These
controls are the stand-in's, never Asaas's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.integration import asaas_fields as check
from tests.integration.asaas_fields import FieldErrors
from tests.integration.asaas_model import (
    Payment,
    asaas_error,
    invalid,
    json_object,
    list_page,
    query_int,
    random_slug,
    reais,
)

INVOICE_FIELDS = (
    "payment", "customer", "serviceDescription", "observations", "externalReference",
    "value", "deductions", "effectiveDate", "municipalServiceId", "municipalServiceCode",
    "municipalServiceName", "taxes",
)  # fmt: skip
INVOICE_UNSUPPORTED = ("installment", "updatePayment")
REQUIRED_TAXES = ("iss", "cofins", "csll", "inss", "ir", "pis")
UNSUPPORTED_TAXES = (
    "nbsCode", "taxSituationCode", "taxClassificationCode", "operationIndicatorCode",
    "pisCofinsRetentionType", "pisCofinsTaxStatus", "operationPis", "operationCofins",
    "useTaxSystemReformNT007",
)  # fmt: skip
INVOICE_FILTERS = (
    "payment", "externalReference", "status", "customer", "effectiveDate[Ge]", "effectiveDate[Le]",
)  # fmt: skip
INVOICE_STATUSES = (
    "SCHEDULED", "SYNCHRONIZED", "AUTHORIZED", "PROCESSING_CANCELLATION", "CANCELED",
    "CANCELLATION_DENIED", "ERROR",
)  # fmt: skip
UNDECIDED = ("SCHEDULED", "SYNCHRONIZED")
ISSUED = ("AUTHORIZED", "PROCESSING_CANCELLATION", "CANCELED", "CANCELLATION_DENIED")
# The reference's example of a municipality's service list (docs.asaas.com/docs/notas-fiscais).
DEFAULT_MUNICIPAL_SERVICES = {"203561": "1.01 - Análise e desenvolvimento de sistemas"}


@dataclass
class Invoice:
    id: str
    customer: str
    payment: str | None
    service_description: str
    observations: str
    external_reference: str | None
    value: int  # centavos
    deductions: int  # centavos
    effective_date: date
    municipal_service_id: str | None
    municipal_service_code: str | None
    municipal_service_name: str
    taxes: dict[str, Any]
    slug: str = field(default_factory=random_slug)
    status: str = "SCHEDULED"
    status_description: str | None = None
    number: str | None = None
    validation_code: str | None = None
    rps_number: str | None = None

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The invoice object of the reference (InvoiceGetResponseDTO, the webhook example)."""
        linked = self.status in ISSUED
        return {
            "object": "invoice",
            "id": self.id,
            "status": self.status,
            "customer": self.customer,
            "payment": self.payment,
            "installment": None,
            "type": "NFS-e",
            "statusDescription": self.status_description,
            "serviceDescription": self.service_description,
            "pdfUrl": f"{base_url}/nf/{self.slug}.pdf" if linked else None,
            "xmlUrl": f"{base_url}/nf/{self.slug}.xml" if linked else None,
            "rpsSerie": "1" if linked else None,
            "rpsNumber": self.rps_number,
            "number": self.number,
            "validationCode": self.validation_code,
            "value": reais(self.value),
            "deductions": reais(self.deductions),
            "effectiveDate": self.effective_date.isoformat(),
            "observations": self.observations,
            "estimatedTaxesDescription": "",
            "externalReference": self.external_reference,
            "taxes": self.taxes,
            "municipalServiceId": self.municipal_service_id,
            "municipalServiceCode": self.municipal_service_code,
            "municipalServiceName": self.municipal_service_name,
        }

    def pdf(self) -> bytes:
        """A small PDF naming the invoice (the stand-in's, not a DANFSe)."""
        text = f"NFS-e {self.number} {self.validation_code} {self.id}".encode()
        return b"%PDF-1.4\n% stand-in NFS-e\n" + text + b"\n%%EOF\n"

    def xml(self) -> bytes:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<NFSe><nNFSe>{self.number}</nNFSe>'
            f"<cVerif>{self.validation_code}</cVerif><id>{self.id}</id></NFSe>\n"
        ).encode()


class InvoiceRoutes:
    """The invoice routes of the stand-in (AsaasStandin inherits them); what they use of it
    is declared here."""

    url: str
    customers: dict[str, dict[str, Any]]
    payments: dict[str, Payment]
    invoices: dict[str, Invoice]
    municipal_services: dict[str, str]
    decide_invoices_on_read: bool
    invoice_refusal: str | None
    cancellation_denial: str | None
    _invoice_sequence: int

    def today(self) -> date:
        raise NotImplementedError

    def add_invoice_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v3/invoices", self._schedule_invoice)
        router.add_get("/v3/invoices", self._list_invoices)
        router.add_get("/v3/invoices/{id}", self._get_invoice)
        router.add_post("/v3/invoices/{id}/authorize", self._authorize_invoice)
        router.add_post("/v3/invoices/{id}/cancel", self._cancel_invoice)
        router.add_get("/nf/{slug}.{kind}", self._invoice_document)

    # --- the municipality (test controls, not Asaas's) --------------------------------------

    def decide_invoice(self, invoice_id: str) -> Invoice:
        """The municipality decides what is pending: an invoice scheduled for today or earlier
        is issued (or refused: `invoice_refusal`), a cancellation granted (or denied:
        `cancellation_denial`)."""
        invoice = self.invoices[invoice_id]
        if invoice.status in UNDECIDED and invoice.effective_date <= self.today():
            if self.invoice_refusal is not None:
                invoice.status, invoice.status_description = "ERROR", self.invoice_refusal
            else:
                self._issue(invoice)
        elif invoice.status == "PROCESSING_CANCELLATION":
            if self.cancellation_denial is not None:
                invoice.status = "CANCELLATION_DENIED"
                invoice.status_description = self.cancellation_denial
            else:
                invoice.status, invoice.status_description = "CANCELED", None
        return invoice

    def _issue(self, invoice: Invoice) -> None:
        self._invoice_sequence += 1
        invoice.status, invoice.status_description = "AUTHORIZED", None
        invoice.number = str(202600000 + self._invoice_sequence)
        invoice.rps_number = str(self._invoice_sequence)
        invoice.validation_code = hashlib.sha256(invoice.id.encode()).hexdigest()[:9].upper()

    # --- routes ---------------------------------------------------------------------------

    async def _schedule_invoice(self, request: web.Request) -> web.Response:
        """POST /v3/invoices (ref "Schedule invoice"): the required fields of the reference,
        one of payment or customer, one of municipalServiceId or municipalServiceCode."""
        body, errors = await json_object(request)
        if body is None:
            return invalid(errors)
        check.only_known_fields(body, errors, known=INVOICE_FIELDS, unsupported=INVOICE_UNSUPPORTED)
        customer = self._invoice_customer(body, errors)
        description = check.required_text(body, "serviceDescription", errors)
        observations = check.required_text(body, "observations", errors)
        reference = check.optional_text(body, "externalReference", errors)
        value = check.money(body, "value", errors, required=True)
        deductions = _non_negative_reais(body, "deductions", errors)
        effective = check.calendar_date(body, "effectiveDate", errors, required=True)
        service_id, service_code = self._municipal_service(body, errors)
        name = check.required_text(body, "municipalServiceName", errors)
        taxes = _taxes(body, errors)
        if errors:
            return invalid(errors)
        assert customer and description and observations and value and effective and name
        assert deductions is not None and taxes is not None
        invoice = Invoice(
            id=f"inv_{len(self.invoices) + 1:012d}",
            customer=customer,
            payment=body.get("payment"),
            service_description=description,
            observations=observations,
            external_reference=reference,
            value=value,
            deductions=deductions,
            effective_date=effective,
            municipal_service_id=service_id,
            municipal_service_code=service_code,
            municipal_service_name=name,
            taxes=taxes,
        )
        self.invoices[invoice.id] = invoice
        return web.json_response(invoice.to_json(self.url))

    def _invoice_customer(self, body: Mapping[str, Any], errors: FieldErrors) -> str | None:
        """The invoice's customer: its payment's (a live payment of this account), or the
        customer named."""
        payment_id, customer = body.get("payment"), body.get("customer")
        if payment_id is None and customer is None:
            errors.add("invalid_customer", "Informe a cobrança (payment) ou o cliente (customer).")
            return None
        if payment_id is not None:
            payment = self.payments.get(payment_id) if isinstance(payment_id, str) else None
            if payment is None or payment.deleted:
                errors.add("invalid_payment", "Cobrança inválida ou não encontrada.")
                return None
            if customer is not None and customer != payment.customer:
                errors.add("invalid_customer", "O cliente não é o da cobrança informada.")
                return None
            return payment.customer
        if not isinstance(customer, str) or customer not in self.customers:
            errors.add("invalid_customer", "Customer inválido ou não informado.")
            return None
        return customer

    def _municipal_service(
        self, body: Mapping[str, Any], errors: FieldErrors
    ) -> tuple[str | None, str | None]:
        service_id = check.optional_text(body, "municipalServiceId", errors)
        code = check.optional_text(body, "municipalServiceCode", errors)
        if service_id is None and code is None:
            errors.add(
                "invalid_municipalServiceCode",
                "Informe o municipalServiceId ou o municipalServiceCode.",
            )
        elif service_id is not None and service_id not in self.municipal_services:
            errors.add("invalid_municipalServiceId", "Serviço municipal não encontrado.")
        return service_id, code

    async def _list_invoices(self, request: web.Request) -> web.Response:
        query, errors = request.query, FieldErrors()
        check.only_known_fields(query, errors, known=(*INVOICE_FILTERS, "offset", "limit"))
        offset = query_int(query, "offset", 0, errors, maximum=None)
        limit = query_int(query, "limit", 10, errors, maximum=100)
        if "status" in query:
            check.one_of(query, "status", INVOICE_STATUSES, errors)
        bounds = {name: check.parse_date(query[name]) for name in query if "[" in name}
        for name, parsed in bounds.items():
            if parsed is None:
                errors.add(f"invalid_{name}", f"O filtro {name} deve ser AAAA-MM-DD.")
        if errors:
            return invalid(errors)
        matching = [
            invoice.to_json(self.url)
            for invoice in self.invoices.values()
            if _matches(invoice, query, bounds)
        ]
        return web.json_response(list_page(matching, offset, limit))

    async def _get_invoice(self, request: web.Request) -> web.Response:
        invoice = self.invoices.get(request.match_info["id"])
        if invoice is None:
            return asaas_error(404, "not_found", "Nota fiscal não encontrada.")
        if self.decide_invoices_on_read:
            self.decide_invoice(invoice.id)
        return web.json_response(invoice.to_json(self.url))

    async def _authorize_invoice(self, request: web.Request) -> web.Response:
        """POST /v3/invoices/{id}/authorize ("Emitir uma nota fiscal"): a scheduled invoice
        is sent to the municipality now instead of on its effectiveDate."""
        invoice = self.invoices.get(request.match_info["id"])
        if invoice is None:
            return asaas_error(404, "not_found", "Nota fiscal não encontrada.")
        if invoice.status != "SCHEDULED":
            return asaas_error(
                400, "invalid_action", f"Uma nota fiscal {invoice.status} não pode ser emitida."
            )
        invoice.effective_date, invoice.status = self.today(), "SYNCHRONIZED"
        return web.json_response(invoice.to_json(self.url))

    async def _cancel_invoice(self, request: web.Request) -> web.Response:
        """POST /v3/invoices/{id}/cancel: an issued invoice goes to the municipality to be
        cancelled (at once with `cancelOnlyOnAsaas`); a scheduled one is cancelled at once."""
        invoice = self.invoices.get(request.match_info["id"])
        if invoice is None:
            return asaas_error(404, "not_found", "Nota fiscal não encontrada.")
        errors = FieldErrors()
        body: Mapping[str, Any] = {}
        if await request.text():
            parsed, errors = await json_object(request)
            if parsed is None:
                return invalid(errors)
            body = parsed
        check.only_known_fields(body, errors, known=("cancelOnlyOnAsaas",))
        only_here = check.optional_bool(body, "cancelOnlyOnAsaas", errors)
        if errors:
            return invalid(errors)
        if invoice.status == "SCHEDULED" or (only_here and invoice.status in ISSUED):
            invoice.status = "CANCELED"
        elif invoice.status in ("AUTHORIZED", "CANCELLATION_DENIED"):
            invoice.status, invoice.status_description = "PROCESSING_CANCELLATION", None
        else:
            return asaas_error(
                400, "invalid_action", f"Uma nota fiscal {invoice.status} não pode ser cancelada."
            )
        return web.json_response(invoice.to_json(self.url))

    async def _invoice_document(self, request: web.Request) -> web.Response:
        """The files pdfUrl and xmlUrl link to: public links, no API key asked."""
        slug, kind = request.match_info["slug"], request.match_info["kind"]
        invoice = next((i for i in self.invoices.values() if i.slug == slug), None)
        if invoice is None or invoice.status not in ISSUED or kind not in ("pdf", "xml"):
            return web.Response(status=404, text="not found")
        if kind == "pdf":
            return web.Response(body=invoice.pdf(), content_type="application/pdf")
        return web.Response(body=invoice.xml(), content_type="application/xml")


def _non_negative_reais(body: Mapping[str, Any], name: str, errors: FieldErrors) -> int | None:
    """A required amount in reais that may be zero (deductions)."""
    value = body.get(name)
    if value == 0 and not isinstance(value, bool):
        return 0
    return check.money(body, name, errors, required=True)


def _taxes(body: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any] | None:
    """`taxes`: retainIss and the six percentages the reference requires (0 to 100)."""
    taxes = check.json_object(body, "taxes", errors)
    if taxes is None:
        return None
    before = len(errors.items)
    check.only_known_fields(
        taxes,
        errors,
        known=("retainIss", *REQUIRED_TAXES),
        unsupported=UNSUPPORTED_TAXES,
        where="taxes.",
    )
    if not isinstance(taxes.get("retainIss"), bool):
        errors.add("invalid_taxes", "O campo taxes.retainIss deve ser true ou false.")
    for name in REQUIRED_TAXES:
        rate = taxes.get(name)
        number = isinstance(rate, int | float) and not isinstance(rate, bool)
        if not number or not 0 <= Decimal(str(rate)) <= 100:
            errors.add("invalid_taxes", f"O campo taxes.{name} deve ser um percentual.")
    return dict(taxes) if len(errors.items) == before else None


def _matches(invoice: Invoice, query: Mapping[str, str], bounds: Mapping[str, date | None]) -> bool:
    equal = {
        "payment": invoice.payment,
        "customer": invoice.customer,
        "externalReference": invoice.external_reference,
        "status": invoice.status,
    }
    if any(name in query and query[name] != value for name, value in equal.items()):
        return False
    for name, bound in bounds.items():
        if bound is None:
            continue
        day = invoice.effective_date
        if day < bound if name.endswith("[Ge]") else day > bound:
            return False
    return True
