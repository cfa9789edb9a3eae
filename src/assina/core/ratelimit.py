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
from typing import Protocol

from sqlalchemy import Float, String
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assina.core.clock import Clock
from assina.core.errors import Problem
from assina.core.turns import Turns
from assina.db.base import Base, UTCDateTime
from assina.db.dialect import holds_rate_buckets

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
    """Buckets shared by every process on one PostgreSQL database.

    The statements are sent as written (`exec_driver_sql`), outside any transaction
    (autocommit): through SQLAlchemy's compiler and ORM-style results one take cost 1.8 ms of
    CPU, this way about 0.7 ms (docs/performance.md). Still through SQLAlchemy's connection,
    so that a lost database connection is recognised as such (a 503, not a 500) and
    invalidated."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def take(self, name: str, policy: Policy, now: datetime) -> Decision:
        parameters = (name, float(policy.burst), float(policy.per_second), now)
        async with self._engine.connect() as connection:
            taken = (await connection.exec_driver_sql(_TAKE, parameters)).first()
            if taken is not None:
                return Decision(policy, admitted=True, tokens=float(taken[0]))
            # Refused: the upsert's WHERE left the row as it was; read it for Retry-After.
            row = (await connection.exec_driver_sql(_READ, (name,))).mappings().one()
        level = refill(float(row["tokens"]), row["refilled_at"], now, policy)
        return Decision(policy, admitted=False, tokens=level)


# $1 the bucket's name, $2 the burst, $3 tokens a second, $4 now. A new bucket starts full
# less this request; an existing one is refilled for the time elapsed (none if `now` is
# before its last refill: another process's clock a little behind) and gives a token only if
# it then holds one; else the WHERE leaves it as it was and no row returns.
_TAKE = """
INSERT INTO rate_buckets AS b (name, tokens, refilled_at)
VALUES ($1, $2::float8 - 1, $4::timestamptz)
ON CONFLICT (name) DO UPDATE
SET tokens = least($2::float8, b.tokens
    + greatest(0, extract(epoch FROM $4::timestamptz - b.refilled_at)::float8) * $3::float8) - 1,
  refilled_at = greatest($4::timestamptz, b.refilled_at)
WHERE least($2::float8, b.tokens
    + greatest(0, extract(epoch FROM $4::timestamptz - b.refilled_at)::float8) * $3::float8) >= 1
RETURNING tokens
"""
_READ = "SELECT tokens, refilled_at FROM rate_buckets WHERE name = $1"


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
    """Admits a request against a policy's bucket for one subject, or refuses it (429).

    A refusal is remembered in this process until the bucket's level, as read then, has
    refilled to one token: other processes can only take tokens from it meanwhile, so until
    then the shared bucket would refuse too. A flood from one key is thus refused without a
    statement per request, while its first refusal still came from the shared bucket."""

    def __init__(self, buckets: Buckets, clock: Clock) -> None:
        self._buckets = buckets
        self._clock = clock
        self._refused: dict[str, tuple[Decision, datetime]] = {}
        self._takes = Turns(1)

    @classmethod
    def for_engine(cls, engine: AsyncEngine, clock: Clock) -> RateLimiter:
        if holds_rate_buckets(engine):
            return cls(PostgresBuckets(engine), clock)
        return cls(MemoryBuckets(), clock)

    async def admit(self, scope: Scope, policy: Policy, subject: str) -> None:
        """Take a token for `subject` (an API key's or endpoint's id), or raise the 429."""
        name = f"{policy.name}:{subject}"
        # One take per bucket at a time in this process: a burst's requests would otherwise
        # all wait on the bucket's row lock at once, each holding a pooled connection that
        # other tenants' requests need; in line, the first refusal answers the rest.
        async with self._takes.turn(name):
            now = self._clock.real_now()
            decision = self._still_refused(name, policy, now)
            if decision is None:
                decision = await self._buckets.take(name, policy, now)
                if not decision.admitted:
                    self._remember_refusal(name, decision, now)
        note_decision(scope, decision)
        if not decision.admitted:
            raise too_many_requests(decision)

    def known_refusal(self, policy: Policy, subject: str) -> Decision | None:
        """The refusal this process remembers for `subject`, if it still holds: what `admit`
        would answer, without a statement and without raising."""
        return self._still_refused(f"{policy.name}:{subject}", policy, self._clock.real_now())

    def _still_refused(self, name: str, policy: Policy, now: datetime) -> Decision | None:
        held = self._refused.get(name)
        if held is None:
            return None
        refused, at = held
        level = refill(refused.tokens, at, now, policy)
        if level >= 1 or now < at or refused.policy != policy:
            del self._refused[name]
            return None
        return Decision(policy, admitted=False, tokens=level)

    def _remember_refusal(self, name: str, decision: Decision, now: datetime) -> None:
        if len(self._refused) >= MAX_MEMORY_BUCKETS:
            self._refused.clear()  # forgetting costs a statement, never a wrong answer
        self._refused[name] = (decision, now)


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
