"""Product use cases: the only place that changes products and emits their events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.contracts.models import Contract, ContractStatus
from assina.core.clock import Clock
from assina.core.errors import conflict, not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page, in_range
from assina.core.patching import METADATA_COLUMN, apply_patch
from assina.events.catalog import EventType
from assina.events.service import changed_fields, emit_event, snapshot
from assina.products.models import BillingInterval, Product, ProductStatus
from assina.products.schemas import ProductCreate, ProductOut, ProductUpdate
from assina.tenants.counters import Counter, next_value


async def create_product(
    session: AsyncSession, clock: Clock, tenant_id: str, params: ProductCreate
) -> Product:
    now = clock.now()
    product = Product(
        id=new_id("prd"),
        tenant_id=tenant_id,
        number=await next_value(session, tenant_id, Counter.PRODUCT_NUMBER),
        name=params.name,
        description=params.description,
        amount=params.amount,
        currency=params.currency,
        interval=params.interval.value,
        interval_count=params.interval_count,
        trial_days=params.trial_days,
        status=ProductStatus.ACTIVE,
        metadata_=params.metadata,
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )
    session.add(product)
    await emit_event(session, clock, tenant_id, EventType.PRODUCT_CREATED, ProductOut.of(product))
    return product


async def get_product(
    session: AsyncSession, tenant_id: str, product_id: str, *, lock: bool = False
) -> Product:
    statement = select(Product).where(
        Product.tenant_id == tenant_id,
        Product.id == product_id,
        Product.deleted_at.is_(None),
    )
    product = await session.scalar(statement.with_for_update() if lock else statement)
    if product is None:
        raise not_found("product", product_id)
    return product


@dataclass(frozen=True)
class ProductFilters:
    status: ProductStatus | None = None
    interval: BillingInterval | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def list_products(
    session: AsyncSession, tenant_id: str, filters: ProductFilters, page: PageParams
) -> tuple[Sequence[Product], bool]:
    statement = select(Product).where(Product.tenant_id == tenant_id, Product.deleted_at.is_(None))
    if filters.status is not None:
        statement = statement.where(Product.status == filters.status)
    if filters.interval is not None:
        statement = statement.where(Product.interval == filters.interval.value)
    statement = in_range(statement, Product.created_at, filters.created_gte, filters.created_lt)
    return await fetch_page(session, statement, Product.id, page)


async def update_product(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    product_id: str,
    changes: ProductUpdate,
) -> Product:
    product = await get_product(session, tenant_id, product_id)
    before = snapshot(ProductOut.of(product))
    apply_patch(product, changes, METADATA_COLUMN)
    previous = changed_fields(before, snapshot(ProductOut.of(product)))
    if not previous:
        return product
    product.updated_at = clock.now()
    await emit_event(
        session,
        clock,
        tenant_id,
        EventType.PRODUCT_UPDATED,
        ProductOut.of(product),
        previous=previous,
    )
    return product


async def deactivate_product(
    session: AsyncSession, clock: Clock, tenant_id: str, product_id: str
) -> Product:
    product = await get_product(session, tenant_id, product_id)
    if product.status == ProductStatus.INACTIVE:
        raise conflict(f"Product {product_id} is already inactive.", "invalid-transition")
    previous = {"status": product.status}
    product.status = ProductStatus.INACTIVE
    product.updated_at = clock.now()
    await emit_event(
        session,
        clock,
        tenant_id,
        EventType.PRODUCT_DEACTIVATED,
        ProductOut.of(product),
        previous=previous,
    )
    return product


async def delete_product(
    session: AsyncSession, clock: Clock, tenant_id: str, product_id: str
) -> Product:
    """Delete a product no live contract uses: 409 while any contract that is neither deleted
    nor cancelled has it among its items (cancelled contracts and past charges keep naming it;
    the row stays, with `deleted_at`). The product's row lock orders this against a contract
    being created with it (contracts/items.py)."""
    product = await get_product(session, tenant_id, product_id, lock=True)
    if await _used_by_live_contract(session, tenant_id, product_id):
        raise conflict(
            f"Product {product_id} is in a live contract; change or cancel the contract first.",
            "product-in-use",
        )
    now = clock.now()
    product.deleted_at = now
    product.updated_at = now
    await emit_event(session, clock, tenant_id, EventType.PRODUCT_DELETED, ProductOut.of(product))
    return product


async def _used_by_live_contract(session: AsyncSession, tenant_id: str, product_id: str) -> bool:
    """Read in Python from the tenant's live contracts' items: portable across both databases'
    JSON (a tenant has few enough live contracts; a JSON path index can come when it matters)."""
    rows = await session.scalars(
        select(Contract.items).where(
            Contract.tenant_id == tenant_id,
            Contract.deleted_at.is_(None),
            Contract.status != ContractStatus.CANCELLED,
        )
    )
    return any(item.get("product_id") == product_id for items in rows for item in items)
