"""The cash-flow report: money in (charges) and out (expenses), realized (settled) and
forecast (open), by period of the tenant's calendar and by category.

- in, realized: charges `settled`, their `settled_amount`, on the local date of `settled_at`;
- in, forecast: charges `open`, their `amount`, on their `due_date`;
- out, realized: expenses `settled`, their `paid_amount`, on the local date of `paid_at`;
- out, forecast: expenses `open`, their `amount`, on their `due_date`.

Reversed and invalidated charges and reversed expenses count nowhere: no money moved, or it
moved back. Charges fall in the category `contratos` when issued for a contract, `avulsas`
otherwise; expenses in their own `category`. Only the currency asked counts.

The sums are the database's (GROUP BY period and category): a range's rows are never read
one by one. Periods are days, ISO weeks (Monday first) or months, of the tenant's zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.core.clock import local_instant
from assina.core.errors import invalid
from assina.core.inputs import EARLIEST_DATE, LATEST_DATE
from assina.db.functions import PeriodUnit, local_day, period_start
from assina.expenses.models import Expense, ExpenseStatus
from assina.reports.schemas import (
    CashFlowOut,
    CategoryFlow,
    Direction,
    DirectionFlow,
    Kind,
    Net,
    PeriodFlow,
)

CONTRACTS = "contratos"
ONE_OFF = "avulsas"
# The longest range per grouping, in days with both ends: 3 years of days, 10 of weeks or
# months (at most ~1,100 periods, each a row of the answer).
MAX_SPAN_DAYS = {PeriodUnit.DAY: 1096, PeriodUnit.WEEK: 3653, PeriodUnit.MONTH: 3653}


@dataclass(frozen=True)
class CashFlowQuery:
    start: date
    end: date
    group: PeriodUnit
    currency: str
    time_zone: str

    def check(self) -> None:
        """422 for a range that is upside down, outside 2000-2100 or too long."""
        for name, day in (("from", self.start), ("to", self.end)):
            if not EARLIEST_DATE <= day <= LATEST_DATE:
                raise invalid(name, f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
        if self.start > self.end:
            raise invalid("to", "must be on or after from")
        span = (self.end - self.start).days + 1
        if span > MAX_SPAN_DAYS[self.group]:
            raise invalid(
                "to",
                f"a range grouped by {self.group} spans at most {MAX_SPAN_DAYS[self.group]} "
                f"days, not {span}",
            )


@dataclass(frozen=True)
class Flow:
    """One sum of the report: a period's money in one direction, kind and category."""

    period: date
    direction: Direction
    kind: Kind
    category: str
    amount: int


async def sums(session: AsyncSession, tenant_id: str, query: CashFlowQuery) -> list[Flow]:
    """The range's sums, one per period, direction, kind and category with money in it."""
    flows: list[Flow] = []
    for direction, kind, statement in _sources(tenant_id, query):
        rows = await session.execute(statement)
        flows += [Flow(row.period, direction, kind, row.category, int(row.amount)) for row in rows]
    return sorted(flows, key=lambda f: (f.period, f.direction, f.kind, f.category))


def _sources(tenant_id: str, query: CashFlowQuery) -> Iterator[tuple[Direction, Kind, Select[Any]]]:
    zone = literal(query.time_zone)
    after_end = query.end + timedelta(days=1)
    settled_from = local_instant(query.start, query.time_zone)
    settled_before = local_instant(after_end, query.time_zone)
    charge_category = case((Charge.contract_id.is_(None), ONE_OFF), else_=CONTRACTS)
    charges = and_(Charge.tenant_id == tenant_id, Charge.currency == query.currency)
    expenses = and_(Expense.tenant_id == tenant_id, Expense.currency == query.currency)
    yield (
        Direction.IN,
        Kind.REALIZED,
        _summed(
            query.group,
            local_day(Charge.settled_at, zone),
            charge_category,
            Charge.settled_amount,
            charges,
            Charge.status == ChargeStatus.SETTLED,
            Charge.settled_at >= settled_from,
            Charge.settled_at < settled_before,
        ),
    )
    yield (
        Direction.IN,
        Kind.FORECAST,
        _summed(
            query.group,
            Charge.due_date,
            charge_category,
            Charge.amount,
            charges,
            Charge.status == ChargeStatus.OPEN,
            Charge.due_date >= query.start,
            Charge.due_date <= query.end,
        ),
    )
    yield (
        Direction.OUT,
        Kind.REALIZED,
        _summed(
            query.group,
            local_day(Expense.paid_at, zone),
            Expense.category,
            Expense.paid_amount,
            expenses,
            Expense.status == ExpenseStatus.SETTLED,
            Expense.paid_at >= settled_from,
            Expense.paid_at < settled_before,
        ),
    )
    yield (
        Direction.OUT,
        Kind.FORECAST,
        _summed(
            query.group,
            Expense.due_date,
            Expense.category,
            Expense.amount,
            expenses,
            Expense.status == ExpenseStatus.OPEN,
            Expense.due_date >= query.start,
            Expense.due_date <= query.end,
        ),
    )


