"""Despesas: the list by status and due dates, record one (supplier, description, category,
amount, due date, boleto line), an expense's page, settle (amount, paid date) and reverse;
through the expenses service and settlement, as the API."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.console.actions import act, new_idempotency_key, newest_first, run_once
from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.form_values import DueRange, calendar_day, chosen
from assina.console.forms import Form, field_errors, input_of, parse_amount, read_form, refusal
from assina.console.web import render_page
from assina.core.errors import Problem
from assina.events.service import snapshot
from assina.expenses import service, settlement
from assina.expenses.models import ExpenseStatus
from assina.expenses.schemas import ExpenseCreate, ExpenseSettle
from assina.suppliers.schemas import SupplierOut
from assina.suppliers.service import SupplierFilters, list_suppliers

router = APIRouter(prefix="/console/expenses")

SUPPLIER_CHOICES = 100
_CREATE_FIELDS = ("supplier_id", "description", "category", "amount", "due_date", "boleto_line")
PAID_AT_HOUR = time(12)  # a paid date typed without a time: noon, the tenant's time


@router.get("")
async def expense_list(
    caller: ConsoleCallerDep,
    status: str = "",
    due_from: str = "",
    due_to: str = "",
    after: str | None = None,
) -> Response:
    chosen_status = chosen(status, ExpenseStatus)
    due = DueRange.typed(due_from, due_to)
    filters = service.ExpenseFilters(
        status=chosen_status,
        due_gte=due.first,
        due_lt=due.before,
    )
    async with caller.runtime.database.read() as session:
        expenses, has_more = await service.list_expenses(
            session, caller.tenant_id, filters, newest_first(after)
        )
    return render_page(
        "expenses/list.html",
        caller.frame,
        expenses=expenses,
        has_more=has_more,
        status=chosen_status or "",
        statuses=list(ExpenseStatus),
        due_from=due.shown[0],
        due_to=due.shown[1],
        after=after,
        today=caller.today(),
    )


@router.get("/new")
async def new_expense(caller: ChangerDep) -> Response:
    return await _expense_form(caller, {}, None)


@router.post("")
async def create_expense(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = {name: form.get(name) for name in _CREATE_FIELDS}
    try:
        body = input_of(ExpenseCreate, _expense_values(form))

        async def use_case(session: AsyncSession) -> dict[str, object]:
            return snapshot(
                await service.create_expense(session, caller.clock, caller.tenant_id, body)
            )

        created = await run_once(request, caller, form, use_case)
    except Problem as problem:
        return await _expense_form(caller, values, problem)
    return RedirectResponse(f"/console/expenses/{created['id']}", status_code=303)


@router.get("/{expense_id}")
async def expense_page(expense_id: str, caller: ConsoleCallerDep) -> Response:
    return await _expense_page(caller, expense_id, None, {})


@router.post("/{expense_id}/settle")
async def settle_expense(expense_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = {"amount": form.get("amount"), "paid_at": form.get("paid_at")}

    async def use_case(session: AsyncSession) -> dict[str, object]:
        amount = parse_amount(form.get("amount"), "amount")
        sent: dict[str, Any] = {} if amount is None else {"amount": amount}
        paid_at = _paid_at(caller, form.get("paid_at"))
        if paid_at is not None:
            sent["paid_at"] = paid_at
        body = input_of(ExpenseSettle, sent)
        return snapshot(
            await settlement.settle_expense(
                session, caller.clock, caller.tenant_id, expense_id, body
            )
        )

    return await act(
        request,
        caller,
        form,
        use_case,
        done=f"/console/expenses/{expense_id}",
        refused=lambda problem: _expense_page(caller, expense_id, problem, values),
    )


@router.post("/{expense_id}/reverse")
async def reverse_expense(expense_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        return snapshot(
            await settlement.reverse_expense(session, caller.clock, caller.tenant_id, expense_id)
        )

    return await act(
        request,
        caller,
        form,
        use_case,
        done=f"/console/expenses/{expense_id}",
        refused=lambda problem: _expense_page(caller, expense_id, problem, {}),
    )


def _paid_at(caller: ConsoleCaller, text: str) -> datetime | str | None:
    """The paid date as the API's `paid_at`: today is now; another day is its noon in the
    tenant's time zone; text that is no date goes on as typed (the API's 422)."""
    day = calendar_day(text)
    if day is None or isinstance(day, str):
        return day
    if day == caller.today():
        return caller.now()
    local = datetime.combine(day, PAID_AT_HOUR, ZoneInfo(caller.tenant.time_zone))
    return local.astimezone(UTC)


def _expense_values(form: Form) -> dict[str, Any]:
    """The form as POST /v1/expenses' body: empty optional fields are left unsent (a boleto
    line then fills the amount and due date)."""
    values: dict[str, Any] = {
        "supplier_id": form.get("supplier_id").strip(),
        "description": form.get("description").strip(),
        "category": form.get("category").strip(),
    }
    amount = parse_amount(form.get("amount"), "amount")
    if amount is not None:
        values["amount"] = amount
    for name in ("due_date", "boleto_line"):
        text = form.optional(name)
        if text is not None:
            values[name] = text
    return values


async def _expense_page(
    caller: ConsoleCaller, expense_id: str, problem: Problem | None, values: dict[str, str]
) -> Response:
    async with caller.runtime.database.read() as session:
        expense = await service.shown_expense(
            session,
            caller.tenant_id,
            await service.get_expense(session, caller.tenant_id, expense_id),
        )
    return render_page(
        "expenses/show.html",
        caller.frame,
        **refusal(problem),
        expense=expense,
        today=caller.today(),
        errors=field_errors(problem),
        values=values,
        idempotency_key=new_idempotency_key(),
    )


async def _expense_form(
    caller: ConsoleCaller, values: dict[str, str], problem: Problem | None
) -> Response:
    async with caller.runtime.database.read() as session:
        suppliers, _ = await list_suppliers(
            session, caller.tenant_id, SupplierFilters(), newest_first(None, SUPPLIER_CHOICES)
        )
        offered = [SupplierOut.of(supplier) for supplier in suppliers]
    return render_page(
        "expenses/form.html",
        caller.frame,
        **refusal(problem),
        values=values,
        suppliers=offered,
        errors=field_errors(problem),
        idempotency_key=new_idempotency_key(),
    )
