"""The dunning decision: a pure function of the oldest overdue due date, today and the policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from assina.rules.dunning import (
    DEFAULT_POLICY,
    ContractFacts,
    CustomerFacts,
    CustomerMoveReason,
    DebtStage,
    DunningCause,
    DunningPolicy,
    DunningScope,
    LateIssueGrace,
    OverdueCharge,
    debt_stage,
    dunned_from,
    move_reason,
    overdue_notice_day,
    plan_dunning,
    policy_problems,
    reminder_day,
    reminder_said_at_issue,
)

DUE = date(2026, 1, 10)


def test_the_default_timeline_of_one_unpaid_charge() -> None:
    def stage_on(day: date) -> DebtStage:
        return debt_stage(DUE, day, DEFAULT_POLICY)

    assert stage_on(DUE) == DebtStage.CURRENT
    assert stage_on(date(2026, 1, 11)) == DebtStage.DELINQUENT
    assert stage_on(date(2026, 1, 24)) == DebtStage.DELINQUENT
    assert stage_on(date(2026, 1, 25)) == DebtStage.SUSPENDED
    assert stage_on(date(2026, 3, 10)) == DebtStage.SUSPENDED
    assert stage_on(date(2026, 3, 11)) == DebtStage.CANCELLED
    assert debt_stage(None, date(2026, 3, 11), DEFAULT_POLICY) == DebtStage.CURRENT


def test_grace_days_delay_delinquency() -> None:
    policy = replace(DEFAULT_POLICY, grace_days=3)
    assert debt_stage(DUE, DUE + timedelta(days=3), policy) == DebtStage.CURRENT
    assert debt_stage(DUE, DUE + timedelta(days=4), policy) == DebtStage.DELINQUENT


def test_a_charge_issued_late_counts_from_its_issue_day_unless_the_policy_says_otherwise() -> None:
    issued = DUE + timedelta(days=20)
    assert dunned_from(DUE, issued, DEFAULT_POLICY) == issued
    assert dunned_from(DUE, DUE - timedelta(days=10), DEFAULT_POLICY) == DUE  # issued ahead
    by_due_date = replace(DEFAULT_POLICY, late_issue_grace=LateIssueGrace.FROM_DUE_DATE)
    assert dunned_from(DUE, issued, by_due_date) == DUE


def test_a_move_back_names_its_cause_and_a_move_for_the_worse_the_debt() -> None:
    for cause in DunningCause:
        assert move_reason("active", "delinquent", cause) == CustomerMoveReason.OVERDUE
        assert move_reason("delinquent", "suspended", cause) == CustomerMoveReason.SUSPENDED
        assert move_reason("active", "suspended", cause) == CustomerMoveReason.SUSPENDED
    back = {cause: move_reason("delinquent", "active", cause) for cause in DunningCause}
    assert back[DunningCause.SETTLED] == CustomerMoveReason.PAID
    assert back[DunningCause.INVALIDATED] == CustomerMoveReason.INVALIDATED
    assert back[DunningCause.DUE_DATE_MOVED] == CustomerMoveReason.DUE_DATE_MOVED
    assert back[DunningCause.EXEMPTED] == CustomerMoveReason.EXEMPTED
    assert back[DunningCause.CONTRACT_CANCELLED] == CustomerMoveReason.CONTRACT_CANCELLED
    # Days only make debts older: a pass finding someone better off follows a policy change.
    assert back[DunningCause.DAY_PASSED] == CustomerMoveReason.POLICY_CHANGED
    # `paid` only for a settlement.
    assert [c for c, r in back.items() if r == CustomerMoveReason.PAID] == [DunningCause.SETTLED]
    partly = move_reason("suspended", "delinquent", DunningCause.SETTLED)
    assert partly == CustomerMoveReason.BACK_TO_DELINQUENT
    dropped = move_reason("suspended", "delinquent", DunningCause.INVALIDATED)
    assert dropped == CustomerMoveReason.INVALIDATED


policies = st.builds(
    lambda grace, to_suspend, to_cancel: DunningPolicy(
        grace_days=grace,
        suspend_after_days=grace + to_suspend,
        cancel_after_days=grace + to_suspend + to_cancel,
    ),
    st.integers(0, 30),
    st.integers(1, 60),
    st.integers(1, 120),
)


@given(policies, st.integers(-400, 400), st.integers(0, 400))
def test_the_stage_never_goes_back_as_days_pass(
    policy: DunningPolicy, offset: int, later: int
) -> None:
    today = DUE + timedelta(days=offset)
    assert policy_problems(policy) == []
    assert debt_stage(DUE, today, policy) <= debt_stage(DUE, today + timedelta(later), policy)


def test_an_inconsistent_policy_names_the_field() -> None:
    assert policy_problems(DunningPolicy(grace_days=15, suspend_after_days=15)) == [
        ("suspend_after_days", "must be more than grace_days")
    ]
    assert policy_problems(DunningPolicy(suspend_after_days=60, cancel_after_days=30)) == [
        ("cancel_after_days", "must be more than suspend_after_days")
    ]


def test_notices_and_reminders_name_the_latest_day_reached() -> None:
    policy = DunningPolicy(reminder_days_before_due=(3, 7), overdue_notice_days=(1, 7))
    assert reminder_day(DUE, DUE - timedelta(days=8), policy) is None
    assert reminder_day(DUE, DUE - timedelta(days=7), policy) == 7
    assert reminder_day(DUE, DUE - timedelta(days=4), policy) == 7
    assert reminder_day(DUE, DUE - timedelta(days=3), policy) == 3
    assert reminder_day(DUE, DUE, policy) == 3
    assert reminder_day(DUE, DUE + timedelta(days=1), policy) is None
    assert overdue_notice_day(DUE, DUE, policy) is None
    assert overdue_notice_day(DUE, DUE + timedelta(days=1), policy) == 1
    assert overdue_notice_day(DUE, DUE + timedelta(days=6), policy) == 1
    # A pass that missed a week sends the latest notice only.
    assert overdue_notice_day(DUE, DUE + timedelta(days=30), policy) == 7


def facts(status: str, overdue: list[OverdueCharge], *contracts: ContractFacts) -> CustomerFacts:
    return CustomerFacts("cus_1", status, tuple(overdue), contracts)


PAID_AHEAD = ContractFacts("ctr_paid", "active", dunning_exempt=False)
IN_DEBT = ContractFacts("ctr_debt", "active", dunning_exempt=False)
DEBT = [OverdueCharge("chg_1", "ctr_debt", DUE)]


def test_contract_scope_never_blocks_a_contract_paid_in_advance() -> None:
    plan = plan_dunning(
        facts("delinquent", DEBT, PAID_AHEAD, IN_DEBT), date(2026, 1, 25), DEFAULT_POLICY
    )
    assert plan.customer_status == "suspended"
    assert plan.reason == CustomerMoveReason.SUSPENDED
    assert plan.suspend == ["ctr_debt"]
    later = plan_dunning(
        facts("suspended", DEBT, PAID_AHEAD, IN_DEBT), date(2026, 3, 11), DEFAULT_POLICY
    )
    assert later.cancel == ["ctr_debt"]
    assert later.customer_status is None


def test_customer_scope_takes_every_contract_and_one_off_charges() -> None:
    policy = replace(DEFAULT_POLICY, scope=DunningScope.CUSTOMER)
    one_off = [OverdueCharge("chg_2", None, DUE)]
    plan = plan_dunning(
        facts("delinquent", one_off, PAID_AHEAD, IN_DEBT), date(2026, 1, 25), policy
    )
    assert sorted(plan.suspend) == ["ctr_debt", "ctr_paid"]
    scoped = plan_dunning(
        facts("delinquent", one_off, PAID_AHEAD), date(2026, 1, 25), DEFAULT_POLICY
    )
    assert scoped.suspend == []  # contract scope: a one-off charge suspends no contract
    assert scoped.customer_status == "suspended"


def test_paying_brings_the_customer_back_and_resumes_unless_the_policy_says_not() -> None:
    suspended = ContractFacts("ctr_debt", "suspended", dunning_exempt=False)
    plan = plan_dunning(
        facts("suspended", [], suspended), date(2026, 1, 30), DEFAULT_POLICY, DunningCause.SETTLED
    )
    assert (plan.customer_status, plan.reason, plan.resume) == (
        "active",
        CustomerMoveReason.PAID,
        ["ctr_debt"],
    )
    manual = replace(DEFAULT_POLICY, resume_on_payment=False)
    kept = plan_dunning(facts("suspended", [], suspended), date(2026, 1, 30), manual)
    assert (kept.customer_status, kept.resume) == ("active", [])


def test_exempt_contracts_and_inactive_customers_are_left_alone() -> None:
    exempt = ContractFacts("ctr_debt", "active", dunning_exempt=True)
    assert (
        plan_dunning(facts("delinquent", DEBT, exempt), date(2026, 3, 11), DEFAULT_POLICY).cancel
        == []
    )
    assert plan_dunning(facts("inactive", DEBT, IN_DEBT), date(2026, 3, 11), DEFAULT_POLICY).empty


statuses = st.sampled_from(["active", "delinquent", "suspended"])
contract_statuses = st.sampled_from(["active", "trialing", "suspended"])


@given(policies, statuses, contract_statuses, st.integers(-30, 200), st.booleans())
def test_applying_a_plan_leaves_nothing_to_do_the_same_day(
    policy: DunningPolicy, status: str, contract_status: str, offset: int, owes: bool
) -> None:
    today = DUE + timedelta(days=offset)
    contract = ContractFacts("ctr_debt", contract_status, dunning_exempt=False)
    before = facts(status, DEBT if owes else [], contract)
    plan = plan_dunning(before, today, policy)
    moved = {c: "suspended" for c in plan.suspend} | {c: "active" for c in plan.resume}
    contracts = tuple(
        replace(c, status=moved.get(c.contract_id, c.status))
        for c in before.contracts
        if c.contract_id not in plan.cancel
    )
    after = CustomerFacts("cus_1", plan.customer_status or status, before.overdue, contracts)
    assert plan_dunning(after, today, policy).empty


def test_a_reminder_due_by_the_issue_day_was_said_by_the_charge_created_email() -> None:
    due = date(2026, 1, 25)
    # Issued 3 days before: the 3-day reminder falls on the issue day; the 1-day one after.
    assert reminder_said_at_issue(due, 3, issued_on=date(2026, 1, 22))
    assert not reminder_said_at_issue(due, 1, issued_on=date(2026, 1, 22))
    # Issued 2 days before: the 3-day reminder's day had passed already.
    assert reminder_said_at_issue(due, 3, issued_on=date(2026, 1, 23))
    # Issued 10 days before: every reminder comes later.
    assert not reminder_said_at_issue(due, 3, issued_on=date(2026, 1, 15))
    assert not reminder_said_at_issue(due, 0, issued_on=date(2026, 1, 24))
