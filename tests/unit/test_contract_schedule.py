"""contracts/schedule.py: where a contract stands in its schedule (current period, next charge)
and what a mid-period change of items adds to the next charge."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from assina.contracts.models import ContractStatus
from assina.contracts.schedule import (
    Derived,
    ScheduleState,
    billed_period,
    cancellation_day,
    change_adjustment,
    derive,
    next_charge_date,
    pending_proration,
    stub_amount_for,
    stub_pending,
    usable_adjustment,
)
from assina.rules.periods import Interval, Period, first_billing_date

ACTIVE = ContractStatus.ACTIVE


def monthly(start: date, billing_day: int, amount: int = 10000, **fields: object) -> ScheduleState:
    """A new monthly contract's state (stub pending when it has one)."""
    state = ScheduleState(
        status=ACTIVE,
        interval=Interval.month,
        interval_count=1,
        billing_day=billing_day,
        service_start=start,
        anchor=first_billing_date(start, billing_day, Interval.month),
        next_period=0,
        stub_amount=0,
    )
    state = replace(state, stub_amount=stub_amount_for(state, amount))
    return replace(state, **fields)


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- derive --------------------------------------------------------------------------------


def test_no_stub_when_starting_on_the_billing_day() -> None:
    state = monthly(d("2026-01-15"), 15)
    assert state.stub_amount == 0
    derived = derive(state, d("2026-01-20"))
    assert derived.current_period == Period(d("2026-01-15"), d("2026-02-15"))
    assert derived.next_charge_date == d("2026-01-15")
    assert derive(replace(state, next_period=1), d("2026-01-20")).next_charge_date == d(
        "2026-02-15"
    )


def test_stub_is_current_and_charged_first() -> None:
    state = monthly(d("2026-01-10"), 20)
    assert state.stub_amount == 3226  # 10 of the 31 days of Dec 20 → Jan 20: 3225.8
    assert stub_pending(state)
    derived = derive(state, d("2026-01-12"))
    assert derived.current_period == Period(d("2026-01-10"), d("2026-01-20"))
    assert derived.next_charge_date == d("2026-01-10")
    charged = replace(state, stub_amount=0)
    assert not stub_pending(charged)
    assert next_charge_date(charged) == d("2026-01-20")
    assert billed_period(charged) == Period(d("2026-01-10"), d("2026-01-20"))
    assert derive(charged, d("2026-01-25")).current_period == Period(
        d("2026-01-20"), d("2026-02-20")
    )


def test_billing_day_31_is_clamped_and_comes_back() -> None:
    state = monthly(d("2026-02-10"), 31)
    assert state.anchor == d("2026-02-28")
    assert state.stub_amount == 6429  # 18 of the 28 days of Jan 31 → Feb 28
    assert derive(state, d("2026-03-05")).current_period == Period(d("2026-02-28"), d("2026-03-31"))
    assert state.billing_date(2) == d("2026-04-30")


def test_nothing_current_while_trialing_or_cancelled() -> None:
    state = monthly(d("2026-02-01"), 1)
    # Active before its service starts: its first period (an active contract always has one).
    first = Period(d("2026-02-01"), d("2026-03-01"))
    assert derive(state, d("2026-01-31")).current_period == first
    assert derive(state, d("2026-01-31")).next_charge_date == d("2026-02-01")
    trialing = replace(state, status=ContractStatus.TRIALING)
    assert derive(trialing, d("2026-02-03")).current_period is None
    cancelled = replace(state, status=ContractStatus.CANCELLED, next_period=1)
    assert derive(cancelled, d("2026-02-03")) == Derived(None, None)


def test_suspended_keeps_its_period() -> None:
    state = monthly(d("2026-01-15"), 15, status=ContractStatus.SUSPENDED, next_period=1)
    assert derive(state, d("2026-01-20")).current_period == Period(d("2026-01-15"), d("2026-02-15"))


def test_cancel_at_period_end_stops_the_next_charge() -> None:
    state = monthly(d("2026-01-15"), 15, cancel_at_period_end=True)
    assert next_charge_date(state) is None  # nothing charged yet: ends before any charge
    assert next_charge_date(replace(state, next_period=1)) is None  # Feb 15: the end
    assert billed_period(replace(state, next_period=2)) == Period(d("2026-02-15"), d("2026-03-15"))


def test_cancel_at_is_the_end_of_the_last_period_charged_or_a_trials_end() -> None:
    state = monthly(d("2026-01-15"), 15)
    assert cancellation_day(state) is None  # not set to cancel
    asked = replace(state, cancel_at_period_end=True)
    assert cancellation_day(asked) == d("2026-01-15")  # nothing charged: the service start
    assert cancellation_day(replace(asked, next_period=2)) == d("2026-03-15")
    # A trial charged ahead for its first period still ends when the trial does.
    trial = replace(asked, status=ContractStatus.TRIALING, next_period=1)
    assert cancellation_day(trial) == d("2026-01-15")
    assert cancellation_day(replace(asked, status=ContractStatus.CANCELLED)) is None


