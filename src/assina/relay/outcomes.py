"""What an adapter reports of one attempt, typed (as Svix's `CompletedDispatch`): delivered,
retry later (why, and the receiver's `Retry-After` when it gave one), or failed for good. The
kernel turns it, with the job's retry schedule, into where the job goes next."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from assina.relay.schedule import RetrySchedule


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class RetryLater:
    reason: str
    retry_after: timedelta | None = None
    # The receiver is overloaded (a 429, a timeout): the schedule's floor applies.
    slow_down: bool = False


@dataclass(frozen=True)
class FailedForGood:
    reason: str


Verdict = Delivered | RetryLater | FailedForGood


@dataclass(frozen=True)
class Attempted:
    """One attempt of one job, as the kernel records it."""

    job_id: str
    attempts_before: int
    verdict: Verdict
    schedule: RetrySchedule


class Next(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Settlement:
    job_id: str
    next: Next
    retry_at: datetime | None = None
    error: str | None = None


def settle(attempted: Attempted, now: datetime, rng: random.Random) -> Settlement:
    """Where the attempt leaves its job: a retry once the schedule is spent is a failure."""
    verdict = attempted.verdict
    if isinstance(verdict, Delivered):
        return Settlement(attempted.job_id, Next.DELIVERED)
    if isinstance(verdict, FailedForGood):
        return Settlement(attempted.job_id, Next.FAILED, error=verdict.reason)
    delay = attempted.schedule.delay(
        attempted.attempts_before + 1,
        slow_down=verdict.slow_down,
        retry_after=verdict.retry_after,
        rng=rng,
    )
    if delay is None:
        return Settlement(attempted.job_id, Next.FAILED, error=verdict.reason)
    return Settlement(attempted.job_id, Next.RETRY, now + delay, verdict.reason)
