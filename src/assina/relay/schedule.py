"""One retry schedule mechanism for every relay: the delay after the n-th failed attempt, from
steps given as data (each outbox keeps its own published numbers), with optional jitter, a
floor when the receiver asks to slow down, and a receiver's `Retry-After` honoured within
bounds. Pure rules: no I/O."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetrySchedule:
    steps: tuple[timedelta, ...]
    # ± this fraction of each step, so that many failed jobs do not retry in lock-step.
    jitter: float = 0.0
    # The least wait when the receiver is overloaded (a 429, a timeout) or names a delay.
    slow_down_minimum: timedelta = timedelta(0)
    # A receiver's `Retry-After` is honoured up to this; None: it is not honoured at all.
    retry_after_maximum: timedelta | None = None

    def delay(
        self,
        failed_attempts: int,
        *,
        slow_down: bool = False,
        retry_after: timedelta | None = None,
        rng: random.Random | None = None,
    ) -> timedelta | None:
        """How long to wait after the `failed_attempts`-th failure; None once the steps are
        spent (the job has failed for good)."""
        if failed_attempts < 1 or failed_attempts > len(self.steps):
            return None
        delay = self.steps[failed_attempts - 1]
        if self.jitter:
            delay = delay * (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        if slow_down:
            delay = max(delay, self.slow_down_minimum)
        if retry_after is not None and self.retry_after_maximum is not None:
            asked = min(max(retry_after, self.slow_down_minimum), self.retry_after_maximum)
            delay = max(delay, asked)
        return delay

    def with_steps(self, steps: Sequence[timedelta]) -> RetrySchedule:
        """The same rules over other steps (a tenant's own webhook schedule)."""
        steps = tuple(steps)
        return self if steps == self.steps else replace(self, steps=steps)


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
