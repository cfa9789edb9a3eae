"""HTTP for products: parse, call the service, shape the answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.inputs import UtcDatetime
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery
from assina.events.service import snapshot
from assina.products import service
from assina.products.models import BillingInterval, ProductStatus
from assina.products.schemas import ProductCreate, ProductOut, ProductUpdate
from assina.tenants.deps import CallerDep, IdempotentCallerDep

router = APIRouter(prefix="/v1/products", tags=["products"])


@router.post(
    "",
    status_code=201,
    response_model=ProductOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Create a product or service",
)
async def create_product(
    body: ProductCreate, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Registers a product or service: a one-off item, or a recurring one (`interval`) that
    contracts can subscribe to. `amount` is the price in minor units.

    Event: `product.created`. Errors: 422 naming each invalid field."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        product = await service.create_product(session, caller.clock, caller.tenant_id, body)
        return snapshot(ProductOut.of(product))

    return await caller.respond_once(request, 201, use_case)


@router.get(
    "",
    response_model=Page[ProductOut],
    responses=problem_responses(401, 422),
    summary="List products",
)
async def list_products(
    caller: CallerDep,
    page: PageQuery,
    status: ProductStatus | None = None,
    interval: BillingInterval | None = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[ProductOut]:
    """The tenant's products, oldest first, a page at a time, filtered by `status`,
    `interval` and creation time."""
    filters = service.ProductFilters(
        status=status, interval=interval, created_gte=created_gte, created_lt=created_lt
    )
    async with caller.database.read() as session:
        products, has_more = await service.list_products(session, caller.tenant_id, filters, page)
        return Page[ProductOut](data=[ProductOut.of(p) for p in products], has_more=has_more)


@router.get(
    "/{product_id}",
    response_model=ProductOut,
    responses=problem_responses(401, 404),
    summary="Get a product",
)
async def get_product(product_id: str, caller: CallerDep) -> ProductOut:
    """One product by id. Another tenant's id answers 404 like a missing one."""
    async with caller.database.read() as session:
        return ProductOut.of(await service.get_product(session, caller.tenant_id, product_id))


@router.patch(
    "/{product_id}",
    response_model=ProductOut,
    responses=problem_responses(400, 401, 404, 413, 422),
    summary="Update a product",
)
async def update_product(product_id: str, body: ProductUpdate, caller: CallerDep) -> ProductOut:
    """Changes only the fields sent; a PATCH that changes nothing raises no event.

    Event: `product.updated`, with the old values in `previous`. Errors: 404, 422."""
    async with caller.database.write() as session:
        product = await service.update_product(
            session, caller.clock, caller.tenant_id, product_id, body
        )
        return ProductOut.of(product)


@router.post(
    "/{product_id}/deactivate",
    response_model=ProductOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Deactivate a product",
)
async def deactivate_product(
    product_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Marks the product `inactive`: it can no longer be put on new charges or contracts.

    Event: `product.deactivated`. Errors: 404; 409 `invalid-transition` if it is already
    inactive."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        product = await service.deactivate_product(
            session, caller.clock, caller.tenant_id, product_id
        )
        return snapshot(ProductOut.of(product))

    return await caller.respond_once(request, 200, use_case)


@router.delete(
    "/{product_id}",
    response_model=ProductOut,
    responses=problem_responses(401, 404, 409),
    summary="Delete a product no contract uses",
)
async def delete_product(product_id: str, caller: CallerDep) -> ProductOut:
    """Deletes a product that no live contract uses; the answer is the product as it was.

    Event: `product.deleted`. Errors: 404; 409 `product-in-use` while a live contract has it."""
    async with caller.database.write() as session:
        product = await service.delete_product(session, caller.clock, caller.tenant_id, product_id)
        return ProductOut.of(product)
