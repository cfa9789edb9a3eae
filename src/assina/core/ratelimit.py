"""Rate limits as token buckets (docs/limits.md).

A bucket holds up to `burst` tokens and gains `per_second` tokens a second; each admitted
request takes one, and a request that finds less than one token is refused with a 429
problem. Time is the runtime clock's real time, so tests move it with a FrozenClock.

On PostgreSQL a bucket is a row of `rate_buckets`, taken by one atomic upsert run in
autocommit (no BEGIN/COMMIT of its own): processes taking the same bucket queue on the row's
lock, so no token is ever taken twice. On SQLite (one process) the buckets live in this
process's memory. Either way a refused take changes nothing, so a client that keeps
hammering is admitted again as soon as the bucket has refilled one token.

Every decision is noted on the request, and `RateLimitHeadersMiddleware` sends it back as the
`RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers (-10), on
successful answers as on refusals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Float, String, Table, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import ReturningInsert
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assina.core.clock import Clock
from assina.core.errors import Problem
from assina.db.base import Base, UTCDateTime

# The scope key under which a request's decisions wait for the middleware.
_SCOPE_KEY = "assina.rate_limits"
# SQLite keeps at most this many buckets in memory; past it, full ones are forgotten.
MAX_MEMORY_BUCKETS = 100_000


class RateBucket(Base):
    """One token bucket (PostgreSQL only; SQLite keeps them in memory)."""

    __tablename__ = "rate_buckets"

    # What the bucket limits: `<policy>:<subject id>`, e.g. `requests:key_…`.
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float(precision=53))
    # The instant `tokens` was last computed for.
    refilled_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Policy:
    """A limit: `burst` requests at once, refilled at `per_second`."""

    name: str
    burst: int
    per_second: float
    # What one token is, for the refusal's detail ("requests with this API key").
    unit: str

    @classmethod
    def per_hour(cls, name: str, count: int, unit: str) -> Policy:
        return cls(name, count, count / 3600, unit)

    @property
    def window_seconds(self) -> int:
        """How long an empty bucket takes to fill: the `w` of `RateLimit-Policy`."""
        return max(1, _ceil(self.burst / self.per_second))


@dataclass(frozen=True)
class Decision:
    policy: Policy
    admitted: bool
    # Tokens left once this request was counted (fractional: the bucket refills smoothly).
    tokens: float

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens))

    @property
    def reset_seconds(self) -> int:
        """Seconds until the bucket is full again: the `t` of `RateLimit`."""
        return max(0, _ceil((self.policy.burst - self.tokens) / self.policy.per_second))

    @property
    def retry_after_seconds(self) -> int:
        """Seconds until one token is back (at least 1)."""
        return max(1, _ceil((1 - self.tokens) / self.policy.per_second))


def _ceil(seconds: float) -> int:
    """Whole seconds, rounding up, but not for float noise (1199.9999999999998 is 1200)."""
    return math.ceil(round(seconds, 6))


def refill(tokens: float, refilled_at: datetime, now: datetime, policy: Policy) -> float:
    """The bucket's level at `now`. A clock reading earlier than `refilled_at` (another
    process's clock a little behind) adds nothing rather than taking away."""
    elapsed = max(0.0, (now - refilled_at).total_seconds())
    return min(float(policy.burst), tokens + elapsed * policy.per_second)


class Buckets(Protocol):
    async def take(self, name: str, policy: Policy, now: datetime) -> Decision:
        """Take one token from the bucket `name` if it has one."""
        ...


class MemoryBuckets:
    """The buckets of a single process (SQLite)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, datetime, Policy]] = {}

    async def take(self, name: str, policy: Policy, now: datetime) -> Decision:
        tokens, refilled_at, _ = self._buckets.get(name, (float(policy.burst), now, policy))
        level = refill(tokens, refilled_at, now, policy)
        if level < 1:
            return Decision(policy, admitted=False, tokens=level)
        if len(self._buckets) >= MAX_MEMORY_BUCKETS:
            self._forget_full(now)
        self._buckets[name] = (level - 1, max(now, refilled_at), policy)
        return Decision(policy, admitted=True, tokens=level - 1)

    def _forget_full(self, now: datetime) -> None:
        # A full bucket is the same as no bucket: forgetting it loses nothing.
        for name, (tokens, at, policy) in list(self._buckets.items()):
            if refill(tokens, at, now, policy) >= policy.burst:
                del self._buckets[name]


class PostgresBuckets:
    """Buckets shared by every process on one PostgreSQL database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def take(self, name: str, policy: Policy, now: datetime) -> Decision:
        async with self._engine.connect() as connection:
            taken = (await connection.execute(_take_statement(name, policy, now))).first()
            if taken is not None:
                return Decision(policy, admitted=True, tokens=float(taken[0]))
            # Refused: the upsert's WHERE left the row as it was; read it for Retry-After.
            table = _bucket_table()
            row = (
                await connection.execute(
                    select(table.c.tokens, table.c.refilled_at).where(table.c.name == name)
                )
            ).one()
        level = refill(float(row[0]), row[1], now, policy)
        return Decision(policy, admitted=False, tokens=level)


