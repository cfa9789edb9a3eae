"""The console's home page (Painel): a tenant's numbers at a glance, as of its local `today`.

- MRR: the monthly recurring revenue of `active` contracts (trialing ones pay nothing yet, as
  Stripe counts it), each contract's `amount` (what one period bills) normalized to a month:
  every n months / n, every n years / 12n, every n weeks * 52 / 12n, every n days * 365 / 12n.
  Integer arithmetic, rounded half up once per contract (`monthly_amount`), then summed.
- Contracts: how many are `active`, how many `trialing`.
- Delinquency: customers with an overdue charge (`open`, due before today), over the active
  customers (not `inactive`, or owing an overdue charge: so the rate never passes 100 %), in
  basis points rounded half up (0 when there is no such customer).
- Overdue amount: Σ `amount` of the open charges due before today.
- Revenue by month: Σ `settled_amount` of the `settled` charges by the month of the tenant's
  zone they were settled in (from the instant the month starts there to the instant the next
  one does), the 12 months ending with today's, oldest first, empty ones 0.
  Reversed and invalidated charges count nowhere (as in the cash-flow report).
- Due soon: the open charges due from today to today + 7 days, the first 10 by due date then
  number, and how many there are in all.
- Recent events: the tenant's 10 newest (highest `sequence`).

Money is counted in one currency (the tenant bills in BRL unless told): the MRR, the overdue
amount and the revenue only sum contracts and charges in it; counts count whatever the
currency. Deleted contracts (made by mistake, never charged) count nowhere.

Every number is the database's: one statement per group of numbers, no row read one by one,
the groups read at once (`read_dashboard`). Each query reads an index that starts with
tenant_id: the live contracts' by status, the customers' by status, the charges' by status and
due date, or by status, currency and settlement instant (which holds the settled amount: the
revenue reads only the index), the events' by sequence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.contracts.models import Contract, ContractStatus
from assina.core.clock import local_instant
from assina.core.errors import not_found
from assina.core.money import DEFAULT_CURRENCY
from assina.customers.models import Customer, CustomerStatus
from assina.db.database import Database
from assina.db.functions import PeriodUnit
from assina.events.catalog import label_of
from assina.events.models import Event
from assina.reports.cash_flow import next_first_day
from assina.rules.periods import Interval
from assina.tenants.models import Tenant

T = TypeVar("T")

MONTHS_SHOWN = 12
DUE_SOON_DAYS = 7
DUE_SOON_SHOWN = 10
EVENTS_SHOWN = 10
BASIS_POINTS = 10_000

# (months, periods): `periods` periods of one interval make `months` months. A year has 52
# weeks and 365 days, as MRR is usually counted (a 53rd week or a leap day is no revenue).
MONTHS_PER_INTERVAL: dict[Interval, tuple[int, int]] = {
    Interval.month: (1, 1),
    Interval.year: (12, 1),
    Interval.week: (12, 52),
    Interval.day: (12, 365),
}


@dataclass(frozen=True)
class DueCharge:
    """An open charge due soon, as the Painel lists it."""

    id: str
    number: int
    customer_id: str
    customer_name: str
    amount: int
    currency: str
    due_date: date


@dataclass(frozen=True)
class RecentEvent:
    """One of the newest events. `object_id` is the `id` of the object in the event's data
    (None when its data has none); `customer_id` the customer it is about, when there is one."""

    id: str
    type: str
    label: str
    created_at: datetime
    object_id: str | None
    customer_id: str | None


@dataclass(frozen=True)
class Dashboard:
    """The Painel's numbers. Money in minor units of `currency`."""

    today: date
    currency: str
    mrr: int
    active_contracts: int
    trialing_contracts: int
    customers_overdue: int
    active_customers: int
    delinquency_rate_bp: int
    overdue_amount: int
    revenue_by_month: tuple[tuple[date, int], ...]
    due_soon: tuple[DueCharge, ...]
    due_soon_count: int
    recent_events: tuple[RecentEvent, ...]


def monthly_amount(amount: int, interval: Interval, interval_count: int) -> int:
    """What a contract billing `amount` every `interval_count` `interval`s makes per month,
    rounded half up (the rule `_monthly_amount_sql` writes in SQL)."""
    months, periods = MONTHS_PER_INTERVAL[interval]
    denominator = months * interval_count
    return (2 * amount * periods + denominator) // (2 * denominator)


