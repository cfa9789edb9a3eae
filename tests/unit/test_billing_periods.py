"""Billing periods: schedules on a billing day, clamped to short months, without drift."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.rules.periods import (
    Interval,
    Period,
    billing_date,
    first_billing_date,
    nth_billing_date,
    period_at,
    period_containing,
    stub_period,
)
from assina.rules.proration import prorate

Schedule = tuple[date, int, Interval, int]

starts = st.dates(date(1900, 1, 1), date(2200, 12, 31))
billing_days = st.integers(1, 31)
counts = st.integers(1, 12)


@st.composite
def schedules(draw: st.DrawFn, intervals: list[Interval] | None = None) -> Schedule:
    """A consistent (anchor, billing_day, interval, count), built as the engine builds one."""
    interval = draw(st.sampled_from(intervals or list(Interval)))
    start = draw(starts)
    billing_day = start.day if interval is Interval.year else draw(billing_days)
    return first_billing_date(start, billing_day, interval), billing_day, interval, draw(counts)


def _dates(
    anchor: date, billing_day: int, interval: Interval, count: int, up_to: int
) -> list[date]:
    return [nth_billing_date(anchor, billing_day, interval, count, n) for n in range(up_to)]


# --- billing_date -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "day", "expected"),
    [
        (2025, 1, 31, date(2025, 1, 31)),
        (2025, 2, 31, date(2025, 2, 28)),
        (2024, 2, 31, date(2024, 2, 29)),
        (2025, 2, 29, date(2025, 2, 28)),
        (2025, 4, 31, date(2025, 4, 30)),
        (2025, 4, 30, date(2025, 4, 30)),
        (2025, 6, 1, date(2025, 6, 1)),
        (1900, 2, 29, date(1900, 2, 28)),  # 1900 is not a leap year
        (2000, 2, 29, date(2000, 2, 29)),  # 2000 is
    ],
)
def test_billing_date_clamps_to_the_last_day_of_short_months(
    year: int, month: int, day: int, expected: date
) -> None:
    assert billing_date(year, month, day) == expected


@pytest.mark.parametrize("day", [0, 32, -1])
def test_billing_day_outside_1_to_31_is_refused(day: int) -> None:
    with pytest.raises(ValueError, match="billing day"):
        billing_date(2025, 1, day)


# --- hand-computed schedules --------------------------------------------------------------


def test_a_schedule_on_the_31st_does_not_drift() -> None:
    assert _dates(date(2025, 1, 31), 31, Interval.month, 1, 6) == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
        date(2025, 6, 30),
    ]


def test_a_schedule_on_the_31st_reaches_feb_29_in_a_leap_year() -> None:
    assert _dates(date(2024, 1, 31), 31, Interval.month, 1, 3) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
    ]


def test_a_quarterly_schedule_counts_months_from_the_anchor() -> None:
    assert _dates(date(2025, 11, 30), 30, Interval.month, 3, 4) == [
        date(2025, 11, 30),
        date(2026, 2, 28),
        date(2026, 5, 30),
        date(2026, 8, 30),
    ]


def test_a_yearly_schedule_from_feb_29_comes_back_in_leap_years() -> None:
    assert _dates(date(2024, 2, 29), 29, Interval.year, 1, 5) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_weekly_and_daily_schedules_ignore_the_billing_day() -> None:
    anchor = date(2025, 12, 29)
    assert _dates(anchor, 5, Interval.week, 2, 3) == [
        anchor,
        date(2026, 1, 12),
        date(2026, 1, 26),
    ]
    assert _dates(anchor, 31, Interval.day, 3, 3) == [anchor, date(2026, 1, 1), date(2026, 1, 4)]


@pytest.mark.parametrize(
    ("start", "billing_day", "expected"),
    [
        (date(2025, 1, 5), 10, date(2025, 1, 10)),
        (date(2025, 1, 10), 10, date(2025, 1, 10)),
        (date(2025, 1, 20), 10, date(2025, 2, 10)),
        (date(2025, 12, 20), 5, date(2026, 1, 5)),
        (date(2025, 2, 15), 31, date(2025, 2, 28)),
        (date(2025, 1, 31), 31, date(2025, 1, 31)),
    ],
)
def test_first_monthly_billing_date(start: date, billing_day: int, expected: date) -> None:
    assert first_billing_date(start, billing_day, Interval.month) == expected


@pytest.mark.parametrize("interval", [Interval.year, Interval.week, Interval.day])
def test_other_intervals_start_billing_on_the_service_start(interval: Interval) -> None:
    assert first_billing_date(date(2025, 3, 15), 1, interval) == date(2025, 3, 15)


def test_a_stub_is_prorated_over_the_full_period_that_contains_it() -> None:
    stub = stub_period(date(2025, 1, 20), 1, Interval.month, 1)
    assert stub == (
        Period(date(2025, 1, 20), date(2025, 2, 1)),
        Period(date(2025, 1, 1), date(2025, 2, 1)),
    )
    assert prorate(3100, stub[0].days, stub[1].days) == 1200  # 12 of January's 31 days


def test_a_period_contains_its_start_but_not_its_end() -> None:
    period = Period(date(2025, 1, 31), date(2025, 2, 28))
    assert period.days == 28
    assert date(2025, 1, 31) in period and date(2025, 2, 27) in period
    assert date(2025, 2, 28) not in period and date(2025, 1, 30) not in period


def test_no_stub_when_the_service_starts_on_a_billing_date() -> None:
    assert stub_period(date(2025, 1, 10), 10, Interval.month, 1) is None
    assert stub_period(date(2025, 1, 20), 10, Interval.year, 1) is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: nth_billing_date(date(2025, 1, 30), 31, Interval.month, 1, 0),  # not a 31st
        lambda: nth_billing_date(date(2025, 1, 31), 31, Interval.month, 0, 1),
        lambda: nth_billing_date(date(2025, 1, 31), 31, Interval.month, 1, -1),
        lambda: period_containing(date(2025, 1, 31), 31, Interval.month, 1, date(2025, 1, 30)),
        lambda: Period(date(2025, 1, 1), date(2025, 1, 1)),
    ],
)
def test_inconsistent_schedules_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


# --- properties ---------------------------------------------------------------------------


@given(schedule=schedules(), n=st.integers(0, 300))
def test_each_period_starts_where_the_previous_one_ended(schedule: Schedule, n: int) -> None:
    previous = period_at(*schedule, n)
    following = period_at(*schedule, n + 1)
    assert previous.end == following.start
    assert previous.days > 0 and following.days > 0


@given(schedule=schedules(), n=st.integers(0, 300))
def test_billing_dates_fall_on_the_billing_day_clamped(schedule: Schedule, n: int) -> None:
    anchor, billing_day, interval, count = schedule
    billed = nth_billing_date(anchor, billing_day, interval, count, n)
    assert billed > anchor or n == 0
    if interval in (Interval.month, Interval.year):
        assert billed == billing_date(billed.year, billed.month, billing_day)


@given(schedule=schedules([Interval.month]), n=st.integers(0, 300))
def test_monthly_periods_last_28_to_31_days_per_month(schedule: Schedule, n: int) -> None:
    count = schedule[3]
    assert 28 * count <= period_at(*schedule, n).days <= 31 * count


@given(schedule=schedules([Interval.year]), n=st.integers(0, 300))
def test_yearly_periods_last_365_to_366_days_per_year(schedule: Schedule, n: int) -> None:
    count = schedule[3]
    assert 365 * count <= period_at(*schedule, n).days <= 366 * count


@given(schedule=schedules([Interval.day, Interval.week]), n=st.integers(0, 300))
def test_daily_and_weekly_periods_have_a_fixed_length(schedule: Schedule, n: int) -> None:
    _, _, interval, count = schedule
    assert period_at(*schedule, n).days == count * (7 if interval is Interval.week else 1)


@given(schedule=schedules(), offset=st.integers(0, 1500))
def test_period_containing_agrees_with_a_walk(schedule: Schedule, offset: int) -> None:
    day = schedule[0] + timedelta(days=offset)
    n = 0
    while not period_at(*schedule, n).end > day:
        n += 1
    assert period_containing(*schedule, day) == (n, period_at(*schedule, n))


@given(start=starts, billing_day=billing_days)
def test_the_first_monthly_billing_date_is_the_next_one(start: date, billing_day: int) -> None:
    first = first_billing_date(start, billing_day, Interval.month)
    assert first >= start
    assert first == billing_date(first.year, first.month, billing_day)
    # no billing date of that billing day lies between the start and the first one
    before = first - timedelta(days=1)
    while before >= start:
        assert before != billing_date(before.year, before.month, billing_day)
        before -= timedelta(days=1)


@given(start=starts, billing_day=billing_days, count=counts)
def test_a_stub_lies_inside_the_full_period_before_the_anchor(
    start: date, billing_day: int, count: int
) -> None:
    result = stub_period(start, billing_day, Interval.month, count)
    anchor = first_billing_date(start, billing_day, Interval.month)
    if result is None:
        assert anchor == start
        return
    stub, full = result
    assert stub.end == full.end == anchor
    assert full.start < stub.start
    assert 0 < prorate(10_000, stub.days, full.days) < 10_000


def test_period_containing_jumps_straight_to_far_days() -> None:
    began = time.perf_counter()
    n, period = period_containing(date(1900, 1, 1), 1, Interval.day, 1, date(9000, 1, 1))
    assert period.start == date(9000, 1, 1) and n == (date(9000, 1, 1) - date(1900, 1, 1)).days
    n, period = period_containing(date(1900, 1, 31), 31, Interval.month, 1, date(9000, 2, 27))
    assert period == Period(date(9000, 1, 31), date(9000, 2, 28))
    assert time.perf_counter() - began < 0.1
