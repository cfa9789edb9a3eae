"""The moves of an expense between its states, each with its event:

    open ──settle──▶ settled ──reverse──▶ reversed

`reversed` is final: a payment that came back leaves the bill on record as it was paid and
reversed; what is still owed is recorded as a new expense (docs/expenses.md). Any other move
is a 409 (`invalid-transition`) that changes nothing. Every move's event carries
`previous = {"status": <old status>}`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import conflict, invalid
from assina.events.catalog import EventType
from assina.events.service import emit_event
from assina.expenses.models import Expense, ExpenseStatus
from assina.expenses.schemas import ExpenseOut, ExpenseSettle
from assina.expenses.service import get_expense, shown_expense

# A payment is recorded at most this far back (and never in the future), as a charge's is.
EARLIEST_PAYMENT = datetime(2000, 1, 1, tzinfo=UTC)


async def settle_expense(
    session: AsyncSession, clock: Clock, tenant_id: str, expense_id: str, params: ExpenseSettle
) -> ExpenseOut:
    """open → settled: what was paid (default amount + fine + interest - discount), when
    (default now; never in the future) and how."""
    expense = await _expense_for(session, tenant_id, expense_id, ExpenseStatus.OPEN, "settled")
    now = clock.now()
    expense.paid_at = _payment_instant(params.paid_at, now)
    expense.paid_amount = _paid_amount(expense, params)
    expense.fine, expense.interest, expense.discount = (
        params.fine,
        params.interest,
        params.discount,
    )
    expense.method = params.method
    return await _moved(session, clock, expense, ExpenseStatus.SETTLED, EventType.EXPENSE_SETTLED)


async def reverse_expense(
    session: AsyncSession, clock: Clock, tenant_id: str, expense_id: str
) -> ExpenseOut:
    """settled → reversed: the payment came back. What was paid stays on record."""
    expense = await _expense_for(session, tenant_id, expense_id, ExpenseStatus.SETTLED, "reversed")
    return await _moved(session, clock, expense, ExpenseStatus.REVERSED, EventType.EXPENSE_REVERSED)


async def _expense_for(
    session: AsyncSession, tenant_id: str, expense_id: str, source: ExpenseStatus, done: str
) -> Expense:
    """The expense, locked, if the move may start from its status (409 otherwise)."""
    expense = await get_expense(session, tenant_id, expense_id, lock=True)
    if expense.status != source:
        raise conflict(
            f"Expense {expense_id} is {expense.status}; only an expense that is {source} can "
            f"be {done}.",
            "invalid-transition",
        )
    return expense


def _payment_instant(paid_at: datetime | None, now: datetime) -> datetime:
    if paid_at is None:
        return now
    if paid_at > now:
        raise invalid("paid_at", "must not be in the future")
    if paid_at < EARLIEST_PAYMENT:
        raise invalid("paid_at", "must be on or after 2000-01-01T00:00:00Z")
    return paid_at


def _paid_amount(expense: Expense, params: ExpenseSettle) -> int:
    if params.amount is not None:
        return params.amount
    owed = expense.amount + params.fine + params.interest - params.discount
    if owed < 0:
        raise invalid("discount", "is more than amount + fine + interest")
    return owed


async def _moved(
    session: AsyncSession,
    clock: Clock,
    expense: Expense,
    target: ExpenseStatus,
    event_type: EventType,
) -> ExpenseOut:
    previous = {"status": expense.status.value}
    expense.status = target
    expense.updated_at = clock.now()
    shown = await shown_expense(session, expense.tenant_id, expense)
    await emit_event(session, clock, expense.tenant_id, event_type, shown, previous=previous)
    return shown
