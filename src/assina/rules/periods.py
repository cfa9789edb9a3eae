"""Billing periods: when a recurring contract is charged, and for which span of days.

Rules:

- Billing is in advance: the charge for a period is due on the period's first day.
- A period runs from one billing date (inclusive) to the next (exclusive), so periods tile the
  calendar with no gap and no overlap, and a period is never empty.
- A schedule is an anchor (billing date 0), a billing day, an interval and a count (bill every
  `count` intervals). Billing date n is computed from the anchor, never from billing date n-1:
  a schedule on the 31st goes Jan 31 → Feb 28 (29 in leap years) → Mar 31 → Apr 30, and a
  clamped date never drags later months to an earlier day.
- `month`: billing date n is in the anchor's month plus n*count months, on the billing day,
  or on that month's last day when the month is shorter.
- `year`: the anchor is the service start itself and the billing day is its day of month;
  billing date n is in the same month, n*count years later, clamped the same way (a Feb 29
  start bills on Feb 28 in common years and on Feb 29 again in leap years).
- `day` and `week`: billing date n is the anchor plus n*count days or weeks; the billing day
  plays no part.
- Stub period: when a monthly contract starts before its first billing date, the days from
  the start to that date form a stub, charged on the start day at the full amount prorated
  by the stub's days over the days of the full period that contains the stub
  (`proration.prorate(amount, stub.days, full.days)`, see `stub_period`).
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# Schedules computed once per process: a pass over many contracts asks the same few (a billing
# day, an anchor month, an interval) again and again, several times per contract. The answers
# are immutable (dates, frozen periods).
SCHEDULE_CACHE = 16_384


class Interval(StrEnum):
    """Recurring intervals (a product's `once` is not one: it is billed a single time)."""

    day = "day"
    week = "week"
    month = "month"
    year = "year"


@dataclass(frozen=True)
class Period:
    """The days from `start` (inclusive) to `end` (exclusive: the next period's start)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"empty period {self.start} → {self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


def billing_date(year: int, month: int, billing_day: int) -> date:
    """That month's billing date: `billing_day`, or the month's last day when it is shorter."""
    _check_billing_day(billing_day)
    return date(year, month, min(billing_day, calendar.monthrange(year, month)[1]))


@functools.lru_cache(maxsize=SCHEDULE_CACHE)
def nth_billing_date(
    anchor: date, billing_day: int, interval: Interval, count: int, n: int
) -> date:
    """Billing date `n` (n ≥ 0) of the schedule whose billing date 0 is `anchor`."""
    if n < 0:
        raise ValueError("n must be 0 or more")
    _check_schedule(anchor, billing_day, interval, count)
    return _shift(anchor, billing_day, interval, count, n)


def first_billing_date(service_start: date, billing_day: int, interval: Interval) -> date:
    """The schedule's anchor: the first billing date on or after `service_start`.

    For `year` it is `service_start` itself (and the schedule's billing day is its day of
    month, whatever `billing_day` says); for `day` and `week` it is `service_start` too.
    """
    if interval is not Interval.month:
        return service_start
    this_month = billing_date(service_start.year, service_start.month, billing_day)
    if this_month >= service_start:
        return this_month
    return _add_months(service_start, billing_day, 1)


@functools.lru_cache(maxsize=SCHEDULE_CACHE)
def stub_period(
    service_start: date, billing_day: int, interval: Interval, count: int
) -> tuple[Period, Period] | None:
    """The stub before the first billing date and the full period containing it, or None.

    The stub is charged `prorate(amount, stub.days, full.days)`; `full` ends at the anchor.
    """
    anchor = first_billing_date(service_start, billing_day, interval)
    if anchor == service_start:
        return None
    _check_schedule(anchor, billing_day, interval, count)
    full = Period(_shift(anchor, billing_day, interval, count, -1), anchor)
    return Period(service_start, anchor), full


def period_at(anchor: date, billing_day: int, interval: Interval, count: int, n: int) -> Period:
    """Period `n` of the schedule: from billing date n to billing date n+1."""
    return Period(
        nth_billing_date(anchor, billing_day, interval, count, n),
        nth_billing_date(anchor, billing_day, interval, count, n + 1),
    )


def period_containing(
    anchor: date, billing_day: int, interval: Interval, count: int, day: date
) -> tuple[int, Period]:
    """The index and the period of the schedule that contain `day` (day ≥ anchor).

    Computed directly: the index is estimated from the distance in days, months or years,
    then corrected by one when `day` falls before that month's (or year's) billing date.
    """
    _check_schedule(anchor, billing_day, interval, count)
    if day < anchor:
        raise ValueError(f"{day} is before the schedule's first billing date {anchor}")
    if interval is Interval.month:
        elapsed = _month_index(day) - _month_index(anchor)
    elif interval is Interval.year:
        elapsed = day.year - anchor.year
    else:
        elapsed = (day - anchor).days // _step_days(interval)
    n = elapsed // count
    if _shift(anchor, billing_day, interval, count, n) > day:
        n -= 1  # `day` is in the right month or year but before its billing date
    return n, period_at(anchor, billing_day, interval, count, n)


# --- helpers ------------------------------------------------------------------------------


def _check_billing_day(billing_day: int) -> None:
    if not 1 <= billing_day <= 31:
        raise ValueError(f"billing day must be 1 to 31, not {billing_day}")


def _check_schedule(anchor: date, billing_day: int, interval: Interval, count: int) -> None:
    if count < 1:
        raise ValueError(f"interval count must be 1 or more, not {count}")
    # A month or year schedule must start on one of its own billing dates, otherwise period 0
    # would not begin at the anchor.
    calendar_based = interval in (Interval.month, Interval.year)
    if calendar_based and anchor != billing_date(anchor.year, anchor.month, billing_day):
        raise ValueError(f"{anchor} is not a billing date for billing day {billing_day}")


def _shift(anchor: date, billing_day: int, interval: Interval, count: int, n: int) -> date:
    """Billing date n for any integer n (negative n reaches back before the anchor)."""
    if interval is Interval.month:
        return _add_months(anchor, billing_day, n * count)
    if interval is Interval.year:
        return billing_date(anchor.year + n * count, anchor.month, billing_day)
    return anchor + timedelta(days=n * count * _step_days(interval))


def _add_months(start: date, billing_day: int, months: int) -> date:
    year, month0 = divmod(_month_index(start) + months, 12)
    return billing_date(year, month0 + 1, billing_day)


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _step_days(interval: Interval) -> int:
    return 7 if interval is Interval.week else 1
