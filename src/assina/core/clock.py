"""Time for the business rules: every service takes a `Clock` instead of reading the wall clock.

A clock tells two times. `now()` is the business time: what the tenant's objects are stamped
with and what its calendar runs by. `real_now()` is when things really happen: when a webhook
or an e-mail is due to go out, when an idempotency key expires. They are the same instant but
for a sandbox tenant, whose test clock can be advanced (`ShiftedClock`) while what it sends
still goes out at once, in real time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The business instant, timezone-aware in UTC."""
        ...

    def real_now(self) -> datetime:
        """The real instant, timezone-aware in UTC: when what is written now is due to be
        sent."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to: for tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def real_now(self) -> datetime:
        # Not through now(): tests that count readings of now() see the same count.
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = instant.astimezone(UTC)


class ShiftedClock:
    """Business time `offset` ahead of a base clock, real time the base's: a sandbox
    tenant's test clock (its offset is stored with the tenant and only grows)."""

    def __init__(self, base: Clock, offset: timedelta) -> None:
        self.base = base
        self.offset = offset

    def now(self) -> datetime:
        return self.base.now() + self.offset

    def real_now(self) -> datetime:
        return self.base.real_now()
