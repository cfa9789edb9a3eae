"""HTTP for suppliers: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.inputs import UtcDatetime
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery
from assina.events.service import snapshot
from assina.suppliers import service
from assina.suppliers.schemas import SupplierCreate, SupplierOut, SupplierUpdate
from assina.tenants.deps import CallerDep, IdempotentCallerDep

router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"])


@router.post(
    "",
    status_code=201,
    response_model=SupplierOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Create a supplier",
)
async def create_supplier(
    body: SupplierCreate, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Registers a supplier the tenant pays (expenses name one). `document` takes a CPF or
    CNPJ with or without punctuation, checks its digits and is stored as digits only; `number`
    is the next per-tenant sequential number.

    Raises no event. Errors: 422 naming each invalid field."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        supplier = await service.create_supplier(session, caller.clock, caller.tenant_id, body)
        return snapshot(SupplierOut.of(supplier))

    return await caller.respond_once(request, 201, use_case)


@router.get(
    "",
    response_model=Page[SupplierOut],
    responses=problem_responses(401, 422),
    summary="List suppliers",
)
async def list_suppliers(
    caller: CallerDep,
    page: PageQuery,
    document: Annotated[
        str | None, Query(max_length=18, description="CPF or CNPJ, punctuation ignored.")
    ] = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[SupplierOut]:
    """The tenant's suppliers, oldest first, a page at a time, filtered by document and
    creation time."""
    filters = service.SupplierFilters(
        document=document, created_gte=created_gte, created_lt=created_lt
    )
    async with caller.database.read() as session:
        suppliers, has_more = await service.list_suppliers(session, caller.tenant_id, filters, page)
        return Page[SupplierOut](data=[SupplierOut.of(s) for s in suppliers], has_more=has_more)


@router.get(
    "/{supplier_id}",
    response_model=SupplierOut,
    responses=problem_responses(401, 404),
    summary="Get a supplier",
)
async def get_supplier(supplier_id: str, caller: CallerDep) -> SupplierOut:
    """One supplier by id. Another tenant's id answers 404 like a missing one."""
    async with caller.database.read() as session:
        return SupplierOut.of(await service.get_supplier(session, caller.tenant_id, supplier_id))


@router.patch(
    "/{supplier_id}",
    response_model=SupplierOut,
    responses=problem_responses(400, 401, 404, 413, 422),
    summary="Update a supplier",
)
async def update_supplier(supplier_id: str, body: SupplierUpdate, caller: CallerDep) -> SupplierOut:
    """Changes only the fields sent (`null` clears `document`, `email` or `phone`). The
    expenses that name the supplier show its new name from then on.

    Raises no event. Errors: 404, 422."""
    async with caller.database.write() as session:
        supplier = await service.update_supplier(
            session, caller.clock, caller.tenant_id, supplier_id, body
        )
        return SupplierOut.of(supplier)
