"""Customer use cases: the only place that changes customers and emits their events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.documents import only_digits
from assina.core.errors import conflict, not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page, in_range
from assina.core.patching import METADATA_COLUMN, apply_patch
from assina.customers.models import Customer, CustomerStatus
from assina.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate, stored_email
from assina.db.functions import unicode_lower
from assina.events.catalog import EventType
from assina.events.service import changed_fields, emit_event, snapshot
from assina.tenants.counters import Counter, next_value


async def create_customer(
    session: AsyncSession, clock: Clock, tenant_id: str, params: CustomerCreate
) -> Customer:
    now = clock.now()
    customer = Customer(
        id=new_id("cus"),
        tenant_id=tenant_id,
        number=await next_value(session, tenant_id, Counter.CUSTOMER_NUMBER),
        name=params.name,
        email=params.email,
        document=params.document,
        phone=params.phone,
        address=params.address.model_dump(mode="json") if params.address else None,
        status=CustomerStatus.ACTIVE,
        dunning_exempt=params.dunning_exempt,
        metadata_=params.metadata,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    await emit_event(
        session,
        clock,
        tenant_id,
        EventType.CUSTOMER_CREATED,
        CustomerOut.of(customer),
        customer_id=customer.id,
    )
    return customer


async def get_customer(session: AsyncSession, tenant_id: str, customer_id: str) -> Customer:
    customer = await session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    )
    if customer is None:
        raise not_found("customer", customer_id)
    return customer


async def customer_names(
    session: AsyncSession, tenant_id: str, customer_ids: set[str]
) -> dict[str, str]:
    """The names of these customers of the tenant, by id (a list page's customer column)."""
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(Customer.id, Customer.name).where(
            Customer.tenant_id == tenant_id, Customer.id.in_(sorted(customer_ids))
        )
    )
    return {customer_id: name for customer_id, name in rows.all()}


@dataclass(frozen=True)
class CustomerFilters:
    status: CustomerStatus | None = None
    email: str | None = None
    document: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None
    q: str | None = None


def matches_search(q: str) -> ColumnElement[bool]:
    """`q` in the name or e-mail (any case), or, when `q` is only digits and document
    punctuation, in the document's digits."""
    term = q.strip().lower()
    found = or_(
        unicode_lower(Customer.name).contains(term, autoescape=True),
        unicode_lower(Customer.email).contains(term, autoescape=True),
    )
    digits = only_digits(term)
    if digits.isascii() and digits.isdigit():
        found = or_(found, Customer.document.contains(digits, autoescape=True))
    return found


async def list_customers(
    session: AsyncSession, tenant_id: str, filters: CustomerFilters, page: PageParams
) -> tuple[Sequence[Customer], bool]:
    statement = select(Customer).where(Customer.tenant_id == tenant_id)
    if filters.status is not None:
        statement = statement.where(Customer.status == filters.status)
    if filters.email is not None:
        statement = statement.where(Customer.email == stored_email(filters.email))
    if filters.document:
        statement = statement.where(Customer.document == only_digits(filters.document))
    if filters.q and filters.q.strip():
        statement = statement.where(matches_search(filters.q))
    statement = in_range(statement, Customer.created_at, filters.created_gte, filters.created_lt)
    return await fetch_page(session, statement, Customer.id, page)


async def update_customer(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    customer_id: str,
    changes: CustomerUpdate,
) -> Customer:
    customer = await get_customer(session, tenant_id, customer_id)
    before = snapshot(CustomerOut.of(customer))
    apply_patch(customer, changes, METADATA_COLUMN)
    after = CustomerOut.of(customer)
    previous = changed_fields(before, snapshot(after))
    if not previous:
        return customer
    customer.updated_at = clock.now()
    await emit_event(
        session,
        clock,
        tenant_id,
        EventType.CUSTOMER_UPDATED,
        CustomerOut.of(customer),
        previous=previous,
        customer_id=customer.id,
    )
    return customer


async def deactivate_customer(
    session: AsyncSession, clock: Clock, tenant_id: str, customer_id: str
) -> Customer:
    customer = await get_customer(session, tenant_id, customer_id)
    if customer.status == CustomerStatus.INACTIVE:
        raise conflict(f"Customer {customer_id} is already inactive.", "invalid-transition")
    return await _move_customer(
        session,
        clock,
        customer,
        CustomerStatus.INACTIVE,
        EventType.CUSTOMER_DEACTIVATED,
    )


async def reactivate_customer(
    session: AsyncSession, clock: Clock, tenant_id: str, customer_id: str
) -> Customer:
    customer = await get_customer(session, tenant_id, customer_id)
    if customer.status != CustomerStatus.INACTIVE:
        raise conflict(
            f"Customer {customer_id} is {customer.status}; only an inactive customer can be "
            "reactivated.",
            "invalid-transition",
        )
    return await _move_customer(
        session, clock, customer, CustomerStatus.ACTIVE, EventType.CUSTOMER_REACTIVATED
    )


async def _move_customer(
    session: AsyncSession,
    clock: Clock,
    customer: Customer,
    status: CustomerStatus,
    event_type: EventType,
) -> Customer:
    previous = {"status": customer.status}
    customer.status = status
    customer.updated_at = clock.now()
    await emit_event(
        session,
        clock,
        customer.tenant_id,
        event_type,
        CustomerOut.of(customer),
        previous=previous,
        customer_id=customer.id,
    )
    return customer
