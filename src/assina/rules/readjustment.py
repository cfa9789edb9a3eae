"""Yearly readjustment of a contract's amount, by a percentage or by a price index.

An index (IGP-M, IPCA) is recorded as monthly percent values; its accumulated percent
compounds them: (∏(1 + v/100) - 1) * 100, rounded half to even to 4 decimal places (the
precision indexes are published with). The amount is then multiplied by (1 + percent/100) and
rounded half to even to the minor unit; deflation lowers it, but never below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from assina.core.money import round_minor

PERCENT_PLACES = 4


@dataclass(frozen=True)
class Readjustment:
    """What a readjustment applied: the percent, and the index and the last of the 12 months
    it was compounded from when it came from an index (None for a plain percent)."""

    percent: Decimal
    index: str | None = None
    reference_month: str | None = None


def readjusted_amount(amount: int, percent: Decimal) -> int:
    """`amount` (minor units) raised by `percent` (Decimal("4.5") is 4.5 %), never below 0."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    return max(0, round_minor(amount * (1 + Fraction(percent) / 100)))


def index_percent(monthly_percents: Sequence[Decimal]) -> Decimal:
    """Accumulated percent of an index over its monthly values, 4 places, half-even.

    Callers pass the 12 months before the anniversary; any count of at least one works.
    """
    if not monthly_percents:
        raise ValueError("an index needs at least one monthly value")
    factor = Fraction(1)
    for value in monthly_percents:
        factor *= 1 + Fraction(value) / 100
    # The same single half-even rounding, here to units of 0.0001 %; the string is exact.
    scaled = round_minor((factor - 1) * 100 * 10**PERCENT_PLACES)
    return Decimal(f"{scaled}E-{PERCENT_PLACES}")
