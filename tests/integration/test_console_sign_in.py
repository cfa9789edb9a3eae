"""Signing in to the console (docs/console.md): the session cookie, the throttle, signing
out, CSRF on every change, roles, and refusals as pages, never JSON; on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.users.models import ConsoleRole
from tests.conftest import TenantClient
from tests.integration.console_support import (
    PASSWORD,
    Console,
    console_client,
    sign_in,
)
from tests.integration.console_user_support import new_user


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with console_client(app) as http:
        yield http


async def test_a_page_signed_out_sends_to_sign_in_and_back(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/console/customers?q=ana")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/customers%3Fq%3Dana"
    htmx = await browser.get("/console/customers", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/console/login")
    root = await browser.get("/")
    assert root.headers["location"] == "/console"


async def test_sign_in_sets_a_session_cookie_that_opens_the_console(
    app: FastAPI, api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await new_user(database, clock, api.tenant.tenant_id, "ana@escola.com.br")
    async with console_client(app) as http:
        answer = await sign_in(http, "ANA@escola.com.br ")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/console"
        cookie = next(h for h in answer.headers.get_list("set-cookie") if "assina_console=" in h)
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
        assert "Secure" not in cookie  # served over http here; https sets it
        page = await http.get("/console/customers")
        assert page.status_code == 200
        assert "ana@escola.com.br" in page.text and "Escola Alfa" in page.text


async def test_a_wrong_password_is_refused_then_the_throttle_holds(
    app: FastAPI, api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await new_user(database, clock, api.tenant.tenant_id, "ana@escola.com.br")
    async with console_client(app) as http:
        for _ in range(5):
            wrong = await sign_in(http, "ana@escola.com.br", "senha-errada-123")
            assert wrong.status_code == 401
            assert "E-mail ou senha incorretos." in wrong.text
            assert "assina_console=" not in wrong.headers.get("set-cookie", "")
        locked = await sign_in(http, "ana@escola.com.br")  # the right password, too late
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) > 0
        assert "Muitas tentativas" in locked.text
        clock.advance(timedelta(minutes=16))
        assert (await sign_in(http, "ana@escola.com.br")).status_code == 303


async def test_the_sign_in_form_needs_its_own_token(
    app: FastAPI, api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await new_user(database, clock, api.tenant.tenant_id, "ana@escola.com.br")
    async with console_client(app) as http:
        forged = await http.post(
            "/console/login",
            data={"email": "ana@escola.com.br", "password": PASSWORD},
        )
        assert forged.status_code == 403
        assert "assina_console=" not in forged.headers.get("set-cookie", "")


async def test_signing_out_ends_the_session(api: TenantClient, console: Console) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    cookie = ana.http.cookies["assina_console"]
    out = await ana.submit("/console/logout", {})
    assert out.status_code == 303
    assert out.headers["location"] == "/console/login?notice=signed_out"
    ana.http.cookies.set("assina_console", cookie, domain="assina.test", path="/console")
    assert (await ana.page("/console")).status_code == 303  # the old cookie opens nothing


async def test_a_change_without_the_csrf_token_is_refused_as_a_page(
    api: TenantClient, console: Console
) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    refused = await ana.submit("/console/customers", {"name": "Bia"}, csrf=False)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "O formulário expirou" in refused.text
    wrong = await ana.http.post(
        "/console/customers", data={"name": "Bia"}, headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403
    assert (await api.get("/v1/customers")).json()["data"] == []


async def test_a_viewer_sees_and_changes_nothing(api: TenantClient, console: Console) -> None:
    await api.post("/v1/customers", {"name": "Ana Souza"})
    vera = await console(api.tenant.tenant_id, "vera@escola.com.br", ConsoleRole.VIEWER)
    listed = await vera.page("/console/customers")
    assert listed.status_code == 200 and "Ana Souza" in listed.text
    assert "/console/customers/new" not in listed.text  # no button to press
    assert (await vera.page("/console/customers/new")).status_code == 403
    refused = await vera.submit("/console/customers", {"name": "Bia"})
    assert refused.status_code == 403
    assert "Seu papel não permite esta ação." in refused.text
    names = [c["name"] for c in (await api.get("/v1/customers")).json()["data"]]
    assert names == ["Ana Souza"]


async def test_a_problem_under_console_is_a_page_and_the_api_keeps_json(
    api: TenantClient, console: Console
) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    missing = await ana.page("/console/customers/cus_01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Página não encontrada." in missing.text
    no_route = await ana.page("/console/nothing-here")
    assert no_route.status_code == 404 and no_route.text.startswith("<!doctype html>")
    api_missing = await api.get("/v1/customers/cus_01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert api_missing.headers["content-type"] == "application/problem+json"


async def test_english_by_the_switch(api: TenantClient, console: Console) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    assert "Clientes" in (await ana.page("/console/customers")).text
    switched = await ana.page("/console/language?to=en&next=/console/customers")
    assert switched.headers["location"] == "/console/customers"
    english = await ana.page("/console/customers")
    assert "Customers" in english.text and '<html lang="en">' in english.text
    elsewhere = await ana.page("/console/language?to=en&next=https://evil.example")
    assert elsewhere.headers["location"] == "/console"


async def test_over_https_the_session_cookie_is_secure(
    app: FastAPI, api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await new_user(database, clock, api.tenant.tenant_id, "ana@escola.com.br")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://assina.test") as http:
        answer = await sign_in(http, "ana@escola.com.br")
        assert answer.status_code == 303, answer.text
        cookie = next(h for h in answer.headers.get_list("set-cookie") if "assina_console=" in h)
        assert "Secure" in cookie and "HttpOnly" in cookie
