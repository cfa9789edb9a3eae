"""Proration by whole days, half-even to the centavo, and the adjustment for a mid-period change."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.core.money import round_minor
from assina.rules.periods import Period
from assina.rules.proration import prorate, proration_adjustment

JANUARY = Period(date(2025, 1, 1), date(2025, 2, 1))  # 31 days

amounts = st.integers(0, 10**9)


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start = draw(st.dates(date(2000, 1, 1), date(2100, 1, 1)))
    return Period(start, start + timedelta(days=draw(st.integers(1, 400))))


@st.composite
def days_in(draw: st.DrawFn, period: Period) -> date:
    return period.start + timedelta(days=draw(st.integers(0, period.days - 1)))


# --- round_minor: the one rounding rule ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("2.5"), 2),
        (Decimal("3.5"), 4),
        (Decimal("-2.5"), -2),
        (Decimal("2.5000000000000000000000000001"), 3),  # exact: no context rounding first
        (Fraction(7, 2), 4),
        (Fraction(-1, 3), 0),
    ],
)
def test_round_minor_is_exact_half_even(value: Fraction | Decimal, expected: int) -> None:
    assert round_minor(value) == expected


def test_round_minor_refuses_floats() -> None:
    with pytest.raises(TypeError):
        round_minor(0.5)  # type: ignore[arg-type]


# --- prorate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "days", "period_days", "expected"),
    [
        (3000, 15, 30, 1500),
        (1000, 1, 3, 333),
        (1000, 2, 3, 667),
        (3100, 12, 31, 1200),
        (1, 1, 2, 0),  # 0.5 rounds to the even 0
        (3, 1, 2, 2),  # 1.5 rounds to the even 2
        (5, 1, 2, 2),  # 2.5 rounds to the even 2
        (-3, 1, 2, -2),  # and symmetrically for credits
        (9990, 0, 30, 0),
        (9990, 30, 30, 9990),
    ],
)
def test_prorate_hand_computed(amount: int, days: int, period_days: int, expected: int) -> None:
    assert prorate(amount, days, period_days) == expected


@pytest.mark.parametrize(("days", "period_days"), [(-1, 30), (31, 30), (0, 0), (1, -5)])
def test_prorate_refuses_impossible_days(days: int, period_days: int) -> None:
    with pytest.raises(ValueError):
        prorate(1000, days, period_days)


@given(amount=amounts, period_days=st.integers(1, 400), data=st.data())
def test_prorate_stays_between_zero_and_the_amount(
    amount: int, period_days: int, data: st.DataObject
) -> None:
    days = data.draw(st.integers(0, period_days))
    part = prorate(amount, days, period_days)
    assert 0 <= part <= amount
    assert abs(part - Fraction(amount * days, period_days)) <= Fraction(1, 2)


# --- proration_adjustment: hand-computed --------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "change_day", "expected"),
    [
        (10000, 13100, date(2025, 1, 1), 3100),  # the whole period: the whole difference
        (10000, 13100, date(2025, 1, 21), 1100),  # 11 of 31 days left
        (13100, 10000, date(2025, 1, 21), -1100),  # a downgrade is a credit
        (10000, 13100, date(2025, 1, 31), 100),  # the last day alone
        (10000, 10000, date(2025, 1, 15), 0),
    ],
)
def test_adjustment_hand_computed(old: int, new: int, change_day: date, expected: int) -> None:
    assert proration_adjustment(old, new, change_day, JANUARY) == expected


@pytest.mark.parametrize("change_day", [date(2024, 12, 31), date(2025, 2, 1), date(2025, 3, 1)])
def test_a_change_outside_the_period_is_refused(change_day: date) -> None:
    with pytest.raises(ValueError, match="outside"):
        proration_adjustment(1000, 2000, change_day, JANUARY)


def test_two_changes_can_differ_from_one_by_exactly_one_centavo() -> None:
    # Both halves are 0.5 and round to 0; the single change is exactly 1.
    two_days = Period(date(2025, 1, 1), date(2025, 1, 3))
    last_day = date(2025, 1, 2)
    split = proration_adjustment(0, 1, last_day, two_days) + proration_adjustment(
        1, 2, last_day, two_days
    )
    assert split == 0
    assert proration_adjustment(0, 2, last_day, two_days) == 1


# --- proration_adjustment: properties -----------------------------------------------------


@given(period=periods(), old=amounts, new=amounts)
def test_a_change_on_the_first_day_adjusts_by_the_whole_difference(
    period: Period, old: int, new: int
) -> None:
    assert proration_adjustment(old, new, period.start, period) == new - old


@given(period=periods(), old=amounts, new=amounts, data=st.data())
def test_the_sign_follows_the_change_and_never_exceeds_it(
    period: Period, old: int, new: int, data: st.DataObject
) -> None:
    adjustment = proration_adjustment(old, new, data.draw(days_in(period)), period)
    assert adjustment * (new - old) >= 0
    assert abs(adjustment) <= abs(new - old)


@given(period=periods(), a=amounts, b=amounts, data=st.data())
def test_a_round_trip_on_one_day_cancels_exactly(
    period: Period, a: int, b: int, data: st.DataObject
) -> None:
    day = data.draw(days_in(period))
    assert proration_adjustment(a, b, day, period) + proration_adjustment(b, a, day, period) == 0


@given(period=periods(), old=amounts, new=amounts, data=st.data())
def test_a_later_change_never_adjusts_more(
    period: Period, old: int, new: int, data: st.DataObject
) -> None:
    first, later = sorted([data.draw(days_in(period)), data.draw(days_in(period))])
    earlier_adjustment = proration_adjustment(old, new, first, period)
    assert abs(proration_adjustment(old, new, later, period)) <= abs(earlier_adjustment)


@given(period=periods(), a=amounts, b=amounts, c=amounts, data=st.data())
def test_two_changes_are_within_one_centavo_of_the_exact_total(
    period: Period, a: int, b: int, c: int, data: st.DataObject
) -> None:
    d1, d2 = sorted([data.draw(days_in(period)), data.draw(days_in(period))])
    split = proration_adjustment(a, b, d1, period) + proration_adjustment(b, c, d2, period)
    exact = Fraction((b - a) * (period.end - d1).days + (c - b) * (period.end - d2).days)
    exact /= period.days
    # each change is rounded on its own (at most half a centavo each)...
    assert abs(split - exact) <= 1
    # ...so the sum is within one centavo of the exact total rounded once
    assert abs(split - round_minor(exact)) <= 1


@given(period=periods(), a=amounts, b=amounts, c=amounts, data=st.data())
def test_two_changes_on_one_day_are_within_one_centavo_of_the_direct_change(
    period: Period, a: int, b: int, c: int, data: st.DataObject
) -> None:
    day = data.draw(days_in(period))
    split = proration_adjustment(a, b, day, period) + proration_adjustment(b, c, day, period)
    assert abs(split - proration_adjustment(a, c, day, period)) <= 1


@given(period=periods(), a=amounts, k1=st.integers(-1000, 1000), k2=st.integers(-1000, 1000))
def test_two_changes_agree_exactly_when_nothing_is_rounded(
    period: Period, a: int, k1: int, k2: int
) -> None:
    # differences that are multiples of the period's days prorate without remainder
    b, c = a + k1 * period.days, a + (k1 + k2) * period.days
    for offset in range(period.days):
        day = period.start + timedelta(days=offset)
        split = proration_adjustment(a, b, day, period) + proration_adjustment(b, c, day, period)
        assert split == proration_adjustment(a, c, day, period)
