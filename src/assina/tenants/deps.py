"""What every request needs: the runtime (database, clock, secrets) and the calling tenant.

It lives in tenants/ because it admits a request by its tenant's API key (auth.py): every
router, the tenants' own included, takes its caller from here, and tenants/ imports nothing
above it (pyproject.toml's layers contract)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from assina.config import Settings
from assina.core.clock import Clock, ShiftedClock
from assina.core.errors import Problem
from assina.core.http import problem_response
from assina.core.idempotency import (
    LongUseCase,
    UseCase,
    idempotency_key,
    respond_once,
    respond_once_in_steps,
)
from assina.core.ratelimit import Limits, Policy, RateLimiter, too_many_requests
from assina.core.secrets import SecretBox
from assina.core.turns import Turns
from assina.db.database import Database
from assina.tenants.auth import ApiKeyAuthenticator
from assina.tenants.service import TenantContext, clock_offset

Moved = TypeVar("Moved")


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    clock: Clock
    secret_box: SecretBox
    authenticator: ApiKeyAuthenticator
    limits: Limits
    rate_limiter: RateLimiter
    key_turns: Turns

    async def admit_manual_delivery(
        self, request: Request, policy: Policy, endpoint_id: str
    ) -> None:
        """Count a manual retry or recover against the endpoint's hourly limit (429 past it)."""
        await self.rate_limiter.admit(request.scope, policy, endpoint_id)


@dataclass(frozen=True)
class Caller:
    """A request authenticated as one tenant, with what its use cases need."""

    tenant: TenantContext
    database: Database
    clock: Clock

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id


@dataclass(frozen=True)
class IdempotentCaller(Caller):
    """A caller on a route that honours `Idempotency-Key`. Only this caller can `respond_once`,
    and taking it declares the header in the route's OpenAPI operation, so a route cannot
    honour the key without documenting it."""

    secret_box: SecretBox
    idempotency_key: str | None = None

    async def respond_once_in_steps(
        self,
        request: Request,
        status_code: int,
        use_case: LongUseCase,
        *,
        secret_body: bool = False,
    ) -> JSONResponse:
        """A POST's use case that commits many transactions, honouring `Idempotency-Key`
        (`secret_body`: the body holds a card's number, so its fingerprint is keyed)."""
        return await respond_once_in_steps(
            request,
            self.database,
            self.clock,
            self.secret_box,
            self.tenant_id,
            self.idempotency_key,
            status_code,
            use_case,
            secret_body=secret_body,
        )

    async def respond_once(
        self, request: Request, status_code: int, use_case: UseCase
    ) -> JSONResponse:
        """A POST's use case in one write transaction, honouring `Idempotency-Key`."""
        return await respond_once(
            request,
            self.database,
            self.clock,
            self.secret_box,
            self.tenant_id,
            self.idempotency_key,
            status_code,
            use_case,
        )

    async def respond_to_move(
        self,
        request: Request,
        object_id: str,
        move: Callable[[AsyncSession, Clock, str, str], Awaitable[Moved]],
        shown: Callable[[Moved], BaseModel],
    ) -> JSONResponse:
        """A POST that moves one object of the tenant (`move(session, clock, tenant_id,
        object_id)`, e.g. settle a charge, fulfil an order) and answers it as `shown`."""

        async def use_case(session: AsyncSession) -> dict[str, object]:
            moved = await move(session, self.clock, self.tenant_id, object_id)
            answer: dict[str, object] = shown(moved).model_dump(mode="json")
            return answer

        return await self.respond_once(request, 200, use_case)


async def get_runtime(request: Request) -> Runtime:
    # async, as every dependency here: FastAPI runs a plain `def` one in a worker thread.
    runtime: Runtime = request.app.state.runtime
    return runtime


_bearer = HTTPBearer(auto_error=False, description="API key of one tenant: `Bearer sk_…`")


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        detail,
        "Unauthorized",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_caller(
    request: Request,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AsyncIterator[Caller]:
    """The tenant behind the API key, once the key's rate limit admits the request; the
    request then runs in the key's turn (`Turns`) until its answer is sent."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("Send the API key as `Authorization: Bearer <key>`.")
    key = await runtime.authenticator.key_for(credentials.credentials)
    if key is None:
        raise _unauthorized("The API key is not valid.")
    if runtime.limits.requests is not None:
        # Before anything else is read: a refused request costs one statement, or none.
        await runtime.rate_limiter.admit(request.scope, runtime.limits.requests, key.key_id)
    async with runtime.key_turns.turn(key.key_id):
        clock = await tenant_clock(runtime, key.tenant)
        yield Caller(tenant=key.tenant, database=runtime.database, clock=clock)


async def tenant_clock(runtime: Runtime, tenant: TenantContext) -> Clock:
    """The clock the tenant's use cases run by: real time, or a sandbox's test clock."""
    if not tenant.sandbox:
        return runtime.clock
    async with runtime.database.read() as session:
        offset = await clock_offset(session, tenant.tenant_id)
    return ShiftedClock(runtime.clock, offset)


CallerDep = Annotated[Caller, Depends(require_caller)]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_idempotent_caller(
    caller: CallerDep,
    key: Annotated[str | None, Depends(idempotency_key)],
    runtime: RuntimeDep,
) -> IdempotentCaller:
    """The caller first (401 before 400), then its `Idempotency-Key`."""
    return IdempotentCaller(
        tenant=caller.tenant,
        database=caller.database,
        clock=caller.clock,
        secret_box=runtime.secret_box,
        idempotency_key=key,
    )


IdempotentCallerDep = Annotated[IdempotentCaller, Depends(require_idempotent_caller)]


class EarlyRefusalMiddleware:
    """Refuses a key this process knows to be over its rate limit before anything else runs
    (routing, dependencies, reading the body): a flood's 429s then cost the least a request
    can, which leaves the process's time to other tenants (docs/limits.md). A key not in the
    authentication cache, or not known refused, goes on to `require_caller` as usual."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        # The key was told to retry later and sent anyway: its answer waits, so that a client
        # looping on 429s over many connections cannot keep the event loop busy with them.
        # Jittered, so that a flood's connections do not all come back at the same moment.
        hold = self.runtime.settings.api_refusal_hold_seconds
        await asyncio.sleep(hold * random.uniform(0.5, 1.0))  # noqa: S311 (not a secret)
        await problem_response(refusal)(scope, receive, send)

    def _refusal(self, scope: Scope) -> Problem | None:
        # Only the API is limited: /healthz, /readyz and /metrics answer whatever the caller
        # sends along (a probe may carry an exhausted key's Authorization).
        if not str(scope.get("path", "")).startswith("/v1/"):
            return None
        policy = self.runtime.limits.requests
        api_key = _bearer_token(scope)
        if policy is None or api_key is None:
            return None
        key = self.runtime.authenticator.cached_key(api_key)
        if key is None:
            return None
        decision = self.runtime.rate_limiter.known_refusal(policy, key.key_id)
        return None if decision is None else too_many_requests(decision)


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None
