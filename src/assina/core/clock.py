"""Time for the business rules: every service takes a `Clock` instead of reading the wall clock.

A clock tells two times. `now()` is the business time: what the tenant's objects are stamped
with and what its calendar runs by. `real_now()` is when things really happen: when a webhook
or an e-mail is due to go out, when an idempotency key expires. They are the same instant but
for a sandbox tenant, whose test clock can be advanced (`ShiftedClock`) while what it sends
still goes out at once, in real time.

A tenant's rules are written in calendar dates of its time zone: `local_date` is the one place
an instant becomes such a date, `local_instant` the way back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


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


def _zone(time_zone: str | tzinfo) -> tzinfo:
    return ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone


def local_date(instant: datetime, time_zone: str | tzinfo) -> date:
    """The date `instant` falls on in `time_zone` (an IANA name such as the tenant's
    `time_zone`, or a zone): the date a tenant's rules, charges and notices speak of."""
    return instant.astimezone(_zone(time_zone)).date()


def local_instant(day: date, time_zone: str | tzinfo, at: time = time(0)) -> datetime:
    """The instant the wall clocks of `time_zone` read `at` on `day` (by default the day's
    start): where a local day begins, or a pass for that day is dated."""
    return datetime.combine(day, at, _zone(time_zone))
