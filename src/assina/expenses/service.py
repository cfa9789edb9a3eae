"""Expense use cases: recording, reading and changing open expenses, each with its event. The
moves between states (settle, reverse) are in settlement.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import conflict, not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page, in_range
from assina.core.patching import METADATA_COLUMN, apply_patch
from assina.events.catalog import EventType
from assina.events.service import changed_fields, emit_event, snapshot
from assina.expenses.boleto import LineTerms, agreeing_terms, read_line
from assina.expenses.models import Expense, ExpenseStatus
from assina.expenses.schemas import ExpenseCreate, ExpenseOut, ExpenseUpdate
from assina.suppliers.schemas import SupplierLabel
from assina.suppliers.service import label_of, named_supplier, supplier_labels
from assina.tenants.clock import tenant_today
from assina.tenants.counters import Counter, next_value


async def create_expense(
    session: AsyncSession, clock: Clock, tenant_id: str, params: ExpenseCreate
) -> ExpenseOut:
    """An open expense; `expense.created`. 422 for a supplier not the tenant's, a boleto line
    that fails its checks or disagrees with the amount or due date sent."""
    supplier = await named_supplier(session, tenant_id, params.supplier_id)
    terms = await _line_terms(session, clock, tenant_id, params.boleto_line)
    amount, due_date = agreeing_terms(terms, params.amount, params.due_date, params.currency)
    now = clock.now()
    expense = Expense(
        id=new_id("exp"),
        tenant_id=tenant_id,
        number=await next_value(session, tenant_id, Counter.EXPENSE_NUMBER),
        supplier_id=supplier.id,
        description=params.description,
        category=params.category,
        cost_center=params.cost_center,
        competence_date=params.competence_date or due_date,
        due_date=due_date,
        amount=amount,
        currency=params.currency,
        document_number=params.document_number,
        boleto_line=terms.line if terms else None,
        status=ExpenseStatus.OPEN,
        metadata_=params.metadata,
        created_at=now,
        updated_at=now,
    )
    session.add(expense)
    shown = ExpenseOut.of(expense, label_of(supplier))
    await emit_event(session, clock, tenant_id, EventType.EXPENSE_CREATED, shown)
    return shown


async def _line_terms(
    session: AsyncSession, clock: Clock, tenant_id: str, line: str | None
) -> LineTerms | None:
    if line is None:
        return None
    return read_line(line, await tenant_today(session, clock, tenant_id))


async def get_expense(
    session: AsyncSession, tenant_id: str, expense_id: str, *, lock: bool = False
) -> Expense:
    statement = select(Expense).where(Expense.tenant_id == tenant_id, Expense.id == expense_id)
    expense = await session.scalar(statement.with_for_update() if lock else statement)
    if expense is None:
        raise not_found("expense", expense_id)
    return expense


async def shown_expense(session: AsyncSession, tenant_id: str, expense: Expense) -> ExpenseOut:
    """The expense as the API and its events show it, with its supplier's name."""
    [shown] = await shown_expenses(session, tenant_id, [expense])
    return shown


async def shown_expenses(
    session: AsyncSession, tenant_id: str, expenses: Sequence[Expense]
) -> list[ExpenseOut]:
    labels = await supplier_labels(session, tenant_id, (e.supplier_id for e in expenses))
    return [ExpenseOut.of(expense, labels[expense.supplier_id]) for expense in expenses]


@dataclass(frozen=True)
class ExpenseFilters:
    status: ExpenseStatus | None = None
    supplier_id: str | None = None
    category: str | None = None
    due_gte: date | None = None
    due_lt: date | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def list_expenses(
    session: AsyncSession, tenant_id: str, filters: ExpenseFilters, page: PageParams
) -> tuple[list[ExpenseOut], bool]:
    statement = select(Expense).where(Expense.tenant_id == tenant_id)
    if filters.status is not None:
        statement = statement.where(Expense.status == filters.status)
    if filters.supplier_id is not None:
        statement = statement.where(Expense.supplier_id == filters.supplier_id)
    if filters.category is not None:
        statement = statement.where(Expense.category == filters.category)
    statement = in_range(statement, Expense.due_date, filters.due_gte, filters.due_lt)
    statement = in_range(statement, Expense.created_at, filters.created_gte, filters.created_lt)
    expenses, has_more = await fetch_page(session, statement, Expense.id, page)
    return await shown_expenses(session, tenant_id, expenses), has_more


async def update_expense(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    expense_id: str,
    changes: ExpenseUpdate,
) -> ExpenseOut:
    """Change an open expense (409 otherwise); `expense.updated` with the old values of what
    changed in `previous`, none when nothing did. A new `boleto_line` fills the amount and due
    date not sent; a line kept must still agree with them (422)."""
    expense = await get_expense(session, tenant_id, expense_id, lock=True)
    if expense.status != ExpenseStatus.OPEN:
        raise conflict(
            f"Expense {expense_id} is {expense.status}; only an open expense can be changed.",
            "invalid-transition",
        )
    before = await shown_expense(session, tenant_id, expense)
    supplier = SupplierLabel(before.supplier, before.supplier_number)
    if changes.supplier_id is not None:
        supplier = label_of(await named_supplier(session, tenant_id, changes.supplier_id))
    line = changes.boleto_line if "boleto_line" in changes.model_fields_set else expense.boleto_line
    terms = await _line_terms(session, clock, tenant_id, line)
    amount, due_date = agreeing_terms(
        terms,
        changes.amount,
        changes.due_date,
        changes.currency or expense.currency,
        kept=(expense.amount, expense.due_date),
    )
    apply_patch(expense, changes, METADATA_COLUMN)
    expense.amount, expense.due_date = amount, due_date
    expense.boleto_line = terms.line if terms else None
    after = ExpenseOut.of(expense, supplier)
    previous = changed_fields(snapshot(before), snapshot(after))
    if not previous:
        return after
    expense.updated_at = clock.now()
    shown = ExpenseOut.of(expense, supplier)
    await emit_event(session, clock, tenant_id, EventType.EXPENSE_UPDATED, shown, previous=previous)
    return shown
