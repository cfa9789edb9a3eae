"""What the sender attaches: a `fiscal_invoice` e-mail carries its nota fiscal's PDF, the
DANFSe-like page of fiscal/danfse.py rendered when the e-mail is sent (so it shows the
invoice as it stands then, a cancellation included), never stored in the outbox.

The documents are read in the claim's transaction (one query for the batch); the PDFs are
rendered after it, in a thread: no transaction is held and the event loop is not blocked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.customers.models import Customer
from assina.db.shapes import one_of
from assina.fiscal.danfse import DanfseDocument, danfse_of, render_danfse
from assina.fiscal.models import FiscalInvoice
from assina.notifications.smtp import Attachment
from assina.tenants.models import Tenant

logger = logging.getLogger("assina.emails")


async def invoice_documents(
    session: AsyncSession, invoice_ids: Collection[str]
) -> dict[str, DanfseDocument]:
    """The printable document of each nota fiscal, by id, as it stands now."""
    if not invoice_ids:
        return {}
    found = await session.execute(
        select(FiscalInvoice, Customer, Tenant)
        .join(Customer, Customer.id == FiscalInvoice.customer_id)
        .join(Tenant, Tenant.id == FiscalInvoice.tenant_id)
        .where(one_of(FiscalInvoice.id, list(invoice_ids)))
    )
    return {invoice.id: danfse_of(invoice, customer, tenant) for invoice, customer, tenant in found}


def _render_all(documents: Mapping[str, DanfseDocument]) -> dict[str, Attachment]:
    attachments = {}
    for invoice_id, document in documents.items():
        try:
            content = render_danfse(document)
        except Exception:  # a bug in rendering: the e-mail still goes, with the portal's link
            logger.exception("the PDF of nota fiscal %s could not be rendered", invoice_id)
            continue
        name = f"nfse-{document.nfse_number or document.invoice_number}.pdf"
        attachments[invoice_id] = Attachment(name, content)
    return attachments


async def invoice_attachments(documents: Mapping[str, DanfseDocument]) -> dict[str, Attachment]:
    """Each document's PDF, by invoice id, rendered in a thread."""
    if not documents:
        return {}
    return await asyncio.to_thread(_render_all, documents)