def _summed(
    group: PeriodUnit,
    day: SQLColumnExpression[Any],
    category: SQLColumnExpression[Any],
    amount: SQLColumnExpression[Any],
    *conditions: ColumnElement[bool],
) -> Select[Any]:
    """SUM(amount) by period and category of the rows meeting `conditions`. The period and
    category are computed in a subquery and grouped by outside it: PostgreSQL matches a GROUP
    BY expression with the select list's only when their bound parameters are the same."""
    rows = (
        select(
            period_start(day, group).label("period"),
            category.label("category"),
            amount.label("amount"),
        )
        .where(*conditions)
        .subquery()
    )
    return select(rows.c.period, rows.c.category, func.sum(rows.c.amount).label("amount")).group_by(
        rows.c.period, rows.c.category
    )


# --- the answer ---------------------------------------------------------------------------


def periods(query: CashFlowQuery) -> list[tuple[date, date]]:
    """The range's periods: each one's first and last day, clipped to the range."""
    found = []
    first = first_day(query.start, query.group)
    while first <= query.end:
        following = next_first_day(first, query.group)
        found.append((max(first, query.start), min(following - timedelta(days=1), query.end)))
        first = following
    return found


def first_day(day: date, group: PeriodUnit) -> date:
    if group is PeriodUnit.WEEK:
        return day - timedelta(days=day.weekday())
    if group is PeriodUnit.MONTH:
        return day.replace(day=1)
    return day


def next_first_day(first: date, group: PeriodUnit) -> date:
    if group is PeriodUnit.WEEK:
        return first + timedelta(days=7)
    if group is PeriodUnit.MONTH:
        return date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first + timedelta(days=1)


def report(query: CashFlowQuery, flows: list[Flow]) -> CashFlowOut:
    """The report of the range's sums: every period, empty ones too, and the totals."""
    by_period: dict[date, list[Flow]] = defaultdict(list)
    for flow in flows:
        by_period[flow.period].append(flow)
    shown = [
        _period(start, end, by_period.get(first_day(start, query.group), []))
        for start, end in periods(query)
    ]
    return CashFlowOut(
        start=query.start,
        end=query.end,
        group=query.group,
        currency=query.currency,
        time_zone=query.time_zone,
        periods=shown,
        totals=_period(query.start, query.end, flows),
    )


def _period(start: date, end: date, flows: list[Flow]) -> PeriodFlow:
    money_in, money_out = (
        _direction(f for f in flows if f.direction is direction)
        for direction in (Direction.IN, Direction.OUT)
    )
    return PeriodFlow(
        start=start,
        end=end,
        money_in=money_in,
        money_out=money_out,
        net=Net(
            realized=money_in.realized - money_out.realized,
            forecast=money_in.forecast - money_out.forecast,
        ),
    )


def _direction(flows: Iterable[Flow]) -> DirectionFlow:
    by_category: dict[str, dict[Kind, int]] = defaultdict(lambda: dict.fromkeys(Kind, 0))
    for flow in flows:
        by_category[flow.category][flow.kind] += flow.amount
    categories = [
        CategoryFlow(category=name, realized=sums[Kind.REALIZED], forecast=sums[Kind.FORECAST])
        for name, sums in sorted(by_category.items())
    ]
    return DirectionFlow(
        realized=sum(c.realized for c in categories),
        forecast=sum(c.forecast for c in categories),
        categories=categories,
    )