def rate_bp(part: int, whole: int) -> int:
    """part / whole in basis points, rounded half up; 0 of nothing."""
    if whole == 0:
        return 0
    return (2 * part * BASIS_POINTS + whole) // (2 * whole)


def last_months(today: date, count: int = MONTHS_SHOWN) -> list[date]:
    """The first days of the `count` months ending with today's, oldest first."""
    first = today.replace(day=1)
    months = [first]
    for _ in range(count - 1):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return months[::-1]


async def read_dashboard(
    database: Database, tenant_id: str, today: date, *, currency: str = DEFAULT_CURRENCY
) -> Dashboard:
    """The Painel of `tenant_id` as of `today`, the tenant's local date (`tenant_today`).

    Its six parts are read at once, each in a read transaction of its own: on PostgreSQL each
    on its own connection (and core), so the Painel takes about its slowest part instead of
    their sum (bench/console_pages.py). The parts are then pictures a few milliseconds apart,
    not one snapshot; a Painel is read again at the next view anyway."""
    async with database.read() as session:
        time_zone = await session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
    if time_zone is None:
        raise not_found("tenant", tenant_id)

    async def read(statement: Select[*tuple[Any, ...]]) -> Row[Any]:
        async with database.read() as session:
            return (await session.execute(statement)).one()

    async def in_session(part: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with database.read() as session:
            return await part(session)

    contracts, charges, customers, revenue, due_soon, events = await asyncio.gather(
        read(_contract_sums(tenant_id, currency)),
        read(_open_charge_sums(tenant_id, today, currency)),
        read(_active_customers(tenant_id, today)),
        in_session(
            lambda session: _revenue_by_month(session, tenant_id, today, currency, time_zone)
        ),
        in_session(lambda session: _due_soon(session, tenant_id, today)),
        in_session(lambda session: _recent_events(session, tenant_id)),
    )
    overdue_customers = int(charges.customers_overdue or 0)
    active_customers = int(customers[0] or 0)
    return Dashboard(
        today=today,
        currency=currency,
        mrr=int(contracts.mrr or 0),
        active_contracts=int(contracts.active or 0),
        trialing_contracts=int(contracts.trialing or 0),
        customers_overdue=overdue_customers,
        active_customers=active_customers,
        delinquency_rate_bp=rate_bp(overdue_customers, active_customers),
        overdue_amount=int(charges.overdue_amount or 0),
        revenue_by_month=revenue,
        due_soon=due_soon,
        due_soon_count=int(charges.due_soon or 0),
        recent_events=events,
    )


def _live_contracts(tenant_id: str, *statuses: ContractStatus) -> ColumnElement[bool]:
    return and_(
        Contract.tenant_id == tenant_id,
        Contract.status.in_(statuses),
        Contract.deleted_at.is_(None),
    )


def _monthly_amount_sql() -> ColumnElement[int]:
    """`monthly_amount` of each contract row: (2 * amount * periods + d) // 2d, d = months *
    interval_count. Integer division of non-negative integers (amounts are never negative) on
    both databases."""
    denominator = case(
        *(
            (Contract.interval == interval.value, months * Contract.interval_count)
            for interval, (months, _) in MONTHS_PER_INTERVAL.items()
        )
    )
    periods = case(
        *(
            (Contract.interval == interval.value, literal(periods))
            for interval, (_, periods) in MONTHS_PER_INTERVAL.items()
        )
    )
    return (2 * Contract.amount * periods + denominator) // (2 * denominator)


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _contract_sums(tenant_id: str, currency: str) -> Select[Any, int, int]:
    active = Contract.status == ContractStatus.ACTIVE
    return select(
        func.sum(case((and_(active, Contract.currency == currency), _monthly_amount_sql()))).label(
            "mrr"
        ),
        _count_where(active).label("active"),
        _count_where(Contract.status == ContractStatus.TRIALING).label("trialing"),
    ).where(_live_contracts(tenant_id, ContractStatus.ACTIVE, ContractStatus.TRIALING))


def _open_charges(tenant_id: str) -> ColumnElement[bool]:
    return and_(Charge.tenant_id == tenant_id, Charge.status == ChargeStatus.OPEN)


def _open_charge_sums(tenant_id: str, today: date, currency: str) -> Select[Any, int, int]:
    """The overdue amount and customers and the count due soon: one pass over the open charges
    due up to a week ahead."""
    overdue = Charge.due_date < today
    return select(
        func.sum(case((and_(overdue, Charge.currency == currency), Charge.amount))).label(
            "overdue_amount"
        ),
        func.count(case((overdue, Charge.customer_id)).distinct()).label("customers_overdue"),
        _count_where(Charge.due_date >= today).label("due_soon"),
    ).where(_open_charges(tenant_id), Charge.due_date <= today + timedelta(days=DUE_SOON_DAYS))


def _active_customers(tenant_id: str, today: date) -> Select[Any]:
    """The customer base the delinquency rate is a share of: customers not inactive, plus an
    inactive one that still owes an overdue charge (so the rate never passes 100 %). Counted
    on the customers' (tenant_id, status) index; the inactive debtors are few."""
    not_inactive = (
        select(func.count())
        .select_from(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.status != CustomerStatus.INACTIVE)
    )
    inactive_debtors = (
        select(func.count(Charge.customer_id.distinct()))
        .join(Customer, and_(Customer.tenant_id == tenant_id, Customer.id == Charge.customer_id))
        .where(
            _open_charges(tenant_id),
            Charge.due_date < today,
            Customer.status == CustomerStatus.INACTIVE,
        )
    )
    return select(not_inactive.scalar_subquery() + inactive_debtors.scalar_subquery())


async def _revenue_by_month(
    session: AsyncSession, tenant_id: str, today: date, currency: str, time_zone: str
) -> tuple[tuple[date, int], ...]:
    """Σ settled_amount by month of the tenant's zone. A local month is the instants from its
    first day's start to the next month's (`local_instant`, the bounds the cash-flow report
    gives its range): one sum per month, each a range of the index on settled_at, instead of
    the local day of every row (which read the whole table: 170 ms against 45 ms for 1,000,000
    charges, bench/console_data.py)."""
    months = last_months(today)
    bounds = [local_instant(month, time_zone) for month in months]
    bounds.append(local_instant(next_first_day(months[-1], PeriodUnit.MONTH), time_zone))
    sums = union_all(
        *(
            select(
                literal(position).label("position"),
                func.sum(Charge.settled_amount).label("amount"),
            ).where(
                Charge.tenant_id == tenant_id,
                Charge.status == ChargeStatus.SETTLED,
                Charge.currency == currency,
                Charge.settled_at >= bounds[position],
                Charge.settled_at < bounds[position + 1],
            )
            for position in range(len(months))
        )
    )
    amounts = {row.position: int(row.amount or 0) for row in await session.execute(sums)}
    return tuple((month, amounts.get(position, 0)) for position, month in enumerate(months))


async def _due_soon(session: AsyncSession, tenant_id: str, today: date) -> tuple[DueCharge, ...]:
    rows = await session.execute(
        select(
            Charge.id,
            Charge.number,
            Charge.customer_id,
            Customer.name,
            Charge.amount,
            Charge.currency,
            Charge.due_date,
        )
        .join(Customer, and_(Customer.tenant_id == tenant_id, Customer.id == Charge.customer_id))
        .where(
            _open_charges(tenant_id),
            Charge.due_date >= today,
            Charge.due_date <= today + timedelta(days=DUE_SOON_DAYS),
        )
        .order_by(Charge.due_date, Charge.number)
        .limit(DUE_SOON_SHOWN)
    )
    return tuple(
        DueCharge(
            id=row.id,
            number=row.number,
            customer_id=row.customer_id,
            customer_name=row.name,
            amount=row.amount,
            currency=row.currency,
            due_date=row.due_date,
        )
        for row in rows
    )


async def _recent_events(session: AsyncSession, tenant_id: str) -> tuple[RecentEvent, ...]:
    rows = await session.execute(
        select(
            Event.id,
            Event.type,
            Event.created_at,
            Event.data["id"].as_string().label("object_id"),
            Event.customer_id,
        )
        .where(Event.tenant_id == tenant_id)
        .order_by(Event.sequence.desc())
        .limit(EVENTS_SHOWN)
    )
    return tuple(
        RecentEvent(
            id=row.id,
            type=row.type,
            label=label_of(row.type),
            created_at=row.created_at,
            object_id=row.object_id,
            customer_id=row.customer_id,
        )
        for row in rows
    )
