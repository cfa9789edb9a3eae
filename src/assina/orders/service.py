"""Order use cases: creating, reading and listing orders (their moves are in moves.py).

Creation rules:

- The customer is the tenant's and not `inactive`; a `card_id` is a live card of that
  customer and goes with payment_method `card`.
- Every product is the tenant's and `active`, all in one currency; the order keeps each
  item's name, unit price, interval and interval count as they are now.
- The order's charge asks Σ quantity * amount: the one-off items (interval `once`) and the
  first period of the recurring ones. An order of 0 is refused: there is nothing to pay.
- The charge is due on `due_date`, by default the tenant's today; the order expires (the
  calendar, moves.py) from its `expires_on`, the tenant's today plus its
  `order_expiry_days` (billing settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.service import billing_rules
from assina.charges.service import ChargeDraft, charge_total, issue_charge
from assina.contracts.models import PaymentMethod
from assina.core.clock import Clock
from assina.core.errors import invalid, not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page, in_range
from assina.customers.models import Customer, CustomerStatus
from assina.events.catalog import EventType
from assina.events.service import emit_event
from assina.orders.models import Order, OrderLine, OrderStatus
from assina.orders.schemas import OrderCreate, OrderItemIn, OrderStatusChangedOut
from assina.payments.models import CustomerCard
from assina.products.models import Product, ProductStatus
from assina.tenants.clock import tenant_today
from assina.tenants.counters import Counter, next_value


async def create_order(
    session: AsyncSession, clock: Clock, tenant_id: str, params: OrderCreate
) -> Order:
    """A pending order and its charge (through the charges domain: `charge.created` and what
    follows it), then `order.status_changed` from null to `pending`."""
    await _check_customer(session, tenant_id, params.customer_id)
    if params.card_id is not None:
        await _check_card(session, tenant_id, params)
    lines, currency = await order_lines(session, tenant_id, params.items)
    amount = charge_total(lines)
    if amount == 0:
        raise invalid("items", "the items add up to 0: an order needs something to pay")
    today = await tenant_today(session, clock, tenant_id)
    rules = await billing_rules(session, tenant_id)
    now = clock.now()
    order = Order(
        id=new_id("ord"),
        tenant_id=tenant_id,
        number=await next_value(session, tenant_id, Counter.ORDER_NUMBER),
        customer_id=params.customer_id,
        items=lines,
        amount=amount,
        currency=currency,
        status=OrderStatus.PENDING,
        payment_method=params.payment_method,
        card_id=params.card_id,
        charge_id=None,
        contract_ids=[],
        expires_on=today + timedelta(days=rules.order_expiry_days),
        paid_at=None,
        fulfilled_at=None,
        cancelled_at=None,
        expired_at=None,
        metadata_=params.metadata,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.flush()  # the charge's order_id refers to it
    draft = ChargeDraft(
        customer_id=params.customer_id,
        items=lines,
        due_date=params.due_date or today,
        payment_method=params.payment_method,
        currency=currency,
        order_id=order.id,
    )
    order.charge_id = (await issue_charge(session, clock, tenant_id, draft)).id
    await emit_event(
        session,
        clock,
        tenant_id,
        EventType.ORDER_STATUS_CHANGED,
        OrderStatusChangedOut.moved(order, None),
        customer_id=order.customer_id,
    )
    return order


async def _check_customer(session: AsyncSession, tenant_id: str, customer_id: str) -> None:
    status = await session.scalar(
        select(Customer.status).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    )
    if status is None:
        raise invalid("customer_id", f"no customer with id {customer_id!r}")
    if status == CustomerStatus.INACTIVE:
        raise invalid("customer_id", f"customer {customer_id} is inactive; reactivate it first")


async def _check_card(session: AsyncSession, tenant_id: str, params: OrderCreate) -> None:
    if params.payment_method != PaymentMethod.CARD:
        raise invalid("card_id", "a card goes with payment_method card")
    found = await session.scalar(
        select(CustomerCard.id).where(
            CustomerCard.tenant_id == tenant_id,
            CustomerCard.id == params.card_id,
            CustomerCard.customer_id == params.customer_id,
            CustomerCard.deleted_at.is_(None),
        )
    )
    if found is None:
        raise invalid("card_id", f"customer {params.customer_id} has no card {params.card_id!r}")


async def order_lines(
    session: AsyncSession, tenant_id: str, items: Sequence[OrderItemIn]
) -> tuple[list[OrderLine], str]:
    """The items as the order keeps them, and their one currency (422 naming the item
    otherwise: a product that is missing, another tenant's, inactive, or in another
    currency)."""
    found = await session.scalars(
        select(Product).where(
            Product.tenant_id == tenant_id,
            Product.id.in_({item.product_id for item in items}),
            Product.deleted_at.is_(None),
        )
    )
    products = {product.id: product for product in found}
    lines: list[OrderLine] = []
    currency: str | None = None
    for index, item in enumerate(items):
        where = f"items.{index}.product_id"
        product = products.get(item.product_id)
        if product is None:
            raise invalid(where, f"no product with id {item.product_id!r}")
        if product.status != ProductStatus.ACTIVE:
            raise invalid(where, f"product {product.id} is inactive and cannot be sold")
        currency = currency or product.currency
        if product.currency != currency:
            raise invalid(
                where,
                f"product {product.id} is priced in {product.currency}, "
                f"the order's other items in {currency}: one order, one currency",
            )
        lines.append(_line(product, item.quantity))
    if currency is None:  # the schema asks for one item at least
        raise invalid("items", "an order needs at least one item")
    return lines, currency


def _line(product: Product, quantity: int) -> OrderLine:
    return {
        "product_id": product.id,
        "description": product.name,
        "quantity": quantity,
        "amount": product.amount,
        "interval": product.interval,
        "interval_count": product.interval_count,
    }


# --- reading -----------------------------------------------------------------------------------


async def get_order(
    session: AsyncSession, tenant_id: str, order_id: str, *, lock: bool = False
) -> Order:
    """The tenant's order (404 otherwise); `lock` takes its row lock, its state read again."""
    statement = select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    order = await session.scalar(statement)
    if order is None:
        raise not_found("order", order_id)
    return order


@dataclass(frozen=True)
class OrderFilters:
    status: OrderStatus | None = None
    customer_id: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def list_orders(
    session: AsyncSession, tenant_id: str, filters: OrderFilters, page: PageParams
) -> tuple[Sequence[Order], bool]:
    statement = select(Order).where(Order.tenant_id == tenant_id)
    if filters.status is not None:
        statement = statement.where(Order.status == filters.status)
    if filters.customer_id is not None:
        statement = statement.where(Order.customer_id == filters.customer_id)
    statement = in_range(statement, Order.created_at, filters.created_gte, filters.created_lt)
    return await fetch_page(session, statement, Order.id, page)
