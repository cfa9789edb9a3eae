"""HTTP for notas fiscais: ask for a charge's, list and read them, their PDF and XML, and
ask for a cancellation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.inputs import refuse_empty_json
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery, ReferenceFilter
from assina.events.service import snapshot
from assina.fiscal import service
from assina.fiscal.documents import PDF_MEDIA_TYPE, XML_MEDIA_TYPE, invoice_pdf, invoice_xml
from assina.fiscal.issuers import FiscalIssuers
from assina.fiscal.models import FiscalInvoiceStatus
from assina.fiscal.schemas import FiscalInvoiceCancel, FiscalInvoiceOut, FiscalInvoiceRequest
from assina.tenants.deps import CallerDep, IdempotentCallerDep

router = APIRouter(tags=["fiscal invoices"])


async def fiscal_issuers(request: Request) -> FiscalIssuers:
    issuers: FiscalIssuers = request.app.state.fiscal_issuers
    return issuers


IssuersDep = Annotated[FiscalIssuers, Depends(fiscal_issuers)]


@router.post(
    "/v1/charges/{charge_id}/fiscal-invoice",
    dependencies=[Depends(refuse_empty_json)],
    response_model=FiscalInvoiceOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Issue the nota fiscal (NFS-e) of a settled charge",
)
async def issue_fiscal_invoice(
    charge_id: str,
    request: Request,
    caller: IdempotentCallerDep,
    body: Annotated[FiscalInvoiceRequest, Body(default_factory=FiscalInvoiceRequest)],
) -> JSONResponse:
    """Writes a `pending` nota fiscal for a settled charge; the tenant's fiscal issuer then
    decides it (`issued`, with its number, verification code and access key: event
    `fiscal_invoice.issued`; or `rejected`: `fiscal_invoice.rejected`). A charge whose invoice
    is already pending or issued answers that invoice (200), never a second one; a charge
    whose invoices were rejected or cancelled may be invoiced again (201). (Two requests
    racing for a charge without one make one invoice; the later may answer it with 201.)

    Errors: 404; 409 `invalid-transition` unless the charge is settled, `nothing-to-invoice`
    for a charge of 0 or not in BRL, `fiscal-settings-incomplete` without a CNPJ, municipality
    or service code in the fiscal settings; 422."""
    async with caller.database.read() as session:
        live = await service.live_invoices(session, caller.tenant_id, [charge_id])
        if charge_id in live:
            return JSONResponse(snapshot(FiscalInvoiceOut.of(live[charge_id])), status_code=200)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        invoice, _made = await service.request_invoice(
            session, caller.clock, caller.tenant_id, charge_id, body
        )
        return snapshot(FiscalInvoiceOut.of(invoice))

    return await caller.respond_once(request, 201, use_case)


@router.get(
    "/v1/fiscal-invoices",
    response_model=Page[FiscalInvoiceOut],
    responses=problem_responses(401, 422),
    summary="List notas fiscais",
)
async def list_fiscal_invoices(
    caller: CallerDep,
    page: PageQuery,
    status: FiscalInvoiceStatus | None = None,
    charge_id: ReferenceFilter = None,
    customer_id: ReferenceFilter = None,
) -> Page[FiscalInvoiceOut]:
    """The tenant's notas fiscais, oldest first, filtered by `status`, charge and customer."""
    filters = service.InvoiceFilters(status=status, charge_id=charge_id, customer_id=customer_id)
    async with caller.database.read() as session:
        found, has_more = await service.list_invoices(session, caller.tenant_id, filters, page)
        return Page[FiscalInvoiceOut](
            data=[FiscalInvoiceOut.of(invoice) for invoice in found], has_more=has_more
        )


def _document_responses(media_type: str, what: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {"content": {media_type: {"schema": {"type": "string"}}}, "description": what},
        **problem_responses(401, 404),
    }


@router.get(
    "/v1/fiscal-invoices/{invoice_id}.pdf",
    response_class=Response,
    responses=_document_responses(PDF_MEDIA_TYPE, "The printable nota fiscal (DANFSe)."),
    summary="The printable nota fiscal (PDF)",
)
async def get_fiscal_invoice_pdf(
    invoice_id: str, caller: CallerDep, issuers: IssuersDep
) -> Response:
    """The issuer's own PDF when it serves one; else assina's DANFSe-like page: numbers,
    verification code, access key, emitter, taker, service, values and ISS, and a QR code of
    the national portal's consultation of the access key."""
    document = await invoice_pdf(caller.database, issuers, caller.tenant_id, invoice_id)
    headers = {
        "Cache-Control": "private, no-cache",
        "Content-Disposition": f'inline; filename="{document.filename}"',
    }
    return Response(document.content, media_type=document.media_type, headers=headers)


@router.get(
    "/v1/fiscal-invoices/{invoice_id}.xml",
    response_class=Response,
    responses=_document_responses(XML_MEDIA_TYPE, "The invoice's XML (a DPS)."),
    summary="The nota fiscal's XML (a DPS of the national standard)",
)
async def get_fiscal_invoice_xml(
    invoice_id: str, caller: CallerDep, issuers: IssuersDep
) -> Response:
    """The issuer's XML when it serves one; else the DPS assina builds (Padrão Nacional,
    DPS_v1.01.xsd; unsigned: docs/fiscal.md)."""
    document = await invoice_xml(caller.database, issuers, caller.tenant_id, invoice_id)
    headers = {"Cache-Control": "private, no-cache"}
    return Response(document.content, media_type=document.media_type, headers=headers)


@router.get(
    "/v1/fiscal-invoices/{invoice_id}",
    response_model=FiscalInvoiceOut,
    responses=problem_responses(401, 404),
    summary="Get a nota fiscal",
)
async def get_fiscal_invoice(invoice_id: str, caller: CallerDep) -> FiscalInvoiceOut:
    """One nota fiscal by id."""
    async with caller.database.read() as session:
        return FiscalInvoiceOut.of(await service.get_invoice(session, caller.tenant_id, invoice_id))


@router.post(
    "/v1/fiscal-invoices/{invoice_id}/cancel",
    response_model=FiscalInvoiceOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Ask for an issued nota fiscal to be cancelled",
)
async def cancel_fiscal_invoice(
    invoice_id: str, body: FiscalInvoiceCancel, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Asks the issuer to cancel an issued nota fiscal, for `reason` (15 to 255 characters,
    the national standard's xMotivo). Answers at once with `cancel_reason` and
    `cancel_requested_at` set; the invoice becomes `cancelled` (event
    `fiscal_invoice.cancelled`) when the issuer confirms. A cancellation the issuer refuses
    leaves it `issued`, the request cleared.

    Errors: 404; 409 `invalid-transition` unless the invoice is issued with no cancellation
    under way; 422."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        invoice = await service.request_cancellation(
            session, caller.clock, caller.tenant_id, invoice_id, body.reason
        )
        return snapshot(FiscalInvoiceOut.of(invoice))

    return await caller.respond_once(request, 200, use_case)
