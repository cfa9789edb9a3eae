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


class LateIssueGrace(StrEnum):
    """Where the days overdue of a charge issued after its due date (a catch-up, a contract
    started in the past) count from."""

    # From the day it was issued: nobody is dunned for a debt it could not have known of.
    FROM_ISSUE = "from_issue"
    # From its due date, like any other charge.
    FROM_DUE_DATE = "from_due_date"


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
    late_issue_grace: LateIssueGrace = LateIssueGrace.FROM_ISSUE


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


def dunned_from(due_date: date, issued_on: date, policy: DunningPolicy) -> date:
    """The day a charge's days overdue count from: its due date, or the day it was issued
    when that came later and the policy says so (`late_issue_grace`)."""
    if policy.late_issue_grace == LateIssueGrace.FROM_ISSUE and issued_on > due_date:
        return issued_on
    return due_date


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
    """Why a customer's status moved (`customer.status_changed`'s `reason`). A move to a worse
    standing is `overdue` or `suspended`; a move back names what made it true (docs/dunning.md)."""

    OVERDUE = "overdue"  # an open charge is past its due date and the grace days
    SUSPENDED = "suspended"  # past suspend_after_days
    PAID = "paid"  # a settlement cleared every overdue charge
    BACK_TO_DELINQUENT = "partially_paid"  # a settlement cleared the oldest debts, not all
    INVALIDATED = "invalidated"  # an overdue charge was invalidated: nothing owed any more
    DUE_DATE_MOVED = "due_date_moved"  # an overdue charge's due date was moved later
    EXEMPTED = "exempted"  # an overdue charge was made dunning_exempt
    POLICY_CHANGED = "policy_changed"  # the tenant's dunning policy became more lenient
    CONTRACT_CANCELLED = "contract_cancelled"  # a cancellation invalidated an overdue charge


class DunningCause(StrEnum):
    """What made the policy look at a customer: the day's pass, or a change to its debts in a
    request. It names a move back to a better standing; a move to a worse one is always
    `overdue` or `suspended`, whatever the cause."""

    DAY_PASSED = "day_passed"  # the calendar's pass
    SETTLED = "settled"
    INVALIDATED = "invalidated"
    REVERSED = "reversed"
    REACTIVATED = "reactivated"
    CHARGE_CREATED = "charge_created"
    DUE_DATE_MOVED = "due_date_moved"
    EXEMPTED = "exempted"
    CONTRACT_CANCELLED = "contract_cancelled"


# The reason of a move back to a better standing, by cause. Days only make debts older and
# every other change reconsiders the customer at once, in its own request, with its own
# cause: a pass (for a day not earlier than the last one, dunning/run.py) that finds a
# customer better off can only follow a more lenient policy. Reversing or reactivating a
# charge, or issuing one, only adds debt: should one ever find the customer better off, it
# is named for what the policy then sees, a policy that lets it off.
_BETTER_REASON = {
    DunningCause.DAY_PASSED: CustomerMoveReason.POLICY_CHANGED,
    DunningCause.SETTLED: CustomerMoveReason.PAID,
    DunningCause.INVALIDATED: CustomerMoveReason.INVALIDATED,
    DunningCause.REVERSED: CustomerMoveReason.POLICY_CHANGED,
    DunningCause.REACTIVATED: CustomerMoveReason.POLICY_CHANGED,
    DunningCause.CHARGE_CREATED: CustomerMoveReason.POLICY_CHANGED,
    DunningCause.DUE_DATE_MOVED: CustomerMoveReason.DUE_DATE_MOVED,
    DunningCause.EXEMPTED: CustomerMoveReason.EXEMPTED,
    DunningCause.CONTRACT_CANCELLED: CustomerMoveReason.CONTRACT_CANCELLED,
}


@dataclass(frozen=True)
class OverdueCharge:
    charge_id: str
    contract_id: str | None
    due_date: date  # the day its days overdue count from (`dunned_from`)


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


def plan_dunning(
    facts: CustomerFacts,
    today: date,
    policy: DunningPolicy,
    cause: DunningCause = DunningCause.DAY_PASSED,
) -> DunningPlan:
    """The moves for one customer on `today`; `cause` names a move back (see DunningCause)."""
    plan = DunningPlan()
    if facts.status not in DUNNED_CUSTOMER_STATUSES:
        return plan
    stage = debt_stage(oldest([c.due_date for c in facts.overdue]), today, policy)
    target = _CUSTOMER_STATUS[stage]
    if target != facts.status:
        plan.customer_status = target
        plan.reason = move_reason(facts.status, target, cause)
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


# How bad each dunned status is: a move to a higher rank is a move for the worse.
_RANK = {"active": 0, "delinquent": 1, "suspended": 2}


def better_reason(cause: DunningCause) -> CustomerMoveReason:
    """Why a debt stands better than before (a customer or a contract moving back)."""
    return _BETTER_REASON[cause]


def move_reason(current: str, target: str, cause: DunningCause) -> CustomerMoveReason:
    if _RANK[target] > _RANK[current]:
        if target == "suspended":
            return CustomerMoveReason.SUSPENDED
        return CustomerMoveReason.OVERDUE
    if cause == DunningCause.SETTLED and target != "active":
        return CustomerMoveReason.BACK_TO_DELINQUENT
    return better_reason(cause)
