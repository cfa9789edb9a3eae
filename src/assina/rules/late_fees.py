"""Late fees on a charge settled after its due date (product.md §5).

fine = amount * fine_rate; interest = amount * monthly_rate * days_late / 30 (pro rata die, a
month counted as 30 days). Days late run from the day after the due date to the settlement
date, both dates in the tenant's time zone, so a charge settled on or before its due date owes
nothing. Each of the two is rounded half to even to the minor unit on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from assina.core.money import round_minor

DAYS_PER_MONTH = 30  # the commercial month of the pro rata die rule


@dataclass(frozen=True)
class LateFees:
    fine: int
    interest: int
    days_late: int

    @property
    def total(self) -> int:
        return self.fine + self.interest


NO_FEES = LateFees(fine=0, interest=0, days_late=0)


def late_fees(
    amount: int,
    due_date: date,
    settled_on: date,
    fine_percent: Decimal,
    monthly_interest_percent: Decimal,
) -> LateFees:
    """The fine and interest owed on `amount` (minor units) settled on `settled_on`.

    Percents are percent values: `Decimal("2")` is 2 %.
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    if fine_percent < 0 or monthly_interest_percent < 0:
        raise ValueError("late-fee percents must not be negative")
    days_late = (settled_on - due_date).days
    if days_late <= 0:
        return NO_FEES
    fine = round_minor(amount * Fraction(fine_percent) / 100)
    interest = round_minor(
        amount * Fraction(monthly_interest_percent) / 100 * days_late / DAYS_PER_MONTH
    )
    return LateFees(fine=fine, interest=interest, days_late=days_late)
