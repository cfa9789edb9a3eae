"""Supplier use cases: the only place that changes suppliers. Suppliers raise no events (the
catalog has none for them); the expenses that name them do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.documents import only_digits
from assina.core.errors import invalid, not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page, in_range
from assina.core.patching import METADATA_COLUMN, apply_patch
from assina.db.shapes import one_of
from assina.events.service import changed_fields, snapshot
from assina.suppliers.models import Supplier
from assina.suppliers.schemas import SupplierCreate, SupplierLabel, SupplierOut, SupplierUpdate
from assina.tenants.counters import Counter, next_value


async def create_supplier(
    session: AsyncSession, clock: Clock, tenant_id: str, params: SupplierCreate
) -> Supplier:
    now = clock.now()
    supplier = Supplier(
        id=new_id("sup"),
        tenant_id=tenant_id,
        number=await next_value(session, tenant_id, Counter.SUPPLIER_NUMBER),
        name=params.name,
        document=params.document,
        email=params.email,
        phone=params.phone,
        metadata_=params.metadata,
        created_at=now,
        updated_at=now,
    )
    session.add(supplier)
    await session.flush()
    return supplier


async def get_supplier(session: AsyncSession, tenant_id: str, supplier_id: str) -> Supplier:
    supplier = await session.scalar(
        select(Supplier).where(Supplier.tenant_id == tenant_id, Supplier.id == supplier_id)
    )
    if supplier is None:
        raise not_found("supplier", supplier_id)
    return supplier


async def named_supplier(session: AsyncSession, tenant_id: str, supplier_id: str) -> Supplier:
    """The supplier a request body names: another tenant's or a missing one is a 422 on
    `supplier_id` (the body is wrong, the URL is not)."""
    supplier = await session.scalar(
        select(Supplier).where(Supplier.tenant_id == tenant_id, Supplier.id == supplier_id)
    )
    if supplier is None:
        raise invalid("supplier_id", f"no supplier with id {supplier_id!r}")
    return supplier


def label_of(supplier: Supplier) -> SupplierLabel:
    return SupplierLabel(supplier.name, supplier.number)


async def supplier_labels(
    session: AsyncSession, tenant_id: str, supplier_ids: Iterable[str]
) -> dict[str, SupplierLabel]:
    """The names and numbers of these suppliers, by id, in one query (a page of expenses
    shows them)."""
    wanted = sorted(set(supplier_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Supplier.id, Supplier.name, Supplier.number).where(
            Supplier.tenant_id == tenant_id, one_of(Supplier.id, wanted)
        )
    )
    return {row.id: SupplierLabel(row.name, row.number) for row in rows}


@dataclass(frozen=True)
class SupplierFilters:
    document: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def list_suppliers(
    session: AsyncSession, tenant_id: str, filters: SupplierFilters, page: PageParams
) -> tuple[Sequence[Supplier], bool]:
    statement = select(Supplier).where(Supplier.tenant_id == tenant_id)
    if filters.document:
        statement = statement.where(Supplier.document == only_digits(filters.document))
    statement = in_range(statement, Supplier.created_at, filters.created_gte, filters.created_lt)
    return await fetch_page(session, statement, Supplier.id, page)


async def update_supplier(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    supplier_id: str,
    changes: SupplierUpdate,
) -> Supplier:
    supplier = await get_supplier(session, tenant_id, supplier_id)
    before = snapshot(SupplierOut.of(supplier))
    apply_patch(supplier, changes, METADATA_COLUMN)
    if changed_fields(before, snapshot(SupplierOut.of(supplier))):
        supplier.updated_at = clock.now()
    return supplier
