"""HTTP for charges: parse, call the service, shape the answer."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges import service, settlement
from assina.charges.boleto import boleto_document
from assina.charges.models import ChargeStatus
from assina.charges.schemas import ChargeCreate, ChargeOut, ChargeSettle, ChargeUpdate
from assina.core.errors import conflict
from assina.core.inputs import CalendarDate, UtcDatetime, refuse_empty_json
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery, ReferenceFilter
from assina.events.service import snapshot
from assina.rules.boleto_pdf import render_boleto_pdf
from assina.rules.pix import pix_qr_svg
from assina.tenants.deps import CallerDep, IdempotentCallerDep

router = APIRouter(prefix="/v1/charges", tags=["charges"])


@router.post(
    "",
    status_code=201,
    response_model=ChargeOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Create a charge",
)
async def create_charge(
    body: ChargeCreate, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Issues a one-off charge to a customer. Each item is `{product_id?, description,
    quantity, amount}` (a line with only `product_id` takes the product's name and price); the
    charge's `amount` is the sum. A PIX code is included when the billing settings hold a PIX
    key; a boleto's line and barcode when the payment method is boleto and the tenant's boleto
    provider is the sandbox (GET /v1/charges/{id}/boleto.pdf prints it). The customer is
    e-mailed (`charge_created`).

    Event: `charge.created` (and `customer.status_changed` if the customer's standing moves).
    Errors: 422 naming the field (another tenant's `customer_id` or `product_id` included)."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        charge = await service.create_charge(session, caller.clock, caller.tenant_id, body)
        return snapshot(charge)

    return await caller.respond_once(request, 201, use_case)


@router.get(
    "",
    response_model=Page[ChargeOut],
    responses=problem_responses(401, 422),
    summary="List charges",
)
async def list_charges(
    caller: CallerDep,
    page: PageQuery,
    customer_id: ReferenceFilter = None,
    contract_id: ReferenceFilter = None,
    status: ChargeStatus | None = None,
    due_gte: Annotated[
        CalendarDate | None, Query(description="Due on or after, YYYY-MM-DD")
    ] = None,
    due_lt: Annotated[CalendarDate | None, Query(description="Due before, YYYY-MM-DD")] = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[ChargeOut]:
    """The tenant's charges, oldest first, a page at a time, filtered by customer, contract,
    `status`, due date and creation time."""
    filters = service.ChargeFilters(
        customer_id=customer_id,
        contract_id=contract_id,
        status=status,
        due_gte=due_gte,
        due_lt=due_lt,
        created_gte=created_gte,
        created_lt=created_lt,
    )
    async with caller.database.read() as session:
        charges, has_more = await service.list_charges(session, caller.tenant_id, filters, page)
        return Page[ChargeOut](data=[ChargeOut.of(c) for c in charges], has_more=has_more)


@router.get(
    "/{charge_id}",
    response_model=ChargeOut,
    responses=problem_responses(401, 404),
    summary="Get a charge",
)
async def get_charge(charge_id: str, caller: CallerDep) -> ChargeOut:
    """One charge by id, with its items, late fees once settled, and payment instructions."""
    async with caller.database.read() as session:
        return ChargeOut.of(await service.get_charge(session, caller.tenant_id, charge_id))


SVG_MEDIA_TYPE = "image/svg+xml"


@router.get(
    "/{charge_id}/pix.svg",
    response_class=Response,
    responses={
        200: {
            "content": {SVG_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "The QR code of the charge's PIX code, as SVG.",
        },
        **problem_responses(401, 404, 409),
    },
    summary="The QR code of a charge's PIX code (SVG)",
)
async def get_charge_pix_qr(charge_id: str, caller: CallerDep) -> Response:
    """The QR code a payer scans to pay the charge by PIX: its `payment_instructions.pix_code`
    drawn as SVG (error correction level M, a quiet zone of 4 modules, scalable, dark modules
    on a transparent ground: put it on a light one). 409 when the charge has no PIX code (the
    tenant has no PIX receiver in its billing settings)."""
    async with caller.database.read() as session:
        pix_code = (await service.get_charge(session, caller.tenant_id, charge_id)).pix_code
    if pix_code is None:
        raise conflict(
            f"Charge {charge_id!r} has no PIX code: set a PIX receiver in the billing settings.",
            "no-pix-code",
        )
    # Drawing takes ~8 ms of pure Python: in a thread, the event loop keeps serving meanwhile.
    svg = await asyncio.to_thread(pix_qr_svg, pix_code)
    # Private: the code names the tenant's PIX key and the amount.
    headers = {"Cache-Control": "private, no-cache"}
    return Response(svg, media_type=SVG_MEDIA_TYPE, headers=headers)


PDF_MEDIA_TYPE = "application/pdf"


@router.get(
    "/{charge_id}/boleto.pdf",
    response_class=Response,
    responses={
        200: {
            "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The charge's printable boleto, one A4 page.",
        },
        **problem_responses(401, 404, 409),
    },
    summary="The printable boleto of a charge (PDF)",
)
async def get_charge_boleto_pdf(charge_id: str, caller: CallerDep) -> Response:
    """The boleto the customer prints or pays from: recibo do pagador and ficha de compensação
    with the barcode of `payment_instructions.boleto_barcode`; the tenant is the beneficiary,
    the customer the payer, the billing settings' fine and interest the instruction, the
    charge's number the document number, and the PIX QR of the charge's `pix_code` beside the
    barcode when it has one. 409 `no-boleto` when the charge has no boleto numbers."""
    async with caller.database.read() as session:
        charge = await service.get_charge(session, caller.tenant_id, charge_id)
        document = await boleto_document(session, caller.tenant_id, charge)
    # Drawing takes tens of milliseconds of pure Python: in a thread, as the PIX QR is.
    pdf = await asyncio.to_thread(render_boleto_pdf, document)
    headers = {
        "Cache-Control": "private, no-cache",  # the payer's name, document and address
        "Content-Disposition": f'inline; filename="boleto-{document.document_number}.pdf"',
    }
    return Response(pdf, media_type=PDF_MEDIA_TYPE, headers=headers)


@router.patch(
    "/{charge_id}",
    response_model=ChargeOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Update an open charge",
)
async def update_charge(charge_id: str, body: ChargeUpdate, caller: CallerDep) -> ChargeOut:
    """Changes an open charge: `items`, `due_date`, `payment_method`, `metadata`,
    `dunning_exempt`. The PIX code is rebuilt when the amount changes, the boleto's line and
    barcode when the amount, due date or payment method does (same nosso número; none while
    the payment method is not boleto).

    Event: `charge.updated`, with the old values in `previous`. Errors: 404; 409
    `invalid-transition` unless the charge is open; 422."""
    async with caller.database.write() as session:
        charge = await service.update_charge(
            session, caller.clock, caller.tenant_id, charge_id, body
        )
        return ChargeOut.of(charge)


@router.post(
    "/{charge_id}/settle",
    dependencies=[Depends(refuse_empty_json)],
    response_model=ChargeOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Settle an open charge (late fees by the billing settings)",
)
async def settle_charge(
    charge_id: str,
    request: Request,
    caller: IdempotentCallerDep,
    body: Annotated[ChargeSettle, Body(default_factory=ChargeSettle)],
) -> JSONResponse:
    """Records the payment of an open charge. Late fees are computed at `settled_at` (default
    now) from the billing settings: a fine plus daily interest, counted in the tenant's time
    zone. `settled_amount` is the `amount` sent, else amount + fees. The customer is e-mailed a
    receipt.

    Event: `charge.settled`; paying may end a delinquency (`customer.status_changed`, and
    `contract.updated` for each contract resumed). Errors: 404; 409 `invalid-transition` unless
    the charge is open; 422 (a `settled_at` in the future or before 2000)."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        charge = await settlement.settle_charge(
            session, caller.clock, caller.tenant_id, charge_id, body
        )
        return snapshot(ChargeOut.of(charge))

    return await caller.respond_once(request, 200, use_case)


