"""The token bucket's arithmetic and the RateLimit fields it answers with."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from assina.core.clock import FrozenClock
from assina.core.errors import Problem
from assina.core.ratelimit import (
    Decision,
    MemoryBuckets,
    Policy,
    RateLimiter,
    rate_limit_headers,
    refill,
)
from assina.core.turns import Turns

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
REQUESTS = Policy("requests", burst=10, per_second=5, unit="requests")


def test_refill_adds_the_elapsed_time_up_to_the_burst() -> None:
    assert refill(0, NOW, NOW + timedelta(seconds=1), REQUESTS) == 5
    assert refill(3, NOW, NOW + timedelta(minutes=1), REQUESTS) == 10


def test_a_clock_reading_before_the_last_refill_adds_nothing() -> None:
    assert refill(2, NOW, NOW - timedelta(seconds=30), REQUESTS) == 2


def test_the_window_is_how_long_an_empty_bucket_takes_to_fill() -> None:
    assert REQUESTS.window_seconds == 2
    assert Policy.per_hour("retries", 100, "retries").window_seconds == 3600
    assert Policy("fast", burst=1, per_second=1000, unit="x").window_seconds == 1


def test_retry_after_is_the_wait_for_one_token_at_least_a_second() -> None:
    assert Decision(REQUESTS, admitted=False, tokens=0).retry_after_seconds == 1
    hourly = Policy.per_hour("retries", 3, "retries")
    assert Decision(hourly, admitted=False, tokens=0).retry_after_seconds == 1200
    assert Decision(hourly, admitted=False, tokens=0.5).retry_after_seconds == 600


def test_headers_list_every_policy_counted() -> None:
    hourly = Policy.per_hour("retries", 3, "retries")
    headers = rate_limit_headers([Decision(REQUESTS, True, 7.6), Decision(hourly, True, 2)])
    assert headers == {
        "RateLimit-Policy": '"requests";q=10;w=2, "retries";q=3;w=3600',
        "RateLimit": '"requests";r=7;t=1, "retries";r=2;t=1200',
    }


async def test_memory_buckets_refuse_without_taking_and_refill_with_time() -> None:
    buckets = MemoryBuckets()
    taken = [(await buckets.take("requests:k", REQUESTS, NOW)).admitted for _ in range(11)]
    assert taken == [True] * 10 + [False]
    refused = await buckets.take("requests:k", REQUESTS, NOW + timedelta(seconds=0.1))
    assert not refused.admitted and refused.tokens == 0.5
    assert (await buckets.take("requests:k", REQUESTS, NOW + timedelta(seconds=0.2))).admitted
    assert (await buckets.take("requests:other", REQUESTS, NOW)).tokens == 9


class CountingBuckets(MemoryBuckets):
    """Memory buckets that count their takes, and take a loop pass each (as a statement
    would) while noting how many of them run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.takes = 0
        self.running = 0
        self.most_at_once = 0

    async def take(self, name: str, policy: Policy, now: datetime) -> Decision:
        self.takes += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(0)
        self.running -= 1
        return await super().take(name, policy, now)


async def test_a_refused_bucket_is_not_asked_again_until_it_holds_a_token() -> None:
    clock = FrozenClock(NOW)
    buckets = CountingBuckets()
    limiter = RateLimiter(buckets, clock)
    scope: dict[str, object] = {}
    for _ in range(10):
        await limiter.admit(scope, REQUESTS, "key_a")
    for _ in range(5):
        with pytest.raises(Problem) as refused:
            await limiter.admit(scope, REQUESTS, "key_a")
        assert refused.value.status == 429
    assert buckets.takes == 11  # the first refusal asked the bucket, the next four did not

    clock.advance(timedelta(seconds=0.1))  # half a token: still refused, still not asked
    with pytest.raises(Problem) as refused:
        await limiter.admit(scope, REQUESTS, "key_a")
    assert refused.value.headers["Retry-After"] == "1"
    assert buckets.takes == 11

    clock.advance(timedelta(seconds=0.1))  # one token back: the bucket decides again
    await limiter.admit(scope, REQUESTS, "key_a")
    assert buckets.takes == 12


async def test_a_key_runs_at_most_its_slots_at_once_and_the_others_wait() -> None:
    turns = Turns(slots=2)
    running: list[str] = []
    most = 0
    release = asyncio.Event()

    async def request(key: str) -> None:
        nonlocal most
        async with turns.turn(key):
            running.append(key)
            most = max(most, running.count("key_a"))
            await release.wait()
            running.remove(key)

    tasks = [asyncio.create_task(request("key_a")) for _ in range(5)]
    other = asyncio.create_task(request("key_b"))
    for _ in range(20):  # let every task run up to its turn: loop passes, no waiting
        await asyncio.sleep(0)
    assert running.count("key_a") == 2 and "key_b" in running  # another key never waits
    release.set()
    await asyncio.gather(*tasks, other)
    assert most == 2
    assert turns._lines == {}  # idle keys keep nothing


async def test_a_burst_of_one_key_takes_its_bucket_one_at_a_time() -> None:
    """Taken at once, a burst's requests would each hold a pooled connection waiting on the
    bucket's row; in line, the first refusal answers the rest without a statement."""
    buckets = CountingBuckets()
    limiter = RateLimiter(buckets, FrozenClock(NOW))

    async def one() -> bool:
        try:
            await limiter.admit({}, REQUESTS, "key_a")
        except Problem:
            return False
        return True

    admitted = await asyncio.gather(*(one() for _ in range(30)))
    assert admitted.count(True) == 10
    assert buckets.most_at_once == 1
    assert buckets.takes == 11  # ten tokens, one refusal; the other nineteen were not asked
