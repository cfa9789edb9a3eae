"""Who is using the console: the session cookie, the CSRF token of every form and htmx
request, and what each role may do (docs/console.md).

A page takes `ConsoleCallerDep`; an action that changes something takes `ChangerDep` (not a
viewer) or `AdministratorDep` (webhooks, API keys, users). Signed out, a page redirects to the
sign-in page (an htmx request is told so by `HX-Redirect`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from assina.console.forms import read_form
from assina.console.i18n import LANGUAGE_COOKIE, locale_of
from assina.console.web import PageFrame
from assina.core.clock import Clock, local_date
from assina.core.errors import Problem
from assina.tenants.deps import Runtime, RuntimeDep, tenant_clock
from assina.tenants.models import Tenant
from assina.tenants.service import TenantContext
from assina.users.models import ConsoleRole
from assina.users.sessions import find_session, note_seen, seen_long_ago

SESSION_COOKIE = "assina_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No valid session: the page sends the person to sign in, then back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    def location(self) -> str:
        return f"/console/login?next={quote(self.next_path, safe='/')}"


def forbidden() -> Problem:
    return Problem(403, "forbidden", "Your role does not allow this action.", "Forbidden")


@dataclass(frozen=True)
class ConsoleCaller:
    """A signed-in person: their tenant, role and session, and what the services need."""

    runtime: Runtime
    tenant: TenantContext
    tenant_name: str
    clock: Clock
    user_id: str
    email: str
    role: ConsoleRole
    csrf_token: str
    frame: PageFrame

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def can_change(self) -> bool:
        return self.role != ConsoleRole.VIEWER

    @property
    def can_administer(self) -> bool:
        return self.role == ConsoleRole.ADMIN

    def today(self) -> date:
        return local_date(self.clock.now(), self.tenant.time_zone)

    def now(self) -> datetime:
        return self.clock.now()


async def require_console_caller(request: Request, runtime: RuntimeDep) -> ConsoleCaller:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired(_return_path(request))
    async with runtime.database.read() as session:
        found = await find_session(session, runtime.clock, token)
        tenant = await session.get(Tenant, found[1].tenant_id) if found else None
        if found is None or tenant is None:
            raise SignInRequired(_return_path(request))
        console_session, user = found
        # The rows are read whole here: the read transaction's end expires them.
        session_id, csrf_token, stale = (
            console_session.id,
            console_session.csrf_token,
            seen_long_ago(console_session, runtime.clock),
        )
        user_id, email, role = user.id, user.email, ConsoleRole(user.role)
        context = TenantContext(tenant.id, tenant.time_zone, tenant.mode)
        tenant_name = tenant.name
    if stale:  # a write once a minute, not one per page
        async with runtime.database.write() as session:
            await note_seen(session, runtime.clock, session_id)
    if request.method not in _SAFE_METHODS:
        await _check_csrf(request, csrf_token)
    clock = await tenant_clock(runtime, context)
    frame = PageFrame(
        locale=locale_of(request.cookies.get(LANGUAGE_COOKIE)),
        time_zone=context.time_zone,
        user_email=email,
        user_role=role.value,
        tenant_name=tenant_name,
        csrf_token=csrf_token,
        sandbox_now=clock.now() if context.sandbox else None,
        can_change=role != ConsoleRole.VIEWER,
        can_administer=role == ConsoleRole.ADMIN,
        path=request.url.path,
    )
    return ConsoleCaller(
        runtime=runtime,
        tenant=context,
        tenant_name=tenant_name,
        clock=clock,
        user_id=user_id,
        email=email,
        role=role,
        csrf_token=csrf_token,
        frame=frame,
    )


async def _check_csrf(request: Request, expected: str) -> None:
    """Every request that changes something carries the session's token: htmx in a header
    (set on <body>), a plain form in a hidden field."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        sent = (await read_form(request)).get(CSRF_FIELD)
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Problem(403, "csrf-token-invalid", "The form has expired; reload the page.")


def _return_path(request: Request) -> str:
    # Only a page is worth coming back to; after a refused action, the page it came from.
    if request.method in _SAFE_METHODS:
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/console"


ConsoleCallerDep = Annotated[ConsoleCaller, Depends(require_console_caller)]


async def require_changer(caller: ConsoleCallerDep) -> ConsoleCaller:
    """Anyone but a viewer."""
    if not caller.can_change:
        raise forbidden()
    return caller


async def require_administrator(caller: ConsoleCallerDep) -> ConsoleCaller:
    """An admin: webhooks, API keys and users are theirs alone."""
    if not caller.can_administer:
        raise forbidden()
    return caller


ChangerDep = Annotated[ConsoleCaller, Depends(require_changer)]
AdministratorDep = Annotated[ConsoleCaller, Depends(require_administrator)]
