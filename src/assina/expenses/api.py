"""HTTP for expenses: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.inputs import CalendarDate, UtcDatetime, refuse_empty_json
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery, ReferenceFilter
from assina.events.service import snapshot
from assina.expenses import service, settlement
from assina.expenses.models import ExpenseStatus
from assina.expenses.schemas import ExpenseCreate, ExpenseOut, ExpenseSettle, ExpenseUpdate
from assina.tenants.deps import CallerDep, IdempotentCallerDep

router = APIRouter(prefix="/v1/expenses", tags=["expenses"])


@router.post(
    "",
    status_code=201,
    response_model=ExpenseOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Record an expense",
)
async def create_expense(
    body: ExpenseCreate, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Records a bill the tenant owes a supplier (conta a pagar), `open`. A pasted
    `boleto_line` is checked (each field's mod-10 digit and the general mod-11 digit) and
    fills `amount` and `due_date` when they are not sent; sent too, they must agree with it.
    `competence_date` defaults to the due date.

    Event: `expense.created`. Errors: 422 naming the field (another tenant's `supplier_id`, a
    line failing a check, an amount or due date disagreeing with the line)."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        return snapshot(await service.create_expense(session, caller.clock, caller.tenant_id, body))

    return await caller.respond_once(request, 201, use_case)


@router.get(
    "",
    response_model=Page[ExpenseOut],
    responses=problem_responses(401, 422),
    summary="List expenses",
)
async def list_expenses(
    caller: CallerDep,
    page: PageQuery,
    status: ExpenseStatus | None = None,
    supplier_id: ReferenceFilter = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    due_gte: Annotated[
        CalendarDate | None, Query(description="Due on or after, YYYY-MM-DD")
    ] = None,
    due_lt: Annotated[CalendarDate | None, Query(description="Due before, YYYY-MM-DD")] = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[ExpenseOut]:
    """The tenant's expenses, oldest first, a page at a time, filtered by `status`, supplier,
    `category` (exactly as recorded), due date and creation time."""
    filters = service.ExpenseFilters(
        status=status,
        supplier_id=supplier_id,
        category=category,
        due_gte=due_gte,
        due_lt=due_lt,
        created_gte=created_gte,
        created_lt=created_lt,
    )
    async with caller.database.read() as session:
        expenses, has_more = await service.list_expenses(session, caller.tenant_id, filters, page)
        return Page[ExpenseOut](data=expenses, has_more=has_more)


@router.get(
    "/{expense_id}",
    response_model=ExpenseOut,
    responses=problem_responses(401, 404),
    summary="Get an expense",
)
async def get_expense(expense_id: str, caller: CallerDep) -> ExpenseOut:
    """One expense by id, with its supplier's name and, once settled, what was paid."""
    async with caller.database.read() as session:
        expense = await service.get_expense(session, caller.tenant_id, expense_id)
        return await service.shown_expense(session, caller.tenant_id, expense)


@router.patch(
    "/{expense_id}",
    response_model=ExpenseOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Update an open expense",
)
async def update_expense(expense_id: str, body: ExpenseUpdate, caller: CallerDep) -> ExpenseOut:
    """Changes an open expense: only the fields sent (`null` clears `cost_center`,
    `document_number` or `boleto_line`). A new `boleto_line` fills the amount and due date not
    sent; the line an expense keeps must agree with its amount and due date. A PATCH that
    changes nothing raises no event.

    Event: `expense.updated`, with the old values in `previous`. Errors: 404; 409
    `invalid-transition` unless the expense is open; 422."""
    async with caller.database.write() as session:
        return await service.update_expense(
            session, caller.clock, caller.tenant_id, expense_id, body
        )


@router.post(
    "/{expense_id}/settle",
    dependencies=[Depends(refuse_empty_json)],
    response_model=ExpenseOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Settle (pay) an open expense",
)
async def settle_expense(
    expense_id: str,
    request: Request,
    caller: IdempotentCallerDep,
    body: Annotated[ExpenseSettle, Body(default_factory=ExpenseSettle)],
) -> JSONResponse:
    """Records the payment of an open expense: `paid_amount` is the `amount` sent, else amount
    + fine + interest - discount; `paid_at` defaults to now.

    Event: `expense.settled`. Errors: 404; 409 `invalid-transition` unless the expense is
    open; 422 (a `paid_at` in the future or before 2000, a discount above what is owed)."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        return snapshot(
            await settlement.settle_expense(
                session, caller.clock, caller.tenant_id, expense_id, body
            )
        )

    return await caller.respond_once(request, 200, use_case)


@router.post(
    "/{expense_id}/reverse",
    response_model=ExpenseOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Reverse a settled expense",
)
async def reverse_expense(
    expense_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Reverses the payment of a settled expense (the money came back); what was paid stays
    on record. `reversed` is final: an expense still owed is recorded again.

    Event: `expense.reversed`. Errors: 404; 409 `invalid-transition` unless the expense is
    settled."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        return snapshot(
            await settlement.reverse_expense(session, caller.clock, caller.tenant_id, expense_id)
        )

    return await caller.respond_once(request, 200, use_case)
