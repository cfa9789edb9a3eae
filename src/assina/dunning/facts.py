"""What the dunning pass reads, a batch of customers at a time: which customers may need
something today, and for each one its open charges near or past their due date and its live
contracts. Everything is loaded inside the batch's write transaction, with the customers
locked, so that a payment committed meanwhile cannot be overruled by a stale decision."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, Subquery, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.contracts.models import Contract, ContractStatus
from assina.core.clock import local_date
from assina.customers.models import Customer, CustomerStatus
from assina.db.functions import not_indexed
from assina.rules.dunning import (
    TRIAL_ENDING_NOTICE_DAYS,
    ContractFacts,
    CustomerFacts,
    DunningPolicy,
    OverdueCharge,
    dunned_from,
)
from assina.tenants.models import Tenant

LIVE_CONTRACT_STATUSES = (
    ContractStatus.TRIALING,
    ContractStatus.ACTIVE,
    ContractStatus.SUSPENDED,
)


def notice_horizon(day: date, policy: DunningPolicy) -> date:
    """The latest due date a charge may have and still need something today (a reminder)."""
    return day + timedelta(days=max(policy.reminder_days_before_due, default=0))


def candidates_query(
    tenant_id: str, day: date, policy: DunningPolicy, after: str, limit: int
) -> Select[str]:
    """Customers that may need a move or a notice today, in id order from `after`: those with
    an open charge due up to the reminder horizon, those delinquent or suspended (they may
    have paid), and those whose trial ends within the notice days."""
    charged = select(Charge.customer_id.label("customer_id")).where(
        Charge.tenant_id == tenant_id,
        Charge.customer_id > after,
        Charge.status == ChargeStatus.OPEN,
        Charge.due_date <= notice_horizon(day, policy),
    )
    # One part per status, each an equality on (tenant_id, status, id): with `status IN`,
    # SQLite's planner reads every customer after `after` by id to find the few owing.
    owing = [
        select(Customer.id.label("customer_id")).where(
            Customer.tenant_id == tenant_id, Customer.status == status, Customer.id > after
        )
        for status in (CustomerStatus.DELINQUENT, CustomerStatus.SUSPENDED)
    ]
    trials = select(Contract.customer_id.label("customer_id")).where(
        Contract.tenant_id == tenant_id,
        Contract.customer_id > after,
        Contract.status == ContractStatus.TRIALING,
        Contract.deleted_at.is_(None),
        Contract.trial_end >= day,
        Contract.trial_end <= day + timedelta(days=TRIAL_ENDING_NOTICE_DAYS),
    )
    # Each part takes only its next `limit` ids after `after`, read in order from an index
    # (charges and contracts by tenant_id then customer_id or status, customers by tenant_id,
    # status, id), so a batch never reads the rest of the tenant again.
    parts = [first_ids(part, limit) for part in (charged, *owing, trials)]
    every = union(*(select(part.c.customer_id) for part in parts)).subquery()
    return select(every.c.customer_id).order_by(every.c.customer_id).limit(limit)


def first_ids(part: Select[str], limit: int) -> Subquery:
    """The part's first `limit` distinct ids. Distinct, so that the union's first `limit` ids
    are exactly the first `limit` of all three: none is skipped between batches."""
    column = part.selected_columns[0]
    return part.distinct().order_by(column).limit(limit).subquery()


@dataclass
class CustomerFile:
    """One customer's loaded rows: what the decision reads and what the moves and e-mails use."""

    customer: Customer
    charges: list[Charge]  # open, due up to the reminder horizon
    contracts: list[Contract]  # trialing, active or suspended
    time_zone: str  # the tenant's: a charge's issue day is its created_at's date there

    def issued_on(self, charge: Charge) -> date:
        return local_date(charge.created_at, self.time_zone)

    def dunned_from(self, charge: Charge, policy: DunningPolicy) -> date:
        """The day the charge's days overdue count from (rules/dunning.py)."""
        return dunned_from(charge.due_date, self.issued_on(charge), policy)

    def facts(self, day: date, policy: DunningPolicy) -> CustomerFacts:
        overdue = tuple(
            OverdueCharge(charge.id, charge.contract_id, self.dunned_from(charge, policy))
            for charge in self.charges
            if charge.due_date < day and not charge.dunning_exempt
        )
        contracts = tuple(
            ContractFacts(contract.id, contract.status, contract.dunning_exempt)
            for contract in self.contracts
        )
        status = self.customer.status
        if self.customer.dunning_exempt:
            status = CustomerStatus.INACTIVE  # left alone like an inactive customer
        return CustomerFacts(self.customer.id, status, overdue, contracts)


def open_charges_query(
    tenant_id: str, customer_ids: Sequence[str], horizon: date
) -> Select[Charge]:
    """The customers' open charges due up to `horizon`, oldest first. Read through the
    customers (tenant_id, customer_id, …), never through (tenant_id, status, due_date): on
    SQLite that read every overdue charge of the tenant for each batch, a pass quadratic in
    its overdue customers."""
    return (
        select(Charge)
        .where(
            Charge.tenant_id == tenant_id,
            Charge.customer_id.in_(customer_ids),
            not_indexed(Charge.status) == ChargeStatus.OPEN,
            not_indexed(Charge.due_date) <= horizon,
        )
        .order_by(Charge.due_date, Charge.id)
    )


async def load_files(
    session: AsyncSession,
    tenant_id: str,
    customer_ids: Sequence[str],
    day: date,
    policy: DunningPolicy,
    lock: bool,
) -> list[CustomerFile]:
    """Three queries for the whole batch; the customers' rows locked when `lock`."""
    customers_query = (
        select(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.id.in_(customer_ids))
        .order_by(Customer.id)
    )
    if lock:
        customers_query = customers_query.with_for_update()
    customers = list((await session.scalars(customers_query)).all())
    charges: defaultdict[str, list[Charge]] = defaultdict(list)
    horizon = notice_horizon(day, policy)
    for charge in await session.scalars(open_charges_query(tenant_id, customer_ids, horizon)):
        charges[charge.customer_id].append(charge)
    contracts: defaultdict[str, list[Contract]] = defaultdict(list)
    for contract in await session.scalars(
        select(Contract)
        .where(
            Contract.tenant_id == tenant_id,
            Contract.customer_id.in_(customer_ids),
            Contract.deleted_at.is_(None),
            or_(*(Contract.status == status for status in LIVE_CONTRACT_STATUSES)),
        )
        .order_by(Contract.id)
    ):
        contracts[contract.customer_id].append(contract)
    time_zone = await session.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
    return [
        CustomerFile(customer, charges[customer.id], contracts[customer.id], time_zone or "UTC")
        for customer in customers
    ]
