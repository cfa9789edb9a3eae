"""Cobranças: the list with its filters, a charge's page (items, fees, PIX, boleto, payment
link, fiscal invoice) and its moves (settle, reverse, invalidate, reactivate), through the
charges' settlement, as the API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges import settlement
from assina.charges.boleto import boleto_document
from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeOut, ChargeSettle
from assina.charges.service import ChargeFilters, get_charge, list_charges
from assina.console.actions import act, new_idempotency_key, newest_first
from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.form_values import DueRange, chosen
from assina.console.forms import field_errors, input_of, parse_amount, read_form, refusal
from assina.console.web import render_page
from assina.core.clock import Clock
from assina.core.errors import Problem
from assina.customers.service import get_customer
from assina.events.service import snapshot
from assina.rules.boleto_pdf import render_boleto_pdf

router = APIRouter(prefix="/console/charges")

ChargeMove = Callable[[AsyncSession, Clock, str, str], Awaitable[Charge]]
_MOVES: dict[str, ChargeMove] = {
    "reverse": settlement.reverse_charge,
    "invalidate": settlement.invalidate_charge,
    "reactivate": settlement.reactivate_charge,
}


@router.get("")
async def charge_list(
    caller: ConsoleCallerDep,
    status: str = "",
    customer_id: str = "",
    due_from: str = "",
    due_to: str = "",
    after: str | None = None,
) -> Response:
    chosen_status = chosen(status, ChargeStatus)
    due = DueRange.typed(due_from, due_to)
    filters = ChargeFilters(
        customer_id=customer_id[:64] or None,
        status=chosen_status,
        due_gte=due.first,
        due_lt=due.before,
    )
    async with caller.runtime.database.read() as session:
        charges, has_more = await list_charges(
            session, caller.tenant_id, filters, newest_first(after)
        )
        shown = [ChargeOut.of(charge) for charge in charges]
    return render_page(
        "charges/list.html",
        caller.frame,
        charges=shown,
        has_more=has_more,
        status=chosen_status or "",
        statuses=list(ChargeStatus),
        customer_id=customer_id,
        due_from=due.shown[0],
        due_to=due.shown[1],
        after=after,
        today=caller.today(),
    )


@router.get("/{charge_id}")
async def charge_page(caller: ConsoleCallerDep, charge_id: str) -> Response:
    return await charge_page_with(caller, charge_id, None, {})


async def charge_page_with(
    caller: ConsoleCaller, charge_id: str, problem: Problem | None, values: dict[str, str]
) -> Response:
    async with caller.runtime.database.read() as session:
        charge = ChargeOut.of(await get_charge(session, caller.tenant_id, charge_id))
        customer_name = (await get_customer(session, caller.tenant_id, charge.customer_id)).name
    return render_page(
        "charges/show.html",
        caller.frame,
        **refusal(problem),
        charge=charge,
        customer_name=customer_name,
        today=caller.today(),
        errors=field_errors(problem),
        values=values,
        idempotency_key=new_idempotency_key(),
    )


@router.get("/{charge_id}/boleto.pdf")
async def charge_boleto(caller: ConsoleCallerDep, charge_id: str) -> Response:
    """The printable boleto, drawn as GET /v1/charges/{id}/boleto.pdf draws it."""
    async with caller.runtime.database.read() as session:
        charge = await get_charge(session, caller.tenant_id, charge_id)
        document = await boleto_document(session, caller.tenant_id, charge)
    pdf = await asyncio.to_thread(render_boleto_pdf, document)
    headers = {
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="boleto-{document.document_number}.pdf"',
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post("/{charge_id}/settle")
async def settle_charge(charge_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = {"amount": form.get("amount")}

    async def use_case(session: AsyncSession) -> dict[str, object]:
        amount = parse_amount(form.get("amount"), "amount")
        body = input_of(ChargeSettle, {} if amount is None else {"amount": amount})
        charge = await settlement.settle_charge(
            session, caller.clock, caller.tenant_id, charge_id, body
        )
        return snapshot(ChargeOut.of(charge))

    return await act(
        request,
        caller,
        form,
        use_case,
        done=f"/console/charges/{charge_id}",
        refused=lambda problem: charge_page_with(caller, charge_id, problem, values),
    )


@router.post("/{charge_id}/{move}")
async def move_charge(charge_id: str, move: str, request: Request, caller: ChangerDep) -> Response:
    """Reverse, invalidate or reactivate: a 409 (a move its status forbids) is shown on the
    charge's page."""
    charge_move = _MOVES.get(move)
    if charge_move is None:
        raise Problem(404, "not-found", "No such action.")
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        charge = await charge_move(session, caller.clock, caller.tenant_id, charge_id)
        return snapshot(ChargeOut.of(charge))

    return await act(
        request,
        caller,
        form,
        use_case,
        done=f"/console/charges/{charge_id}",
        refused=lambda problem: charge_page_with(caller, charge_id, problem, {}),
    )
