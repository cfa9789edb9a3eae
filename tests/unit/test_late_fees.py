"""Late fees (product.md §5): fine = amount * rate, interest = amount * monthly rate * days / 30."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.rules.late_fees import LateFees, late_fees

DUE = date(2026, 3, 10)
TWO = Decimal("2")
ONE = Decimal("1")

amounts = st.integers(0, 10**12)
percents = st.decimals(Decimal(0), Decimal(20), places=4)


def _late(amount: int, days: int, fine: Decimal = TWO, interest: Decimal = ONE) -> LateFees:
    return late_fees(amount, DUE, DUE + timedelta(days=days), fine, interest)


@pytest.mark.parametrize(
    ("amount", "days", "fine", "interest"),
    [
        (10000, 15, 200, 50),  # the brief's example: 2 % fine, 1 %/month for half a month
        (10000, 1, 200, 3),  # 3.33… centavos of interest
        (10000, 30, 200, 100),
        (10000, 45, 200, 150),
        (9990, 10, 200, 33),  # fine 199.8, interest 33.3
        (12345, 7, 247, 29),  # fine 246.9, interest 28.805
    ],
)
def test_hand_computed_fees(amount: int, days: int, fine: int, interest: int) -> None:
    assert _late(amount, days) == LateFees(fine=fine, interest=interest, days_late=days)
    assert _late(amount, days).total == fine + interest


def test_days_run_from_the_day_after_the_due_date() -> None:
    assert _late(10000, 1).days_late == 1
    assert late_fees(10000, date(2026, 2, 28), date(2026, 3, 1), TWO, ONE).days_late == 1


@pytest.mark.parametrize("days", [0, -1, -30])
def test_settled_on_or_before_the_due_date_owes_nothing(days: int) -> None:
    assert _late(10000, days) == LateFees(fine=0, interest=0, days_late=0)


@pytest.mark.parametrize(
    ("amount", "days", "fine", "interest"),
    [
        (25, 1, 0, 0),  # fine 0.5 → 0 (even)
        (75, 1, 2, 0),  # fine 1.5 → 2 (even)
        (125, 1, 2, 0),  # fine 2.5 → 2 (even)
        (100, 15, 2, 0),  # interest 0.5 → 0 (even)
        (100, 45, 2, 2),  # interest 1.5 → 2 (even)
        (100, 75, 2, 2),  # interest 2.5 → 2 (even)
        (100, 105, 2, 4),  # interest 3.5 → 4 (even)
    ],
)
def test_exact_half_centavos_round_to_even(
    amount: int, days: int, fine: int, interest: int
) -> None:
    fees = _late(amount, days)
    assert (fees.fine, fees.interest) == (fine, interest)


def test_fractional_percents_are_exact() -> None:
    # 0.033 % a day is 0.99 %/month; 0.1 + 0.2 style float errors must not appear
    fees = _late(1_000_000, 10, fine=Decimal("0.1"), interest=Decimal("0.99"))
    assert (fees.fine, fees.interest) == (1000, 3300)


@pytest.mark.parametrize(
    ("amount", "fine", "interest"),
    [(-1, TWO, ONE), (100, Decimal("-1"), ONE), (100, TWO, Decimal("-0.5"))],
)
def test_negative_inputs_are_refused(amount: int, fine: Decimal, interest: Decimal) -> None:
    with pytest.raises(ValueError):
        _late(amount, 5, fine, interest)


@given(amount=amounts, days=st.integers(1, 3650), fine=percents, interest=percents)
def test_each_fee_is_the_formula_within_half_a_centavo(
    amount: int, days: int, fine: Decimal, interest: Decimal
) -> None:
    fees = _late(amount, days, fine, interest)
    assert abs(fees.fine - amount * Fraction(fine) / 100) <= Fraction(1, 2)
    exact_interest = amount * Fraction(interest) / 100 * days / 30
    assert abs(fees.interest - exact_interest) <= Fraction(1, 2)
    assert fees.days_late == days


@given(amount=amounts, fine=percents, interest=percents, days=st.integers(-400, 3650))
def test_fees_never_decrease_with_more_days_late(
    amount: int, fine: Decimal, interest: Decimal, days: int
) -> None:
    today = _late(amount, days, fine, interest)
    tomorrow = _late(amount, days + 1, fine, interest)
    assert tomorrow.interest >= today.interest
    assert tomorrow.total >= today.total
    assert tomorrow.days_late == max(days + 1, 0)


@given(amount=amounts, fine=percents, interest=percents, days=st.integers(1, 3650))
def test_the_fine_does_not_depend_on_the_days_late(
    amount: int, fine: Decimal, interest: Decimal, days: int
) -> None:
    assert _late(amount, days, fine, interest).fine == _late(amount, 1, fine, interest).fine
