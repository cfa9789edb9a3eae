"""Where a contract stands in its billing schedule: pure derivations shared by the contracts
API and the billing calendar.

A contract's schedule is its service start (`trial_end`, or `start_date` without a trial), its
anchor (billing date 0, `periods.first_billing_date`), billing day, interval and count. What has
been charged is told by two fields:

- `next_period`: the index of the next period still to be charged (periods before it are);
- `stub_amount`: the prorated amount of the stub (the days from the service start to the
  anchor, monthly contracts only) while it is still to be charged. The calendar sets it to 0
  when it issues the stub's charge, so a stub is pending while `stub_amount > 0` and
  `next_period == 0`; a stub worth 0 counts as charged (at zero).

Derived for people and integrations (`ContractOut`):

- `current_period`: the stub or the period that contains today (the first one while the
  service has not started); None while trialing and once cancelled.
- `cancellation_day`: with cancel-at-period-end, the day the contract ends (a trial's last
  day for a trialing contract).
- `next_charge_date`: the due date of the next charge not yet issued (billing is in advance, so
  a period's charge is due on its first day): the stub's start while the stub is pending, else
  billing date `next_period`. None once cancelled, and None when the contract is set to cancel
  at its period's end and that charge would fall on or after the end of the last period
  already charged (the service start, when nothing was charged yet: such a contract ends
  without any charge).
- `pending_proration`: what the next charge will carry of `pending_adjustment` (the proration
  of changes not charged yet) as its "Ajuste proporcional" line: all of it, but a credit only
  up to that charge's amount (the rest waits for the following charge); 0 when no charge
  comes.

Items changed mid-period (`change_adjustment`): every period already charged whose end is after
today is adjusted by the difference between the new and the old amount for its remaining days,
from today (inclusive) to its end, over the days of its full period, rounded half-even
(`proration.proration_adjustment`); a period charged ahead that has not begun adjusts by the
whole difference (by the stub's share for the stub). Periods not yet charged need nothing:
their charge will carry the new amount.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from assina.contracts.models import Contract, ContractStatus, PaymentMethod
from assina.rules.periods import (
    Interval,
    Period,
    nth_billing_date,
    period_at,
    period_containing,
    stub_period,
)
from assina.rules.proration import prorate, proration_adjustment


@dataclass(slots=True)
class DueContract:
    """The columns of a contract that its schedule and the calendar's step read, and the four
    the step moves (`next_period`, `stub_amount`, `pending_adjustment`, `next_step_on`), as a
    plain object: no ORM identity, no attribute instrumentation. The calendar's batches read
    due contracts so (calendar/charge_batch.py: an ORM object per contract cost a third of
    the batch's computing) and write what moved themselves."""

    id: str
    customer_id: str
    items: list[dict[str, Any]]
    amount: int
    currency: str
    status: ContractStatus
    interval: str
    interval_count: int
    billing_day: int
    start_date: date
    trial_end: date | None
    anchor_date: date
    next_period: int
    stub_amount: int
    payment_method: PaymentMethod
    pending_adjustment: int
    readjustment_index: str | None
    last_readjusted_on: date | None
    next_step_on: date | None
    cancel_at_period_end: bool
    deleted_at: datetime | None
    dunning_exempt: bool


# What the schedule and the calendar's step take: the ORM's contract or its plain columns.
ContractTerms = Contract | DueContract


@dataclass(frozen=True)
class ScheduleState:
    """The fields of a contract that place it in its schedule."""

    status: ContractStatus
    interval: Interval
    interval_count: int
    billing_day: int
    service_start: date
    anchor: date
    next_period: int
    stub_amount: int
    cancel_at_period_end: bool = False

    @classmethod
    def of(cls, contract: ContractTerms) -> ScheduleState:
        return cls(
            status=contract.status,
            interval=Interval(contract.interval),
            interval_count=contract.interval_count,
            billing_day=contract.billing_day,
            service_start=contract.trial_end or contract.start_date,
            anchor=contract.anchor_date,
            next_period=contract.next_period,
            stub_amount=contract.stub_amount,
            cancel_at_period_end=contract.cancel_at_period_end,
        )

    def period(self, n: int) -> Period:
        return period_at(self.anchor, self.billing_day, self.interval, self.interval_count, n)

    def billing_date(self, n: int) -> date:
        return nth_billing_date(
            self.anchor, self.billing_day, self.interval, self.interval_count, n
        )


@dataclass(frozen=True)
class Derived:
    current_period: Period | None
    next_charge_date: date | None


def stub_and_full(state: ScheduleState) -> tuple[Period, Period] | None:
    """The stub and the full period that contains it (the stub's proration basis), or None."""
    return stub_period(state.service_start, state.billing_day, state.interval, state.interval_count)


def stub_pending(state: ScheduleState) -> bool:
    """A stub still to be charged (see the module's docstring)."""
    return state.stub_amount > 0 and state.next_period == 0 and stub_and_full(state) is not None


def next_due_date(state: ScheduleState) -> date:
    """Due date of the next charge not yet issued, whatever the status."""
    if stub_pending(state):
        return state.service_start
    return state.billing_date(state.next_period)


def billed_period(state: ScheduleState) -> Period | None:
    """The last period already charged (the stub counts), or None when nothing was."""
    if state.next_period > 0:
        return state.period(state.next_period - 1)
    stub = stub_and_full(state)
    if stub is not None and not stub_pending(state):
        return stub[0]
    return None


def cancellation_day(state: ScheduleState) -> date | None:
    """With cancel-at-period-end, the day the contract ends: a trial's last day (its service
    never starts, whatever was charged ahead for it), else the end of the last period charged,
    or the service start when nothing was charged. None otherwise."""
    if not state.cancel_at_period_end or state.status == ContractStatus.CANCELLED:
        return None
    if state.status == ContractStatus.TRIALING:
        return state.service_start
    billed = billed_period(state)
    return billed.end if billed is not None else state.service_start


def current_period(state: ScheduleState, today: date) -> Period | None:
    """The stub or the period containing `today`; None while trialing and once cancelled.
    An active or suspended contract always has one: before its service starts (a start date
    ahead, or a trial ended by a pass for a later day) its first period."""
    if state.status in (ContractStatus.TRIALING, ContractStatus.CANCELLED):
        return None
    today = max(today, state.service_start)
    if today < state.anchor:
        stub = stub_and_full(state)
        return stub[0] if stub is not None else None
    _, period = period_containing(
        state.anchor, state.billing_day, state.interval, state.interval_count, today
    )
    return period


def next_charge_date(state: ScheduleState) -> date | None:
    if state.status == ContractStatus.CANCELLED:
        return None
    due = next_due_date(state)
    if state.cancel_at_period_end:
        billed = billed_period(state)
        if billed is None or due >= billed.end:
            return None
    return due


def usable_adjustment(pending: int, charge_total: int) -> int:
    """The part of the pending proration a charge of `charge_total` carries: a debit whole, a
    credit only up to the charge's amount."""
    return max(pending, -charge_total)


def next_charge_total(state: ScheduleState, amount: int) -> int:
    """The next charge's amount before proration: the stub's while it is pending, else the
    contract's `amount`."""
    return state.stub_amount if stub_pending(state) else amount


def pending_proration(state: ScheduleState, amount: int, pending: int) -> int:
    """What the next charge will carry of `pending` (see the module's docstring)."""
    if next_charge_date(state) is None:
        return 0
    return usable_adjustment(pending, next_charge_total(state, amount))


def derive(state: ScheduleState, today: date) -> Derived:
    """What `ContractOut` shows of the schedule on `today` (the tenant's calendar date)."""
    return Derived(current_period(state, today), next_charge_date(state))


def change_adjustment(state: ScheduleState, old_amount: int, new_amount: int, today: date) -> int:
    """Signed amount the next charge carries when the amount changes on `today` (positive is a
    debit): the new amount's share of what was already charged, for the days still to come."""
    if new_amount == old_amount:
        return 0
    total = 0
    stub = stub_and_full(state)
    if stub is not None and not stub_pending(state):
        total += _remaining_share(old_amount, new_amount, today, *stub)
    first = 0
    if today >= state.anchor:
        first, _ = period_containing(
            state.anchor, state.billing_day, state.interval, state.interval_count, today
        )
    for n in range(first, state.next_period):
        period = state.period(n)
        total += _remaining_share(old_amount, new_amount, today, period, period)
    return total


def _remaining_share(old: int, new: int, today: date, period: Period, basis: Period) -> int:
    """(new - old) for the days of `period` from `today` on, over the days of `basis`."""
    if period.end <= today:
        return 0
    if today <= period.start:
        return prorate(new - old, period.days, basis.days)
    return proration_adjustment(old, new, today, basis)


def stub_amount_for(state: ScheduleState, amount: int) -> int:
    """The stub's prorated amount for a contract amount (0 without a stub)."""
    stub = stub_and_full(state)
    if stub is None:
        return 0
    return prorate(amount, stub[0].days, stub[1].days)


def skip_missed_charges(state: ScheduleState, day: date) -> tuple[int, int]:
    """(next_period, stub_amount) after giving up the charges that fell due before `day`
    without being issued (a contract suspended for non-payment is not charged for the periods
    it spent suspended: billing resumes with the first charge due on or after `day`)."""
    next_period, stub_amount = state.next_period, state.stub_amount
    while True:
        now = replace(state, next_period=next_period, stub_amount=stub_amount)
        if next_due_date(now) >= day:
            return next_period, stub_amount
        if stub_pending(now):
            stub_amount = 0
        else:
            next_period += 1
