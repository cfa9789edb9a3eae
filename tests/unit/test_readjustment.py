"""Readjustment by a percentage, and the accumulated percent of a price index."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.rules.readjustment import index_percent, readjusted_amount

amounts = st.integers(0, 10**12)
monthly = st.decimals(Decimal("-5"), Decimal("10"), places=4)


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (10000, Decimal("4.5"), 10450),
        (9990, Decimal("4.62"), 10452),  # 10451.538
        (9990, Decimal("-3"), 9690),  # deflation: 9690.3
        (1000, Decimal("0.05"), 1000),  # 1000.5 → 1000 (even)
        (1000, Decimal("0.15"), 1002),  # 1001.5 → 1002 (even)
        (10000, Decimal("-100"), 0),
        (10000, Decimal("-250"), 0),  # never below zero
        (0, Decimal("12"), 0),
    ],
)
def test_readjusted_amount_hand_computed(amount: int, percent: Decimal, expected: int) -> None:
    assert readjusted_amount(amount, percent) == expected


def test_a_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError):
        readjusted_amount(-1, Decimal(1))


def test_twelve_months_of_one_percent_compound() -> None:
    # 1.01 ** 12 = 1.126825030131969720661201
    assert index_percent([Decimal(1)] * 12) == Decimal("12.6825")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([Decimal("0.5")], Decimal("0.5000")),
        ([Decimal(10), Decimal(10)], Decimal("21.0000")),
        ([Decimal(10), Decimal(-10)], Decimal("-1.0000")),
        ([Decimal("0.00005")], Decimal("0.0000")),  # half a unit of the 4th place → even 0
        ([Decimal("0.00015")], Decimal("0.0002")),  # → even 2
        ([Decimal(0)] * 12, Decimal("0.0000")),
    ],
)
def test_index_percent_hand_computed(values: list[Decimal], expected: Decimal) -> None:
    result = index_percent(values)
    assert result == expected
    assert result.as_tuple().exponent == -4


def test_an_index_needs_a_value() -> None:
    with pytest.raises(ValueError):
        index_percent([])


@given(amount=amounts)
def test_zero_percent_changes_nothing(amount: int) -> None:
    assert readjusted_amount(amount, Decimal(0)) == amount
    assert readjusted_amount(amount, index_percent([Decimal(0)] * 12)) == amount


@given(amount=amounts, percent=st.decimals(Decimal(-1000), Decimal(1000), places=6))
def test_never_negative_and_within_half_a_centavo(amount: int, percent: Decimal) -> None:
    result = readjusted_amount(amount, percent)
    assert result >= 0
    exact = amount * (1 + Fraction(percent) / 100)
    assert result == 0 if exact <= 0 else abs(result - exact) <= Fraction(1, 2)


@given(amount=amounts, percent=st.decimals(Decimal(-30), Decimal(100), places=4))
def test_a_percent_then_its_inverse_comes_back_within_one_centavo(
    amount: int, percent: Decimal
) -> None:
    # The inverse undoes the factor: (1 + p/100)(1 + q/100) = 1. Between -30 % and +100 % the
    # first rounding's half centavo is scaled by at most 1/0.7, so the drift stays under 2,
    # hence at most one centavo.
    with localcontext() as context:
        context.prec = 60
        inverse = -100 * percent / (100 + percent)
    assert abs(readjusted_amount(readjusted_amount(amount, percent), inverse) - amount) <= 1


@given(values=st.lists(monthly, min_size=1, max_size=24))
def test_index_percent_is_the_compounded_product_to_four_places(values: list[Decimal]) -> None:
    factor = Fraction(1)
    for value in values:
        factor *= 1 + Fraction(value) / 100
    result = index_percent(values)
    assert result.as_tuple().exponent == -4
    assert abs(Fraction(result) - (factor - 1) * 100) <= Fraction(1, 20000)


@given(values=st.lists(st.decimals(Decimal(0), Decimal(10), places=4), min_size=1, max_size=12))
def test_non_negative_months_never_give_less_than_their_sum(values: list[Decimal]) -> None:
    # compounding only adds to the plain sum when no month is negative
    assert index_percent(values) >= sum(values, Decimal(0)).quantize(Decimal("0.0001"))
