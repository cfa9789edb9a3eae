"""A nota fiscal's documents, for the API and the console alike: the issuer's own PDF or XML
when it serves one, else assina's (the DANFSe-like page, the DPS of the national standard)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from assina.customers.models import Customer
from assina.db.database import Database
from assina.fiscal import service
from assina.fiscal.danfse import danfse_of, render_danfse
from assina.fiscal.dps import build_dps
from assina.fiscal.issuers import FiscalIssuers
from assina.fiscal.models import FiscalInvoice
from assina.fiscal.providers import IssuedDocument, ProviderError
from assina.fiscal.relay import invoice_order
from assina.fiscal_settings.models import FiscalProvider
from assina.rules.fiscal import HOMOLOGATION, PRODUCTION
from assina.tenants.models import Tenant, TenantMode

PDF_MEDIA_TYPE = "application/pdf"
XML_MEDIA_TYPE = "application/xml"


@dataclass(frozen=True)
class InvoiceDocument:
    content: bytes
    media_type: str
    filename: str


@dataclass(frozen=True)
class _AtIssuer:
    """Where an invoice is at its issuer, read before the session closes."""

    tenant_id: str
    provider: FiscalProvider
    provider_invoice_id: str | None

    @classmethod
    def of(cls, invoice: FiscalInvoice) -> _AtIssuer:
        return cls(invoice.tenant_id, invoice.provider, invoice.provider_invoice_id)


async def invoice_pdf(
    database: Database, issuers: FiscalIssuers, tenant_id: str, invoice_id: str
) -> InvoiceDocument:
    """The printable nota fiscal: the issuer's PDF, else assina's DANFSe-like page (numbers,
    verification code, access key, emitter, taker, service, values and ISS, and a QR code of
    the national portal's consultation of the access key). 404 for another tenant's."""
    async with database.read() as session:
        invoice, customer, tenant = await _invoice_with_parties(session, tenant_id, invoice_id)
        at_issuer = _AtIssuer.of(invoice)
        danfse = danfse_of(invoice, customer, tenant)
    filename = f"nfse-{danfse.invoice_number}.pdf"
    served = await _issuer_document(issuers, at_issuer, pdf=True)
    if served is not None:
        return InvoiceDocument(served.content, served.media_type, filename)
    content = await asyncio.to_thread(render_danfse, danfse)
    return InvoiceDocument(content, PDF_MEDIA_TYPE, filename)


async def invoice_xml(
    database: Database, issuers: FiscalIssuers, tenant_id: str, invoice_id: str
) -> InvoiceDocument:
    """The issuer's XML, else the DPS assina builds (Padrão Nacional, DPS_v1.01.xsd;
    unsigned: docs/fiscal.md)."""
    async with database.read() as session:
        invoice, customer, tenant = await _invoice_with_parties(session, tenant_id, invoice_id)
        at_issuer = _AtIssuer.of(invoice)
        sandbox = invoice.provider == FiscalProvider.SANDBOX or tenant.mode == TenantMode.SANDBOX
        order = invoice_order(invoice, customer, tenant.name)
        filename = f"nfse-{invoice.number}.xml"
    served = await _issuer_document(issuers, at_issuer, pdf=False)
    if served is not None:
        return InvoiceDocument(served.content, served.media_type, filename)
    content = build_dps(order, HOMOLOGATION if sandbox else PRODUCTION)
    return InvoiceDocument(content, XML_MEDIA_TYPE, filename)


async def _issuer_document(
    issuers: FiscalIssuers, invoice: _AtIssuer, *, pdf: bool
) -> IssuedDocument | None:
    """The issuer's own document of an issued invoice, if it serves one and answers."""
    if invoice.provider_invoice_id is None or invoice.provider == FiscalProvider.SANDBOX:
        return None
    try:
        issuer = await issuers.issuer(invoice.tenant_id, invoice.provider)
        if pdf:
            return await issuer.pdf(invoice.provider_invoice_id)
        return await issuer.xml(invoice.provider_invoice_id)
    except ProviderError:
        return None  # assina's own then: better than no document


async def _invoice_with_parties(
    session: AsyncSession, tenant_id: str, invoice_id: str
) -> tuple[FiscalInvoice, Customer, Tenant]:
    invoice = await service.get_invoice(session, tenant_id, invoice_id)
    customer = await session.get(Customer, invoice.customer_id)
    tenant = await session.get(Tenant, tenant_id)
    assert customer is not None and tenant is not None  # noqa: S101 (foreign keys)
    return invoice, customer, tenant