def test_yearly_weekly_and_daily() -> None:
    yearly = ScheduleState(ACTIVE, Interval.year, 1, 29, d("2024-02-29"), d("2024-02-29"), 1, 0)
    assert next_charge_date(yearly) == d("2025-02-28")
    assert derive(yearly, d("2028-03-01")).current_period == Period(
        d("2028-02-29"), d("2029-02-28")
    )
    weekly = ScheduleState(ACTIVE, Interval.week, 2, 15, d("2026-01-15"), d("2026-01-15"), 0, 0)
    assert derive(weekly, d("2026-02-01")).current_period == Period(
        d("2026-01-29"), d("2026-02-12")
    )
    daily = ScheduleState(ACTIVE, Interval.day, 1, 15, d("2026-01-15"), d("2026-01-15"), 3, 0)
    assert next_charge_date(daily) == d("2026-01-18")


# --- change_adjustment -----------------------------------------------------------------------

APRIL = monthly(d("2026-04-01"), 1, next_period=1)  # Apr 1 → May 1 (30 days) charged


def test_day_11_of_a_30_day_period() -> None:
    assert change_adjustment(APRIL, 10000, 13000, d("2026-04-11")) == 2000
    assert change_adjustment(APRIL, 10000, 7000, d("2026-04-11")) == -2000
    assert change_adjustment(APRIL, 10000, 13000, d("2026-04-01")) == 3000  # the whole period
    assert change_adjustment(APRIL, 10000, 13000, d("2026-04-30")) == 100  # the last day


def test_only_charged_periods_are_adjusted() -> None:
    assert change_adjustment(replace(APRIL, next_period=0), 10000, 13000, d("2026-04-11")) == 0
    assert change_adjustment(replace(APRIL, next_period=2), 10000, 13000, d("2026-04-11")) == 5000
    # Before the service starts, a period charged ahead adjusts by the whole difference.
    assert change_adjustment(APRIL, 10000, 13000, d("2026-03-25")) == 3000
    # Once the charged period is over, nothing is left to adjust.
    assert change_adjustment(APRIL, 10000, 13000, d("2026-05-02")) == 0


def test_a_charged_stub_adjusts_by_its_share() -> None:
    state = monthly(d("2026-01-15"), 20, stub_amount=0)  # Jan 15 → Jan 20 of Dec 20 → Jan 20
    assert change_adjustment(state, 10000, 13100, d("2026-01-15")) == 500
    assert change_adjustment(state, 10000, 13100, d("2026-01-18")) == 200
    assert change_adjustment(replace(state, stub_amount=1613), 10000, 13100, d("2026-01-18")) == 0


@st.composite
def charged_states(draw: st.DrawFn) -> tuple[ScheduleState, date]:
    start = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    state = monthly(start, draw(st.integers(1, 31)), next_period=draw(st.integers(0, 3)))
    state = replace(state, stub_amount=draw(st.sampled_from([0, state.stub_amount])))
    return state, start + timedelta(days=draw(st.integers(-40, 120)))


@given(charged_states(), st.integers(0, 10**9), st.integers(0, 10**9))
def test_a_change_and_its_reversal_cancel_out(
    case: tuple[ScheduleState, date], old: int, new: int
) -> None:
    state, today = case
    there = change_adjustment(state, old, new, today)
    assert change_adjustment(state, new, old, today) == -there
    periods_charged = state.next_period + (0 if stub_pending(state) else 1)
    assert abs(there) <= abs(new - old) * periods_charged


def test_the_next_charge_carries_a_debit_whole_and_a_credit_up_to_its_amount() -> None:
    assert usable_adjustment(2000, 10000) == 2000
    assert usable_adjustment(-2000, 10000) == -2000
    assert usable_adjustment(-15000, 10000) == -10000
    assert usable_adjustment(0, 0) == 0


def test_pending_proration_is_what_the_next_charge_will_carry() -> None:
    # A pending stub (Jan 15 → Jan 20 of a Dec 20 → Jan 20 period: 5 of 31 days, 1613): the
    # stub's charge is next, so a credit is taken up to the stub's amount.
    stub = monthly(date(2026, 1, 15), 20)
    assert stub_pending(stub)
    assert pending_proration(stub, 10000, -5000) == -stub.stub_amount
    assert pending_proration(stub, 10000, 700) == 700
    charged = replace(stub, stub_amount=0, next_period=1)
    assert pending_proration(charged, 10000, -5000) == -5000
    assert pending_proration(charged, 10000, -15000) == -10000
    # No charge comes: nothing is carried.
    cancelled = replace(charged, status=ContractStatus.CANCELLED)
    assert pending_proration(cancelled, 10000, -5000) == 0
