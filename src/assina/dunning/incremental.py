"""The dunning pass's candidates on a day that follows a completed pass of the day before
(a test clock advance, day after day): only the customers for whom something can differ
from yesterday, instead of every customer who owes anything.

Between two consecutive days the decision (rules/dunning.py) can only change for a
customer when one of its open charges reaches a threshold today: a reminder day (due date
minus a reminder day), an overdue notice day, or the grace, suspension or cancellation day,
counted from the due date or, for a charge issued late, from the day it was issued; or when
something of its own changed since yesterday's pass began (a charge issued or changed, a
contract or the customer changed). A trial ending soon is looked at as in the full pass.
Anything else would be the same answer as yesterday's. The first day of every advance, and
every worker pass, still reads the full candidates (dunning/facts.py), so a day this
narrowing missed is caught up there; tests/integration/test_sandbox.py shows an advance and
the same days run one full pass at a time ending in the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, or_, select, union

from assina.charges.models import Charge, ChargeStatus
from assina.contracts.models import Contract, ContractStatus
from assina.core.clock import local_instant
from assina.customers.models import Customer
from assina.dunning.facts import first_ids
from assina.rules.dunning import TRIAL_ENDING_NOTICE_DAYS, DunningPolicy


@dataclass(frozen=True)
class YesterdayDone:
    """The tenant's pass of the day before completed, every customer: today's pass may read
    only the changed candidates. `time_zone`: the tenant's, for its days' boundaries."""

    time_zone: str


def threshold_days_after(policy: DunningPolicy) -> set[int]:
    """Days after a charge's due (or late issue) date on which its standing can change."""
    return {
        policy.grace_days + 1,
        policy.suspend_after_days,
        policy.cancel_after_days,
        *policy.overdue_notice_days,
    }


def changed_candidates_query(
    tenant_id: str,
    day: date,
    time_zone: str,
    policy: DunningPolicy,
    after: str,
    limit: int,
) -> Select[str]:
    """Customers for whom something can differ from yesterday, in id order from `after`."""
    after_days = sorted(threshold_days_after(policy))
    due_dates = [day - timedelta(days=k) for k in after_days]
    due_dates += [day + timedelta(days=r) for r in policy.reminder_days_before_due]
    issued_on = [
        and_(
            Charge.created_at >= local_instant(day - timedelta(days=k), time_zone),
            Charge.created_at < local_instant(day - timedelta(days=k - 1), time_zone),
        )
        for k in after_days
    ]
    since = local_instant(day - timedelta(days=1), time_zone)
    charges = select(Charge.customer_id.label("customer_id")).where(
        Charge.tenant_id == tenant_id,
        Charge.status == ChargeStatus.OPEN,
        Charge.customer_id > after,
        or_(Charge.due_date.in_(due_dates), Charge.updated_at >= since, *issued_on),
    )
    contracts = select(Contract.customer_id.label("customer_id")).where(
        Contract.tenant_id == tenant_id,
        Contract.customer_id > after,
        or_(
            Contract.updated_at >= since,
            and_(
                Contract.status == ContractStatus.TRIALING,
                Contract.trial_end >= day,
                Contract.trial_end <= day + timedelta(days=TRIAL_ENDING_NOTICE_DAYS),
            ),
        ),
    )
    customers = select(Customer.id.label("customer_id")).where(
        Customer.tenant_id == tenant_id, Customer.id > after, Customer.updated_at >= since
    )
    parts = [first_ids(part, limit) for part in (charges, contracts, customers)]
    every = union(*(select(part.c.customer_id) for part in parts)).subquery()
    return select(every.c.customer_id).order_by(every.c.customer_id).limit(limit)
