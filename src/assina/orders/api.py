"""HTTP for orders and the checkout: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.inputs import UtcDatetime
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery, ReferenceFilter
from assina.events.service import snapshot
from assina.orders import moves, service
from assina.orders.checkout import CheckoutCall, checkout
from assina.orders.models import OrderStatus
from assina.orders.schemas import CheckoutIn, CheckoutOut, OrderCreate, OrderOut
from assina.payment_settings.api import base_url_of
from assina.payments.api import ConnectionsDep
from assina.tenants.deps import CallerDep, IdempotentCallerDep, RuntimeDep

router = APIRouter(prefix="/v1/orders", tags=["orders"])
checkout_router = APIRouter(prefix="/v1/checkout", tags=["orders"])


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Create an order",
)
async def create_order(
    body: OrderCreate, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Creates a `pending` order and its charge: the one-off products (interval `once`) and
    the first period of the recurring ones, due on `due_date` (default: the tenant's today).
    When that charge is settled, however it is, the order becomes `paid` and its recurring
    products start contracts (one per interval), whose first period the charge paid. A
    pending order expires after the billing settings' `order_expiry_days`.

    Events: `charge.created`, then `order.status_changed` (`from` null, `to` pending).
    Errors: 422 naming the field: an unknown, another tenant's or inactive customer or
    product, products in two currencies, items adding up to 0, a `card_id` that is not a
    card of the customer or without payment_method `card`."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        order = await service.create_order(session, caller.clock, caller.tenant_id, body)
        return snapshot(OrderOut.of(order))

    return await caller.respond_once(request, 201, use_case)


@router.get(
    "",
    response_model=Page[OrderOut],
    responses=problem_responses(401, 422),
    summary="List orders",
)
async def list_orders(
    caller: CallerDep,
    page: PageQuery,
    status: OrderStatus | None = None,
    customer_id: ReferenceFilter = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[OrderOut]:
    """The tenant's orders, oldest first, a page at a time, filtered by `status`, customer
    and creation time."""
    filters = service.OrderFilters(
        status=status, customer_id=customer_id, created_gte=created_gte, created_lt=created_lt
    )
    async with caller.database.read() as session:
        orders, has_more = await service.list_orders(session, caller.tenant_id, filters, page)
        return Page[OrderOut](data=[OrderOut.of(o) for o in orders], has_more=has_more)


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    responses=problem_responses(401, 404),
    summary="Get an order",
)
async def get_order(order_id: str, caller: CallerDep) -> OrderOut:
    """One order by id. Another tenant's id answers 404 like a missing one."""
    async with caller.database.read() as session:
        return OrderOut.of(await service.get_order(session, caller.tenant_id, order_id))


@router.post(
    "/{order_id}/fulfill",
    response_model=OrderOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Fulfil a paid order",
)
async def fulfill_order(
    order_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Records that a paid order was delivered.

    Event: `order.status_changed` (`paid` → `fulfilled`). Errors: 404; 409
    `invalid-transition` unless the order is paid."""
    return await caller.respond_to_move(request, order_id, moves.fulfill_order, OrderOut.of)


@router.post(
    "/{order_id}/cancel",
    response_model=OrderOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Cancel a pending order",
)
async def cancel_order(
    order_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Cancels a pending order; its charge, if still open, is invalidated. A paid order is
    not cancelled (reverse its charge and cancel its contracts instead).

    Events: `charge.invalidated`, then `order.status_changed` (`pending` → `cancelled`).
    Errors: 404; 409 `invalid-transition` unless the order is pending."""
    return await caller.respond_to_move(request, order_id, moves.cancel_order, OrderOut.of)


@checkout_router.post(
    "",
    status_code=201,
    response_model=CheckoutOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Checkout: customer, order and card payment in one call",
)
async def checkout_order(
    body: CheckoutIn,
    request: Request,
    caller: IdempotentCallerDep,
    runtime: RuntimeDep,
    connections: ConnectionsDep,
) -> JSONResponse:
    """Finds the customer by `customer.document` (its digits, among the tenant's customers;
    one found is used unchanged) or creates it, then creates the order as POST /v1/orders
    does. With `card_token` (or `card`, the number form on sandbox tenants only) and
    payment_method `card`, the card is saved for the customer as POST
    /v1/customers/{id}/cards saves it, and the order's charge is tried on it at once as POST
    /v1/charges/{id}/pay tries it: approved pays the order. A card that cannot be saved or
    charged leaves the order pending and says why in `card_error`.

    Events: `customer.created` (a new customer), `charge.created`, `order.status_changed`;
    with an approved card `charge.settled`, `contract.created` and `order.status_changed`
    again; a declined one `card.declined`. Errors: 422 naming the field, as POST
    /v1/customers and POST /v1/orders (then nothing is written)."""
    call = CheckoutCall(
        tenant=caller.tenant,
        clock=caller.clock,
        base_url=base_url_of(runtime, request),
        payer_ip=request.client.host if request.client else None,
    )

    async def use_case() -> dict[str, Any]:
        done = await checkout(caller.database, connections, call, body)
        return done.model_dump(mode="json")

    # The body may hold a card's number and CVC: the key keeps a keyed hash of it.
    return await caller.respond_once_in_steps(request, 201, use_case, secret_body=True)
