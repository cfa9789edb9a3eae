"""The console's Webhooks pages (console/webhooks.py, console/webhook_endpoint.py): Novo
registers an endpoint through the webhooks service and its ping reaches a real receiver on
loopback; the API's refusals are shown beside the fields; the endpoint's page repairs
deliveries within the API's limits; only admins reach any of it. Both databases; the state
is checked through the API."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.users.models import ConsoleRole
from tests.conftest import TEST_SECRET_KEY, UNEMPTIED_BURST, TenantClient
from tests.integration.console_support import Console, ConsoleBrowser, idempotency_key_of
from tests.integration.delivery_support import Receiver, dispatcher_for, new_endpoint

ENDPOINTS = "/v1/webhook-endpoints"
_ENDPOINT_PAGE = re.compile(r"^/console/webhooks/(whe_\w+)\?done=created$")


def _settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=TEST_SECRET_KEY,
        data_dir=tmp_path,
        api_rate_limit_burst=UNEMPTIED_BURST,
        **{"allow_private_targets": True, **overrides},
    )


@pytest.fixture
def app_settings(db_url: str, tmp_path: Path) -> Settings:
    # One recover an hour, so that the page's refusal is reached in two presses.
    return _settings(db_url, tmp_path, endpoint_recovers_per_hour=1)


@pytest.fixture
async def guarded_console(
    db_url: str, tmp_path: Path, database: Database, clock: FrozenClock
) -> AsyncIterator[Console]:
    """People signed in to an app that refuses private webhook targets (the default)."""
    app: FastAPI = create_app(
        _settings(db_url, tmp_path, allow_private_targets=False), database=database, clock=clock
    )
    signer = Console(app, database, clock)
    yield signer
    for http in signer.opened:
        await http.aclose()


async def send(person: ConsoleBrowser, path: str, form: dict[str, Any]) -> httpx.Response:
    """POST a form with repeated fields (checkboxes, header rows) and the page's CSRF token."""
    return await person.http.post(path, data={**form, "csrf_token": await person.csrf()})


async def listed_endpoints(api: TenantClient) -> list[dict[str, Any]]:
    answer = await api.get(ENDPOINTS)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


async def test_novo_registers_an_endpoint_whose_ping_reaches_a_real_receiver(
    api: TenantClient,
    console: Console,
    database: Database,
    clock: FrozenClock,
    receiver: Receiver,
) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    empty = await ana.page("/console/webhooks")
    assert empty.status_code == 200
    assert "Token de validação" in empty.text and 'href="/console/webhooks/new"' in empty.text
    form = await ana.page("/console/webhooks/new")
    assert form.status_code == 200
    assert "Cliente novo" in form.text and "Cobrança liquidada" in form.text  # pt-BR labels
    assert 'value="superlogica"' in form.text and 'name="header_name"' in form.text

    novo = {
        "idempotency_key": idempotency_key_of(form.text),
        "url": receiver.url,
        "description": "ERP da escola",
        "event_types": ["customer.created", "charge.settled"],
        "format": "standard",
        "header_name": ["X-Erp", "", ""],
        "header_value": ["sim", "", ""],
    }
    saved = await send(ana, "/console/webhooks", novo)
    assert saved.status_code == 303, saved.text
    found = _ENDPOINT_PAGE.match(saved.headers["location"])
    assert found, saved.headers["location"]
    endpoint_id = found.group(1)
    again = await send(ana, "/console/webhooks", novo)  # the form sent twice: one endpoint
    assert again.headers["location"] == saved.headers["location"]
    [endpoint] = await listed_endpoints(api)
    assert (endpoint["id"], endpoint["url"], endpoint["description"]) == (
        endpoint_id,
        receiver.url,
        "ERP da escola",
    )
    assert endpoint["event_types"] == ["charge.settled", "customer.created"]
    assert (endpoint["format"], endpoint["headers"]) == ("standard", {"X-Erp": "sim"})

    # Its page shows the signing secret the API holds.
    secret = (await api.get(f"{ENDPOINTS}/{endpoint_id}/secret")).json()["secret"]
    page = await ana.page(saved.headers["location"])
    assert page.status_code == 200 and secret in page.text
    assert "Webhook criado" in page.text
    assert secret not in (await ana.page(f"/console/webhooks/{endpoint_id}")).text  # once

    pinged = await send(
        ana,
        f"/console/webhooks/{endpoint_id}/ping",
        {"idempotency_key": idempotency_key_of(page.text)},
    )
    assert pinged.status_code == 303
    assert pinged.headers["location"] == f"/console/webhooks/{endpoint_id}?done=pinged"
    [event] = (await api.get("/v1/events")).json()["data"]
    assert event["type"] == "webhook.ping"

    dispatcher = dispatcher_for(database, clock)
    try:
        assert await dispatcher.dispatch_once() == 1
    finally:
        await dispatcher.close()
    [got] = receiver.received
    body = json.loads(got.body)
    assert (body["type"], body["id"]) == ("webhook.ping", event["id"])
    assert got.headers["X-Erp"] == "sim"
    assert got.headers["x-validation-token"] == api.tenant.validation_token

    # The message log shows the attempt; the list, the endpoint's health.
    shown = await ana.page(f"/console/webhooks/{endpoint_id}")
    assert "Teste de webhook" in shown.text and "answer 200" in shown.text
    assert "1 tentativa(s)" in shown.text
    health = await ana.page("/console/webhooks")
    assert receiver.url in health.text
    assert re.search(r'class="badge good"[^>]*>200</span>', health.text)


