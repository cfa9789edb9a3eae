"""Contract use cases: creating, reading and listing contracts (changes in changes.py, the
lifecycle in lifecycle.py; their public functions are re-exported here).

Creation rules:

- The customer exists in the tenant and is not `inactive`; the items follow items.py.
- `start_date` defaults to today in the tenant's time zone; it may lie up to one year in the
  past (the calendar then issues the periods already begun) and up to 2100-12-31.
- A trial of `trial_days` (default: the largest `trial_days` of the products; 0 for none)
  makes the contract `trialing` until `trial_end = start_date + trial_days`, the first paid
  day: the service starts on `trial_end`, or on `start_date` without a trial (`active`).
- `billing_day` applies to monthly contracts and defaults to the service start's day; yearly,
  weekly and daily contracts bill from the service start itself, so they refuse another day.
- The schedule: `anchor_date = first_billing_date(service start, billing_day, interval)`; the
  days from the service start to the anchor form a stub charged `prorate(amount, stub days,
  full period days)` (schedule.py); `next_period = 0`, `pending_adjustment = 0`, and
  `next_step_on = today` so that the calendar looks at the contract on its next pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.contracts import lifecycle
from assina.contracts.changes import readjust_contract, readjust_on_request, update_contract
from assina.contracts.common import emit_contract_event, get_contract
from assina.contracts.items import ResolvedItems, resolve_items
from assina.contracts.lifecycle import (
    cancel_contract_now,
    delete_contract,
    move_contract,
    resume_contract_by_id,
)
from assina.contracts.models import Contract, ContractStatus
from assina.contracts.schedule import ScheduleState, stub_amount_for
from assina.contracts.schemas import ContractCancel, ContractCreate, ContractOut
from assina.core.clock import Clock
from assina.core.errors import invalid
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page, in_range
from assina.customers.models import Customer, CustomerStatus
from assina.events.catalog import EventType
from assina.rules.periods import Interval, first_billing_date
from assina.tenants.clock import tenant_today
from assina.tenants.counters import Counter, next_value

__all__ = [
    "ContractFilters",
    "cancel_contract",
    "cancel_contract_now",
    "contract_out",
    "contracts_out",
    "create_contract",
    "delete_contract",
    "get_contract",
    "list_contracts",
    "move_contract",
    "readjust_contract",
    "readjust_on_request",
    "resume_contract_by_id",
    "update_contract",
]

MAX_BACKDATE = timedelta(days=366)


async def cancel_contract(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    contract_id: str,
    params: ContractCancel,
) -> Contract:
    """POST …/cancel (lifecycle.py). Cancelled at once, its charges for periods not begun are
    invalidated; should one of them be overdue (its due date moved back), the customer's
    standing is decided again at once, reason `contract_cancelled` (reactions/standing.py)."""
    return await lifecycle.cancel_contract(session, clock, tenant_id, contract_id, params)


async def create_contract(
    session: AsyncSession, clock: Clock, tenant_id: str, params: ContractCreate
) -> Contract:
    today = await tenant_today(session, clock, tenant_id)
    await _check_customer(session, tenant_id, params.customer_id)
    resolved = await resolve_items(session, tenant_id, params.items)
    start = params.start_date or today
    if start < today - MAX_BACKDATE:
        raise invalid("start_date", f"must not be before {today - MAX_BACKDATE} (one year ago)")
    trial_days = resolved.trial_days if params.trial_days is None else params.trial_days
    trial_end = start + timedelta(days=trial_days) if trial_days else None
    service_start = trial_end or start
    interval = resolved.terms.interval
    billing_day = _billing_day(params.billing_day, service_start, interval)
    now = clock.now()
    contract = Contract(
        id=new_id("ctr"),
        tenant_id=tenant_id,
        number=await next_value(session, tenant_id, Counter.CONTRACT_NUMBER),
        customer_id=params.customer_id,
        status=ContractStatus.TRIALING if trial_end else ContractStatus.ACTIVE,
        start_date=start,
        trial_end=trial_end,
        billing_day=billing_day,
        anchor_date=first_billing_date(service_start, billing_day, interval),
        next_period=0,
        payment_method=params.payment_method,
        pending_adjustment=0,
        readjustment_index=params.readjustment_index.value if params.readjustment_index else None,
        last_readjusted_on=None,
        next_step_on=today,
        cancel_at_period_end=False,
        cancelled_at=None,
        cancel_reason=None,
        dunning_exempt=params.dunning_exempt,
        metadata_=params.metadata,
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )
    _set_items(contract, resolved)
    contract.stub_amount = stub_amount_for(ScheduleState.of(contract), contract.amount)
    session.add(contract)
    await emit_contract_event(session, clock, contract, EventType.CONTRACT_CREATED, today)
    return contract


def _set_items(contract: Contract, resolved: ResolvedItems) -> None:
    contract.items = resolved.items
    contract.amount = resolved.amount
    contract.currency = resolved.terms.currency
    contract.interval = resolved.terms.interval.value
    contract.interval_count = resolved.terms.interval_count


async def _check_customer(session: AsyncSession, tenant_id: str, customer_id: str) -> None:
    status = await session.scalar(
        select(Customer.status).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    )
    if status is None:
        raise invalid("customer_id", f"no customer with id {customer_id!r}")
    if status == CustomerStatus.INACTIVE:
        raise invalid("customer_id", f"customer {customer_id} is inactive; reactivate it first")


def _billing_day(requested: int | None, service_start: date, interval: Interval) -> int:
    if interval is Interval.month:
        return requested or service_start.day
    if requested is not None and requested != service_start.day:
        raise invalid(
            "billing_day",
            f"only monthly contracts choose a billing day; this {interval} contract bills from "
            f"its service start, {service_start} (day {service_start.day})",
        )
    return service_start.day


async def contract_out(session: AsyncSession, clock: Clock, contract: Contract) -> ContractOut:
    """The contract as the API shows it today."""
    return ContractOut.of(contract, await tenant_today(session, clock, contract.tenant_id))


async def contracts_out(
    session: AsyncSession, clock: Clock, tenant_id: str, contracts: Sequence[Contract]
) -> list[ContractOut]:
    today = await tenant_today(session, clock, tenant_id)
    return [ContractOut.of(contract, today) for contract in contracts]


@dataclass(frozen=True)
class ContractFilters:
    customer_id: str | None = None
    status: ContractStatus | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def list_contracts(
    session: AsyncSession, tenant_id: str, filters: ContractFilters, page: PageParams
) -> tuple[Sequence[Contract], bool]:
    statement = select(Contract).where(
        Contract.tenant_id == tenant_id, Contract.deleted_at.is_(None)
    )
    if filters.customer_id is not None:
        statement = statement.where(Contract.customer_id == filters.customer_id)
    if filters.status is not None:
        statement = statement.where(Contract.status == filters.status)
    statement = in_range(statement, Contract.created_at, filters.created_gte, filters.created_lt)
    return await fetch_page(session, statement, Contract.id, page)