def _bucket_table() -> Table:
    return cast(Table, RateBucket.__table__)


def _take_statement(name: str, policy: Policy, now: datetime) -> ReturningInsert[Any]:
    """One statement: a new bucket starts full less this request; an existing one is refilled
    for the time elapsed and gives a token only if it then holds one (else no row returns)."""
    table = _bucket_table()
    at = literal(now, UTCDateTime())
    elapsed = func.greatest(0.0, func.extract("epoch", at - table.c.refilled_at).cast(Float))
    level = func.least(float(policy.burst), table.c.tokens + elapsed * policy.per_second)
    return (
        postgresql.insert(table)
        .values(name=name, tokens=float(policy.burst - 1), refilled_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.name],
            set_={"tokens": level - 1, "refilled_at": func.greatest(at, table.c.refilled_at)},
            where=level >= 1,
        )
        .returning(table.c.tokens)
    )


@dataclass(frozen=True)
class Limits:
    """Every limit of the running server (from Settings; docs/limits.md)."""

    # Requests per API key; None when turned off.
    requests: Policy | None
    # Manual retries (`POST /v1/messages/{id}/retry`) per webhook endpoint.
    message_retries: Policy
    # Recovers (`POST /v1/webhook-endpoints/{id}/recover`) per webhook endpoint.
    endpoint_recovers: Policy
    # Webhook endpoints per tenant (a count, refused with 409, not a rate).
    max_webhook_endpoints: int


class RateLimiter:
    """Admits a request against a policy's bucket for one subject, or refuses it (429)."""

    def __init__(self, buckets: Buckets, clock: Clock) -> None:
        self._buckets = buckets
        self._clock = clock

    @classmethod
    def for_engine(cls, engine: AsyncEngine, clock: Clock) -> RateLimiter:
        if engine.dialect.name == "postgresql":
            return cls(PostgresBuckets(engine), clock)
        return cls(MemoryBuckets(), clock)

    async def admit(self, scope: Scope, policy: Policy, subject: str) -> None:
        """Take a token for `subject` (an API key's or endpoint's id), or raise the 429."""
        name = f"{policy.name}:{subject}"
        decision = await self._buckets.take(name, policy, self._clock.real_now())
        note_decision(scope, decision)
        if not decision.admitted:
            raise too_many_requests(decision)


def too_many_requests(decision: Decision) -> Problem:
    policy = decision.policy
    seconds = decision.retry_after_seconds
    return Problem(
        429,
        "rate-limited",
        f"Over the limit of {policy.burst} {policy.unit} per {policy.window_seconds} s "
        f"(policy {policy.name!r}); retry in {seconds} s.",
        "Too Many Requests",
        headers={"Retry-After": str(seconds), **rate_limit_headers([decision])},
    )


def rate_limit_headers(decisions: list[Decision]) -> dict[str, str]:
    """`RateLimit-Policy` and `RateLimit` (structured-field lists, one member per policy)."""
    policies = ", ".join(
        f'"{d.policy.name}";q={d.policy.burst};w={d.policy.window_seconds}' for d in decisions
    )
    states = ", ".join(f'"{d.policy.name}";r={d.remaining};t={d.reset_seconds}' for d in decisions)
    return {"RateLimit-Policy": policies, "RateLimit": states}


def note_decision(scope: Scope, decision: Decision) -> None:
    """Remember a decision for the answer's headers (a scope without the middleware's list,
    e.g. a test calling a route function directly, keeps none)."""
    decisions = scope.get(_SCOPE_KEY)
    if isinstance(decisions, list):
        decisions.append(decision)


class RateLimitHeadersMiddleware:
    """Adds the headers of every decision taken while answering the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decisions: list[Decision] = []
        scope[_SCOPE_KEY] = decisions

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and decisions:
                headers = MutableHeaders(scope=message)
                for name, value in rate_limit_headers(decisions).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