async def test_novo_refusals_are_shown_beside_their_fields_and_create_nothing(
    api: TenantClient, console: Console, guarded_console: Console
) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    refused = await send(ana, "/console/webhooks", {"url": "ftp://erp.example.com/hook"})
    assert refused.status_code == 422
    assert 'id="f-url" name="url" type="url" value="ftp://erp.example.com/hook"' in refused.text
    assert 'aria-invalid="true" aria-describedby="e-url"' in refused.text
    assert 'id="e-url"' in refused.text

    no_events = await send(ana, "/console/webhooks", {"url": "https://erp.example.com/hook"})
    assert no_events.status_code == 422 and 'id="e-event_types"' in no_events.text
    bad_header = await send(
        ana,
        "/console/webhooks",
        {
            "url": "https://erp.example.com/hook",
            "event_types": ["*"],
            "header_name": ["Host"],
            "header_value": ["evil"],
        },
    )
    assert bad_header.status_code == 422 and 'id="e-headers"' in bad_header.text
    assert 'value="Host"' in bad_header.text  # what was typed is drawn again

    # Where the server refuses private targets (its default), a loopback URL is refused too.
    bia = await guarded_console(api.tenant.tenant_id, "bia@escola.com.br")
    private = {"url": "http://127.0.0.1:8080/hook", "event_types": ["*"]}
    loopback = await send(bia, "/console/webhooks", private)
    assert loopback.status_code == 422 and 'id="e-url"' in loopback.text
    assert await listed_endpoints(api) == []


async def test_finance_and_viewers_cannot_reach_webhooks(
    api: TenantClient, console: Console
) -> None:
    endpoint = await new_endpoint(api, "https://erp.example.com/hook")
    for email, role in [
        ("fabio@escola.com.br", ConsoleRole.FINANCE),
        ("vera@escola.com.br", ConsoleRole.VIEWER),
    ]:
        person = await console(api.tenant.tenant_id, email, role)
        for path in [
            "/console/webhooks",
            "/console/webhooks/new",
            f"/console/webhooks/{endpoint['id']}",
        ]:
            assert (await person.page(path)).status_code == 403, path
        created = await send(person, "/console/webhooks", {"url": "https://x.example.com/"})
        assert created.status_code == 403
        rotated = await send(person, "/console/webhooks/validation-token/rotate", {})
        assert rotated.status_code == 403
        painel = await person.page("/console")  # the rest of the console, without the link
        assert painel.status_code == 200 and 'href="/console/webhooks"' not in painel.text
    assert [e["id"] for e in await listed_endpoints(api)] == [endpoint["id"]]
    settings = (await api.get("/v1/webhook-settings")).json()
    assert settings["validation_token"] == api.tenant.validation_token


