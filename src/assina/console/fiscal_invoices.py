"""Notas fiscais: the list, an invoice's page with its PDF and XML, the cancellation with its
reason, and "Emitir nota fiscal" on a settled charge; through the fiscal service, as the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.console.actions import act, new_idempotency_key, newest_first
from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.charges import charge_page_with
from assina.console.form_values import chosen
from assina.console.forms import field_errors, input_of, read_form, refusal
from assina.console.web import render_page
from assina.core.errors import Problem
from assina.customers.service import customer_names
from assina.events.service import snapshot
from assina.fiscal import service
from assina.fiscal.documents import InvoiceDocument, invoice_pdf, invoice_xml
from assina.fiscal.models import FiscalInvoiceStatus
from assina.fiscal.schemas import FiscalInvoiceCancel, FiscalInvoiceOut, FiscalInvoiceRequest

router = APIRouter(prefix="/console")


@router.get("/fiscal-invoices")
async def invoice_list(
    caller: ConsoleCallerDep, status: str = "", after: str | None = None
) -> Response:
    chosen_status = chosen(status, FiscalInvoiceStatus)
    filters = service.InvoiceFilters(status=chosen_status)
    async with caller.runtime.database.read() as session:
        invoices, has_more = await service.list_invoices(
            session, caller.tenant_id, filters, newest_first(after)
        )
        shown = [FiscalInvoiceOut.of(invoice) for invoice in invoices]
        names = await customer_names(session, caller.tenant_id, {i.customer_id for i in shown})
    return render_page(
        "fiscal/list.html",
        caller.frame,
        invoices=shown,
        names=names,
        has_more=has_more,
        status=chosen_status or "",
        statuses=list(FiscalInvoiceStatus),
        after=after,
    )


@router.get("/fiscal-invoices/{invoice_id}.pdf")
async def invoice_pdf_page(invoice_id: str, request: Request, caller: ConsoleCallerDep) -> Response:
    issuers = request.app.state.fiscal_issuers
    document = await invoice_pdf(caller.runtime.database, issuers, caller.tenant_id, invoice_id)
    return _document(document)


@router.get("/fiscal-invoices/{invoice_id}.xml")
async def invoice_xml_page(invoice_id: str, request: Request, caller: ConsoleCallerDep) -> Response:
    issuers = request.app.state.fiscal_issuers
    document = await invoice_xml(caller.runtime.database, issuers, caller.tenant_id, invoice_id)
    return _document(document)


def _document(document: InvoiceDocument) -> Response:
    headers = {
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="{document.filename}"',
    }
    return Response(document.content, media_type=document.media_type, headers=headers)


@router.get("/fiscal-invoices/{invoice_id}")
async def invoice_page(invoice_id: str, caller: ConsoleCallerDep) -> Response:
    return await _invoice_page(caller, invoice_id, None, "")


async def _invoice_page(
    caller: ConsoleCaller, invoice_id: str, problem: Problem | None, reason: str
) -> Response:
    async with caller.runtime.database.read() as session:
        invoice = FiscalInvoiceOut.of(
            await service.get_invoice(session, caller.tenant_id, invoice_id)
        )
        names = await customer_names(session, caller.tenant_id, {invoice.customer_id})
    return render_page(
        "fiscal/show.html",
        caller.frame,
        **refusal(problem),
        invoice=invoice,
        customer_name=names.get(invoice.customer_id, ""),
        errors=field_errors(problem),
        reason=reason,
        idempotency_key=new_idempotency_key(),
    )


@router.post("/fiscal-invoices/{invoice_id}/cancel")
async def cancel_invoice(invoice_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    reason = form.get("reason").strip()

    async def use_case(session: AsyncSession) -> dict[str, object]:
        body = input_of(FiscalInvoiceCancel, {"reason": reason})
        invoice = await service.request_cancellation(
            session, caller.clock, caller.tenant_id, invoice_id, body.reason
        )
        return snapshot(FiscalInvoiceOut.of(invoice))

    return await act(
        request,
        caller,
        form,
        use_case,
        done=f"/console/fiscal-invoices/{invoice_id}",
        refused=lambda problem: _invoice_page(caller, invoice_id, problem, reason),
    )


@router.post("/charges/{charge_id}/fiscal-invoice")
async def issue_invoice(charge_id: str, request: Request, caller: ChangerDep) -> Response:
    """What POST /v1/charges/{id}/fiscal-invoice does: the charge's live invoice if it has
    one, else a new pending one for the tenant's issuer; a refusal (409: not settled, fiscal
    settings incomplete) is shown on the charge's page."""
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        invoice, _made = await service.request_invoice(
            session, caller.clock, caller.tenant_id, charge_id, FiscalInvoiceRequest()
        )
        return snapshot(FiscalInvoiceOut.of(invoice))

    return await act(
        request,
        caller,
        form,
        use_case,
        done=lambda invoice: f"/console/fiscal-invoices/{invoice['id']}",
        refused=lambda problem: charge_page_with(caller, charge_id, problem, {}),
    )
