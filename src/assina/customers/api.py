"""HTTP for customers: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.inputs import UtcDatetime
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery
from assina.customers import service
from assina.customers.models import CustomerStatus
from assina.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from assina.events.service import snapshot
from assina.tenants.deps import CallerDep, IdempotentCallerDep

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.post(
    "",
    status_code=201,
    response_model=CustomerOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Create a customer",
)
async def create_customer(
    body: CustomerCreate, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Registers a customer of the tenant. `document` takes a CPF or CNPJ with or without
    punctuation, checks its digits and is stored as digits only; `number` is the next per-tenant
    sequential number.

    Event: `customer.created`. Errors: 422 naming each invalid field."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        customer = await service.create_customer(session, caller.clock, caller.tenant_id, body)
        return snapshot(CustomerOut.of(customer))

    return await caller.respond_once(request, 201, use_case)


@router.get(
    "",
    response_model=Page[CustomerOut],
    responses=problem_responses(401, 422),
    summary="List customers",
)
async def list_customers(
    caller: CallerDep,
    page: PageQuery,
    status: CustomerStatus | None = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    document: Annotated[str | None, Query(max_length=18)] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Search: part of the name or e-mail (any case), or digits of the "
            "document (punctuation ignored).",
        ),
    ] = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[CustomerOut]:
    """The tenant's customers, oldest first, a page at a time (`limit`, `starting_after`),
    filtered by `status`, `email`, `document` (digits or punctuated) and creation time."""
    filters = service.CustomerFilters(
        status=status,
        email=email,
        document=document,
        q=q,
        created_gte=created_gte,
        created_lt=created_lt,
    )
    async with caller.database.read() as session:
        customers, has_more = await service.list_customers(session, caller.tenant_id, filters, page)
        return Page[CustomerOut](data=[CustomerOut.of(c) for c in customers], has_more=has_more)


@router.get(
    "/{customer_id}",
    response_model=CustomerOut,
    responses=problem_responses(401, 404),
    summary="Get a customer",
)
async def get_customer(customer_id: str, caller: CallerDep) -> CustomerOut:
    """One customer by id. Another tenant's id answers 404 like a missing one."""
    async with caller.database.read() as session:
        return CustomerOut.of(await service.get_customer(session, caller.tenant_id, customer_id))


@router.patch(
    "/{customer_id}",
    response_model=CustomerOut,
    responses=problem_responses(400, 401, 404, 413, 422),
    summary="Update a customer",
)
async def update_customer(customer_id: str, body: CustomerUpdate, caller: CallerDep) -> CustomerOut:
    """Changes only the fields sent (`null` clears an optional one); a PATCH that changes
    nothing raises no event.

    Event: `customer.updated`, with the old values in `previous`. Errors: 404, 422."""
    async with caller.database.write() as session:
        customer = await service.update_customer(
            session, caller.clock, caller.tenant_id, customer_id, body
        )
        return CustomerOut.of(customer)


@router.post(
    "/{customer_id}/deactivate",
    response_model=CustomerOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Deactivate a customer",
)
async def deactivate_customer(
    customer_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Marks the customer `inactive`; it stays readable.

    Event: `customer.deactivated`. Errors: 404; 409 `invalid-transition` if it is already
    inactive."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        customer = await service.deactivate_customer(
            session, caller.clock, caller.tenant_id, customer_id
        )
        return snapshot(CustomerOut.of(customer))

    return await caller.respond_once(request, 200, use_case)


@router.post(
    "/{customer_id}/reactivate",
    response_model=CustomerOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Reactivate a customer",
)
async def reactivate_customer(
    customer_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Brings an `inactive` customer back to `active`.

    Event: `customer.reactivated`. Errors: 404; 409 `invalid-transition` unless it is inactive."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        customer = await service.reactivate_customer(
            session, caller.clock, caller.tenant_id, customer_id
        )
        return snapshot(CustomerOut.of(customer))

    return await caller.respond_once(request, 200, use_case)
