"""When to try a failed delivery again (pure rules, product.md §4).

After the first attempt fails, retries come about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
later, each with ±20 % jitter so that many failed messages do not retry in lock-step. A 429
or a timeout waits at least 60 s; a `Retry-After` is honoured between 60 s and 24 h. When the
schedule is spent the message has failed for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from assina.relay.schedule import RetrySchedule

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

WEBHOOK_RETRIES = RetrySchedule(
    DEFAULT_SCHEDULE,
    jitter=JITTER,
    slow_down_minimum=SLOW_DOWN_MINIMUM,
    retry_after_maximum=RETRY_AFTER_MAXIMUM,
)


def schedule_from_seconds(seconds: Sequence[int] | None) -> tuple[timedelta, ...]:
    """A tenant's stored schedule (seconds), or the default when it has none."""
    if seconds is None:
        return DEFAULT_SCHEDULE
    return tuple(timedelta(seconds=step) for step in seconds)


def schedule_in_seconds(schedule: Sequence[timedelta]) -> list[int]:
    return [int(step.total_seconds()) for step in schedule]
