"""The relay kernel's retry schedule and loop, as data: each outbox gives its own steps."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.relay.loop import keep_running
from assina.relay.schedule import RetrySchedule
from assina.webhooks.retries import WEBHOOK_RETRIES

PLAIN = RetrySchedule((timedelta(minutes=1), timedelta(minutes=5)))


def test_without_jitter_each_step_is_exact_and_the_schedule_ends() -> None:
    assert [PLAIN.delay(n) for n in range(0, 4)] == [None, *PLAIN.steps, None]


def test_a_schedule_without_a_retry_after_bound_ignores_it() -> None:
    assert PLAIN.delay(1, retry_after=timedelta(hours=1), slow_down=True) == timedelta(minutes=1)


@given(failed=st.integers(1, 7), seed=st.integers(0, 2**32))
def test_jitter_stays_within_its_fraction(failed: int, seed: int) -> None:
    delay = WEBHOOK_RETRIES.delay(failed, rng=random.Random(seed))
    base = WEBHOOK_RETRIES.steps[failed - 1]
    assert delay is not None and base * 0.8 <= delay <= base * 1.2


def test_a_receivers_retry_after_is_bounded() -> None:
    rng = random.Random(1)
    assert WEBHOOK_RETRIES.delay(1, retry_after=timedelta(seconds=1), rng=rng) == timedelta(
        seconds=60
    )
    assert WEBHOOK_RETRIES.delay(1, retry_after=timedelta(days=3), rng=rng) == timedelta(hours=24)


def test_other_steps_keep_the_rules() -> None:
    tenant = WEBHOOK_RETRIES.with_steps([timedelta(seconds=10)])
    assert tenant.jitter == WEBHOOK_RETRIES.jitter and tenant.steps == (timedelta(seconds=10),)
    assert WEBHOOK_RETRIES.with_steps(WEBHOOK_RETRIES.steps) is WEBHOOK_RETRIES
    assert tenant.delay(2) is None


async def test_the_loop_survives_a_failed_step_and_ends_on_a_fatal_one() -> None:
    stop = asyncio.Event()
    steps: list[str] = []
    idles: list[int] = []

    async def step() -> bool:
        steps.append("step")
        if len(steps) == 1:
            raise RuntimeError("one bad pass")
        if len(steps) == 2:
            return True  # more to do: no idle before the next step
        raise KeyError("fatal")

    async def idle() -> None:
        idles.append(len(steps))

    with pytest.raises(KeyError):
        await keep_running(stop, step, idle, "test pass", fatal=(KeyError,))
    assert steps == ["step"] * 3 and idles == [1]
