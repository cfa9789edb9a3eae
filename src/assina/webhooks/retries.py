"""When to try a failed delivery again (pure rules, product.md §4).

After the first attempt fails, retries come about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
later, each with ±20 % jitter so that many failed messages do not retry in lock-step. A 429
or a timeout waits at least 60 s; a `Retry-After` is honoured between 60 s and 24 h. When the
schedule is spent the message has failed for good.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_SCHEDULE_STEPS = 20
MAX_STEP = timedelta(days=7)
JITTER = 0.2
SLOW_DOWN_MINIMUM = timedelta(seconds=60)
RETRY_AFTER_MAXIMUM = timedelta(hours=24)


def retry_delay(
    failed_attempts: int,
    *,
    slow_down: bool = False,
    retry_after: timedelta | None = None,
    schedule: Sequence[timedelta] = DEFAULT_SCHEDULE,
    rng: random.Random | None = None,
) -> timedelta | None:
    """How long to wait after the `failed_attempts`-th failure; None once the schedule is spent.

    `slow_down` is for a 429 or a timeout: the receiver is overloaded, so wait at least 60 s.
    """
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    base = schedule[failed_attempts - 1]
    jitter = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    delay = base * jitter
    if slow_down:
        delay = max(delay, SLOW_DOWN_MINIMUM)
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, SLOW_DOWN_MINIMUM), RETRY_AFTER_MAXIMUM))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header: seconds, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value[:9]))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


def schedule_from_seconds(seconds: Sequence[int] | None) -> tuple[timedelta, ...]:
    """A tenant's stored schedule (seconds), or the default when it has none."""
    if seconds is None:
        return DEFAULT_SCHEDULE
    return tuple(timedelta(seconds=step) for step in seconds)


def schedule_in_seconds(schedule: Sequence[timedelta]) -> list[int]:
    return [int(step.total_seconds()) for step in schedule]
