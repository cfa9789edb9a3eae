"""Dunning decisions as pure functions of stored facts: where a debt stands given the oldest
overdue due date, today and the tenant's policy, and which notice is due for a charge.

Days overdue are whole days from the due date to today in the tenant's time zone: a charge due
on the 10th is 1 day overdue on the 11th. With the defaults (grace 0, suspension after 15,
cancellation after 60) a charge due on January 10 makes its customer delinquent on January 11,
suspended on January 25 and its contracts cancelled on March 11. Running the decision again on
any day gives the same answer, so the calendar can apply it as often as it likes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum, StrEnum


class DunningScope(StrEnum):
    # Only the contracts with an overdue charge of their own are suspended and cancelled.
    CONTRACT = "contract"
    # Every contract of a customer who owes anything, one-off charges included.
    CUSTOMER = "customer"


class DebtStage(IntEnum):
    """Ordered: a later stage includes the earlier ones."""

    CURRENT = 0
    DELINQUENT = 1
    SUSPENDED = 2
    CANCELLED = 3


@dataclass(frozen=True)
class DunningPolicy:
    grace_days: int = 0
    suspend_after_days: int = 15
    cancel_after_days: int = 60
    reminder_days_before_due: tuple[int, ...] = (3,)
    overdue_notice_days: tuple[int, ...] = (1, 7)
    resume_on_payment: bool = True
    scope: DunningScope = DunningScope.CONTRACT


DEFAULT_POLICY = DunningPolicy()
# The "trial ends soon" e-mail goes this many days before `trial_end`, the first paid day.
TRIAL_ENDING_NOTICE_DAYS = 3


def policy_problems(policy: DunningPolicy) -> list[tuple[str, str]]:
    """(field, why) for every rule the policy breaks; empty when it is consistent."""
    problems = []
    if policy.suspend_after_days <= policy.grace_days:
        problems.append(("suspend_after_days", "must be more than grace_days"))
    if policy.cancel_after_days <= policy.suspend_after_days:
        problems.append(("cancel_after_days", "must be more than suspend_after_days"))
    return problems


def days_overdue(due_date: date, today: date) -> int:
    return (today - due_date).days


def debt_stage(oldest_overdue: date | None, today: date, policy: DunningPolicy) -> DebtStage:
    """Where a debt whose oldest open charge fell due on `oldest_overdue` stands today."""
    if oldest_overdue is None:
        return DebtStage.CURRENT
    days = days_overdue(oldest_overdue, today)
    if days >= policy.cancel_after_days:
        return DebtStage.CANCELLED
    if days >= policy.suspend_after_days:
        return DebtStage.SUSPENDED
    if days > policy.grace_days:
        return DebtStage.DELINQUENT
    return DebtStage.CURRENT


def oldest(due_dates: Sequence[date]) -> date | None:
    return min(due_dates) if due_dates else None


def overdue_notice_day(due_date: date, today: date, policy: DunningPolicy) -> int | None:
    """The latest notice day (days after the due date) reached by today, if any. A pass that
    missed some days sends only the latest notice, never a burst of the ones it missed."""
    days = days_overdue(due_date, today)
    reached = [day for day in policy.overdue_notice_days if day <= days]
    return max(reached) if reached else None


def reminder_day(due_date: date, today: date, policy: DunningPolicy) -> int | None:
    """The reminder (days before the due date) whose day has come and whose due date has not
    passed yet: the smallest reminder day not below the days left."""
    left = (due_date - today).days
    if left < 0:
        return None
    reached = [day for day in policy.reminder_days_before_due if day >= left]
    return min(reached) if reached else None


def reminder_said_at_issue(due_date: date, before: int, issued_on: date) -> bool:
    """Whether the reminder `before` days before `due_date` falls on or before the day its
    charge was issued: the `charge_created` e-mail of that day already said it all (a
    charge issued 3 days before its due date gets no "due in 3 days" reminder that day)."""
    return due_date - timedelta(days=before) <= issued_on


# --- one customer's plan ----------------------------------------------------------------------


class CustomerMoveReason(StrEnum):
    """Why a customer's status moved (`customer.status_changed`'s `reason`)."""

    OVERDUE = "overdue"  # an open charge is past its due date and the grace days
    SUSPENDED = "suspended"  # past suspend_after_days
    PAID = "paid"  # every overdue charge was settled (or otherwise closed)
    BACK_TO_DELINQUENT = "partially_paid"  # the oldest debts were paid, a later one is overdue


@dataclass(frozen=True)
class OverdueCharge:
    charge_id: str
    contract_id: str | None
    due_date: date


@dataclass(frozen=True)
class ContractFacts:
    contract_id: str
    status: str  # trialing, active or suspended (cancelled contracts are not dunned)
    dunning_exempt: bool


@dataclass(frozen=True)
class CustomerFacts:
    """What the decision reads: the customer's status, its open, non-exempt charges past due,
    and its live contracts."""

    customer_id: str
    status: str
    overdue: tuple[OverdueCharge, ...]
    contracts: tuple[ContractFacts, ...]


@dataclass
class DunningPlan:
    """The moves that bring a customer and its contracts to where the policy says they stand."""

    customer_status: str | None = None  # None: unchanged
    reason: CustomerMoveReason | None = None
    suspend: list[str] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.customer_status is None and not (self.suspend or self.resume or self.cancel)


# Customer statuses by debt stage; `inactive` customers are never dunned.
_CUSTOMER_STATUS = {
    DebtStage.CURRENT: "active",
    DebtStage.DELINQUENT: "delinquent",
    DebtStage.SUSPENDED: "suspended",
    DebtStage.CANCELLED: "suspended",
}
DUNNED_CUSTOMER_STATUSES = frozenset({"active", "delinquent", "suspended"})


def plan_dunning(facts: CustomerFacts, today: date, policy: DunningPolicy) -> DunningPlan:
    plan = DunningPlan()
    if facts.status not in DUNNED_CUSTOMER_STATUSES:
        return plan
    stage = debt_stage(oldest([c.due_date for c in facts.overdue]), today, policy)
    target = _CUSTOMER_STATUS[stage]
    if target != facts.status:
        plan.customer_status = target
        plan.reason = _move_reason(facts.status, target)
    for contract in facts.contracts:
        if contract.dunning_exempt:
            continue
        _plan_contract(plan, contract, _contract_stage(facts, contract, stage, today, policy))
    if not policy.resume_on_payment:
        plan.resume.clear()
    return plan


def _contract_stage(
    facts: CustomerFacts,
    contract: ContractFacts,
    customer_stage: DebtStage,
    today: date,
    policy: DunningPolicy,
) -> DebtStage:
    if policy.scope == DunningScope.CUSTOMER:
        return customer_stage
    own = [c.due_date for c in facts.overdue if c.contract_id == contract.contract_id]
    return debt_stage(oldest(own), today, policy)


def _plan_contract(plan: DunningPlan, contract: ContractFacts, stage: DebtStage) -> None:
    if stage >= DebtStage.CANCELLED:
        plan.cancel.append(contract.contract_id)
    elif stage == DebtStage.SUSPENDED and contract.status in ("active", "trialing"):
        plan.suspend.append(contract.contract_id)
    elif stage < DebtStage.SUSPENDED and contract.status == "suspended":
        plan.resume.append(contract.contract_id)


def _move_reason(current: str, target: str) -> CustomerMoveReason:
    if target == "active":
        return CustomerMoveReason.PAID
    if target == "suspended":
        return CustomerMoveReason.SUSPENDED
    if current == "suspended":
        return CustomerMoveReason.BACK_TO_DELINQUENT
    return CustomerMoveReason.OVERDUE
