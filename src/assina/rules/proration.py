"""Proration: charging part of a period, by whole days.

Rule: an amount for part of a period is the full amount times the days used over the days in
the period, rounded half to even to the centavo. When a contract's amount changes on a day
inside a period that was already charged in advance, the difference between the new and the
old amount, times the days from the change day (inclusive) to the end of the period
(exclusive) over the days in the period, is added to the next charge: a debit when the amount
went up, a credit when it went down. A change on the period's first day adjusts by the whole
difference; each change is rounded on its own, so two changes in one period may differ by one
centavo from a single change computed over the same days.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from assina.core.money import round_minor
from assina.rules.periods import Period


def prorate(amount: int, days: int, period_days: int) -> int:
    """`amount` for `days` of a period of `period_days` days, half-even to the minor unit."""
    if period_days <= 0:
        raise ValueError(f"a period has at least one day, not {period_days}")
    if not 0 <= days <= period_days:
        raise ValueError(f"days must be between 0 and {period_days}, not {days}")
    return round_minor(Fraction(amount * days, period_days))


def proration_adjustment(old_amount: int, new_amount: int, change_day: date, period: Period) -> int:
    """Signed amount for the next charge when the amount changes on `change_day` in `period`.

    Positive is a debit, negative a credit. The new amount applies from `change_day`
    (inclusive) to `period.end` (exclusive).
    """
    if not period.start <= change_day < period.end:
        raise ValueError(f"{change_day} is outside the period {period.start} → {period.end}")
    remaining = (period.end - change_day).days
    return prorate(new_amount - old_amount, remaining, period.days)
