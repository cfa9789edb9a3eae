"""The retry schedule: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h with ±20 % jitter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.relay.schedule import parse_retry_after
from assina.webhooks.retries import DEFAULT_SCHEDULE, WEBHOOK_RETRIES

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@given(failed=st.integers(1, len(DEFAULT_SCHEDULE)), seed=st.integers(0, 2**32))
def test_each_retry_is_its_step_within_20_percent(failed: int, seed: int) -> None:
    delay = WEBHOOK_RETRIES.delay(failed, rng=random.Random(seed))
    base = DEFAULT_SCHEDULE[failed - 1]
    assert delay is not None
    assert base * 0.8 <= delay <= base * 1.2


def test_the_schedule_is_the_documented_one() -> None:
    assert [step.total_seconds() for step in DEFAULT_SCHEDULE] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    ]


@pytest.mark.parametrize("failed", [0, len(DEFAULT_SCHEDULE) + 1, 100])
def test_outside_the_schedule_there_is_no_retry(failed: int) -> None:
    assert WEBHOOK_RETRIES.delay(failed) is None


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    delays = {WEBHOOK_RETRIES.delay(3, rng=rng) for _ in range(20)}
    assert len(delays) > 1


@given(seed=st.integers(0, 2**32))
def test_slow_down_waits_at_least_a_minute(seed: int) -> None:
    delay = WEBHOOK_RETRIES.delay(1, slow_down=True, rng=random.Random(seed))
    assert delay is not None and delay >= timedelta(seconds=60)


@pytest.mark.parametrize(
    ("retry_after", "at_least", "at_most"),
    [
        (timedelta(seconds=1), timedelta(seconds=60), timedelta(seconds=60)),
        (timedelta(seconds=600), timedelta(seconds=600), timedelta(seconds=600)),
        (timedelta(days=9), timedelta(hours=24), timedelta(hours=24)),
    ],
)
def test_retry_after_is_honoured_within_bounds(
    retry_after: timedelta, at_least: timedelta, at_most: timedelta
) -> None:
    delay = WEBHOOK_RETRIES.delay(1, retry_after=retry_after, rng=random.Random(1))
    assert delay is not None and at_least <= delay <= at_most


def test_a_long_step_is_not_shortened_by_a_short_retry_after() -> None:
    delay = WEBHOOK_RETRIES.delay(4, retry_after=timedelta(seconds=90), rng=random.Random(1))
    assert delay is not None and delay >= timedelta(hours=2) * 0.8


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("Sun, 01 Mar 2026 12:05:00 GMT", timedelta(minutes=5)),
        ("Sun, 01 Mar 2026 11:00:00 GMT", timedelta(0)),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(value, NOW) == expected
