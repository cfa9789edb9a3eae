"""Pedidos: the list by status, an order's page, fulfil and cancel; through the orders'
moves, as the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.console.actions import act, new_idempotency_key, newest_first
from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.form_values import chosen
from assina.console.forms import read_form, refusal
from assina.console.web import render_page
from assina.core.clock import Clock
from assina.core.errors import Problem
from assina.customers.service import customer_names
from assina.events.service import snapshot
from assina.orders import moves, service
from assina.orders.models import Order, OrderStatus
from assina.orders.schemas import OrderOut

router = APIRouter(prefix="/console/orders")

OrderMove = Callable[[AsyncSession, Clock, str, str], Awaitable[Order]]
_MOVES: dict[str, OrderMove] = {"fulfill": moves.fulfill_order, "cancel": moves.cancel_order}


@router.get("")
async def order_list(
    caller: ConsoleCallerDep, status: str = "", customer_id: str = "", after: str | None = None
) -> Response:
    chosen_status = chosen(status, OrderStatus)
    filters = service.OrderFilters(
        status=chosen_status,
        customer_id=customer_id[:64] or None,
    )
    async with caller.runtime.database.read() as session:
        orders, has_more = await service.list_orders(
            session, caller.tenant_id, filters, newest_first(after)
        )
        shown = [OrderOut.of(order) for order in orders]
        names = await customer_names(session, caller.tenant_id, {o.customer_id for o in shown})
    return render_page(
        "orders/list.html",
        caller.frame,
        orders=shown,
        names=names,
        has_more=has_more,
        status=chosen_status or "",
        statuses=list(OrderStatus),
        customer_id=customer_id,
        after=after,
    )


@router.get("/{order_id}")
async def order_page(order_id: str, caller: ConsoleCallerDep) -> Response:
    return await _order_page(caller, order_id, None)


@router.post("/{order_id}/{move}")
async def move_order(order_id: str, move: str, request: Request, caller: ChangerDep) -> Response:
    """Fulfil (a paid order) or cancel (a pending one): a 409 is shown on the order's page."""
    order_move = _MOVES.get(move)
    if order_move is None:
        raise Problem(404, "not-found", "No such action.")
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        moved = await order_move(session, caller.clock, caller.tenant_id, order_id)
        return snapshot(OrderOut.of(moved))

    return await act(
        request,
        caller,
        form,
        use_case,
        done=f"/console/orders/{order_id}",
        refused=lambda problem: _order_page(caller, order_id, problem),
    )


async def _order_page(caller: ConsoleCaller, order_id: str, problem: Problem | None) -> Response:
    async with caller.runtime.database.read() as session:
        order = OrderOut.of(await service.get_order(session, caller.tenant_id, order_id))
        names = await customer_names(session, caller.tenant_id, {order.customer_id})
    return render_page(
        "orders/show.html",
        caller.frame,
        **refusal(problem),
        order=order,
        customer_name=names.get(order.customer_id, order.customer_id),
        idempotency_key=new_idempotency_key(),
    )