@router.post(
    "/{charge_id}/reverse",
    response_model=ChargeOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Reverse (refund) a settled charge",
)
async def reverse_charge(
    charge_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Reverses (refunds) a settled charge; what was settled stays on record.

    Event: `charge.reversed` (and `customer.status_changed` if the customer's standing moves).
    Errors: 404; 409 `invalid-transition` unless the charge is settled."""
    return await caller.respond_to_move(request, charge_id, settlement.reverse_charge, ChargeOut.of)


@router.post(
    "/{charge_id}/invalidate",
    response_model=ChargeOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Invalidate an open charge",
)
async def invalidate_charge(
    charge_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Cancels an open charge: it is no longer owed.

    Event: `charge.invalidated` (and `customer.status_changed` if the customer's standing
    moves). Errors: 404; 409 `invalid-transition` unless the charge is open."""
    return await caller.respond_to_move(
        request, charge_id, settlement.invalidate_charge, ChargeOut.of
    )


@router.post(
    "/{charge_id}/reactivate",
    response_model=ChargeOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Reopen an invalidated charge",
)
async def reactivate_charge(
    charge_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Reopens an invalidated charge: it is owed again.

    Event: `charge.reactivated` (and `customer.status_changed` if the customer's standing
    moves). Errors: 404; 409 `invalid-transition` unless the charge is invalidated."""
    return await caller.respond_to_move(
        request, charge_id, settlement.reactivate_charge, ChargeOut.of
    )
