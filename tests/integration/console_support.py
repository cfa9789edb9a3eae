"""Console test support: a console user signed in through the real sign-in form, as a
browser would (cookies kept by the client, the CSRF token read from the page)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.users.models import ConsoleRole
from tests.integration.console_user_support import PASSWORD, new_user

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
_IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def idempotency_key_of(page: str) -> str:
    found = _IDEMPOTENCY.search(page)
    assert found, "the form has no idempotency key"
    return found.group(1)


@dataclass
class ConsoleBrowser:
    """An HTTP client holding one console session's cookies."""

    http: httpx.AsyncClient
    email: str

    async def page(self, path: str) -> httpx.Response:
        return await self.http.get(path)

    async def csrf(self) -> str:
        return csrf_of((await self.http.get("/console")).text)

    async def submit(self, path: str, form: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        """POST a form as the page would (its CSRF token added unless told not to)."""
        data = {**form, "csrf_token": await self.csrf()} if csrf else dict(form)
        return await self.http.post(path, data=data)


def console_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://assina.test",
        follow_redirects=False,
    )


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = await http.get("/console/login")
    assert form.status_code == 200, form.text
    found = _LOGIN_CSRF.search(form.text)
    assert found
    return await http.post(
        "/console/login",
        data={
            "email": email,
            "password": password,
            "login_csrf": found.group(1),
            "next": "/console",
        },
    )


@dataclass
class Console:
    """Signs people in (`await console(tenant_id, email, role)`); closes their clients."""

    app: FastAPI
    database: Database
    clock: FrozenClock
    opened: list[httpx.AsyncClient] = field(default_factory=list)

    async def __call__(
        self, tenant_id: str, email: str, role: ConsoleRole = ConsoleRole.ADMIN
    ) -> ConsoleBrowser:
        await new_user(self.database, self.clock, tenant_id, email, role)
        http = console_client(self.app)
        self.opened.append(http)
        answer = await sign_in(http, email)
        assert answer.status_code == 303, answer.text
        return ConsoleBrowser(http, email)


@pytest.fixture
async def console(app: FastAPI, database: Database, clock: FrozenClock) -> AsyncIterator[Console]:
    signer = Console(app, database, clock)
    yield signer
    for http in signer.opened:
        await http.aclose()