async def test_an_endpoints_page_edits_switches_rotates_and_deletes(
    api: TenantClient, console: Console
) -> None:
    endpoint = await new_endpoint(api, "https://erp.example.com/hook", headers={"X-Erp": "sim"})
    page_path = f"/console/webhooks/{endpoint['id']}"
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    ana.http.cookies.set("assina_lang", "en")  # every page has its English words
    for path, words in [
        ("/console/webhooks", "Validation token"),
        ("/console/webhooks/new", "Custom headers"),
        (page_path, "Signing secret"),
    ]:
        english = await ana.page(path)
        assert english.status_code == 200 and words in english.text, path
    ana.http.cookies.set("assina_lang", "pt-BR")

    edit = await ana.page(f"{page_path}/edit")
    assert edit.status_code == 200 and 'value="X-Erp"' in edit.text
    changes = {
        "url": "https://erp.example.com/v2",
        "description": "Novo ERP",
        "event_types": ["charge.created"],
        "format": "superlogica",
        "header_name": ["X-Erp", ""],
        "header_value": ["nao", ""],
    }
    saved = await send(ana, page_path, changes)
    assert saved.status_code == 303, saved.text
    shown = (await api.get(f"{ENDPOINTS}/{endpoint['id']}")).json()
    assert (shown["url"], shown["description"], shown["format"]) == (
        "https://erp.example.com/v2",
        "Novo ERP",
        "superlogica",
    )
    assert (shown["event_types"], shown["headers"]) == (["charge.created"], {"X-Erp": "nao"})

    assert (await send(ana, f"{page_path}/disable", {})).status_code == 303
    assert (await api.get(f"{ENDPOINTS}/{endpoint['id']}")).json()["enabled"] is False
    page = await ana.page(page_path)
    refused = await send(
        ana, f"{page_path}/ping", {"idempotency_key": idempotency_key_of(page.text)}
    )
    assert refused.status_code == 409 and "The endpoint is disabled" in refused.text
    assert (await api.get("/v1/events")).json()["data"] == []
    assert (await send(ana, f"{page_path}/enable", {})).status_code == 303
    assert (await api.get(f"{ENDPOINTS}/{endpoint['id']}")).json()["enabled"] is True

    # The secret: shown in place to htmx, rotated with the old one kept signing for a day.
    secret = (await api.get(f"{ENDPOINTS}/{endpoint['id']}/secret")).json()["secret"]
    revealed = await ana.http.post(
        f"{page_path}/secret", headers={"HX-Request": "true", "X-CSRF-Token": await ana.csrf()}
    )
    assert revealed.status_code == 200 and secret in revealed.text
    assert "<html" not in revealed.text
    page = await ana.page(page_path)
    rotated = await send(
        ana, f"{page_path}/rotate-secret", {"idempotency_key": idempotency_key_of(page.text)}
    )
    assert rotated.status_code == 200
    now_secret = (await api.get(f"{ENDPOINTS}/{endpoint['id']}/secret")).json()
    assert now_secret["secret"] != secret and now_secret["secret"] in rotated.text
    assert now_secret["previous_secret_expires_at"] is not None

    # The tenant's validation token: shown, then replaced.
    token = await send(ana, "/console/webhooks/validation-token", {})
    assert api.tenant.validation_token in token.text
    listed = await ana.page("/console/webhooks")
    assert api.tenant.validation_token not in listed.text
    rotated_token = await send(
        ana,
        "/console/webhooks/validation-token/rotate",
        {"idempotency_key": idempotency_key_of(listed.text)},
    )
    new_token = (await api.get("/v1/webhook-settings")).json()["validation_token"]
    assert new_token != api.tenant.validation_token and new_token in rotated_token.text

    deleted = await send(ana, f"{page_path}/delete", {})
    assert deleted.headers["location"] == "/console/webhooks?done=deleted"
    assert await listed_endpoints(api) == []
    assert (await ana.page(page_path)).status_code == 404


async def test_retry_one_and_recover_since_a_day_within_the_apis_limits(
    api: TenantClient,
    console: Console,
    database: Database,
    clock: FrozenClock,
    receiver: Receiver,
) -> None:
    receiver.script = [500, 500]
    await api.patch("/v1/webhook-settings", {"retry_schedule": [60]})
    endpoint = await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    page_path = f"/console/webhooks/{endpoint['id']}"
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    dispatcher = dispatcher_for(database, clock)
    try:
        for _ in range(2):  # the schedule spent: failed for good
            assert await dispatcher.dispatch_once() == 1
            clock.advance(timedelta(minutes=2))
        messages = f"{ENDPOINTS}/{endpoint['id']}/messages"
        [message] = (await api.get(messages)).json()["data"]
        assert message["status"] == "failed"
        page = await ana.page(page_path)
        assert "answer 500" in page.text and "2 tentativa(s)" in page.text
        health = await ana.page("/console/webhooks")
        assert re.search(r'class="badge bad"[^>]*>500</span>', health.text)

        retried = await send(
            ana,
            f"{page_path}/messages/{message['id']}/retry",
            {"idempotency_key": idempotency_key_of(page.text)},
        )
        assert retried.headers["location"] == f"{page_path}?done=retried"
        assert (await api.get(f"/v1/messages/{message['id']}")).json()["status"] == "pending"
        receiver.script = [500]
        assert await dispatcher.dispatch_once() == 1  # its schedule spent: failed at once
        assert (await api.get(f"/v1/messages/{message['id']}")).json()["status"] == "failed"

        typo = await send(ana, f"{page_path}/recover", {"since": "ontem"})
        assert typo.status_code == 422 and 'id="e-since"' in typo.text
        recovered = await send(ana, f"{page_path}/recover", {"since": "2026-01-15"})
        assert recovered.headers["location"] == f"{page_path}?done=recovered&count=1"
        assert "1 mensagem(ns)" in (await ana.page(recovered.headers["location"])).text
        assert (await api.get(f"/v1/messages/{message['id']}")).json()["status"] == "pending"
        assert await dispatcher.dispatch_once() == 1  # the receiver's script is spent: 200
        assert (await api.get(f"/v1/messages/{message['id']}")).json()["status"] == "delivered"
    finally:
        await dispatcher.close()

    # One recover an hour (this app's limit), counted as the API counts it.
    limited = await send(ana, f"{page_path}/recover", {"since": "2026-01-15"})
    assert (
        limited.status_code == 429
        and "Over the limit of 1 recovers of this endpoint" in limited.text
    )
    refused = await api.post(
        f"{ENDPOINTS}/{endpoint['id']}/recover", {"since": "2026-01-15T00:00:00Z"}
    )
    assert refused.status_code == 429
