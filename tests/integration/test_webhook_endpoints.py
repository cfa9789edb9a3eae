"""Webhook endpoints: CRUD, secrets and their rotation, the validation token, the SSRF check at
creation, and fan-out at write time (one message per matching enabled endpoint, in the same
transaction as the event)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.customers.schemas import CustomerCreate
from assina.customers.service import create_customer
from assina.db.database import Database
from assina.events.models import Event
from assina.webhooks.models import WebhookEndpoint, WebhookMessage
from assina.webhooks.service import live_secrets
from assina.webhooks.signing import secret_key
from tests.assertions import assert_invalid, assert_problem
from tests.conftest import TEST_SECRET_KEY, TenantClient

HOOK = "https://hooks.example.com/assina"


async def new_endpoint(api: TenantClient, **fields: object) -> dict[str, object]:
    response = await api.post("/v1/webhook-endpoints", {"url": HOOK, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def messages(api: TenantClient, endpoint_id: object, **params: str) -> list[dict[str, str]]:
    response = await api.get(f"/v1/webhook-endpoints/{endpoint_id}/messages", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, str]] = response.json()["data"]
    return data


async def test_create_shows_the_secret_once_with_defaults(api: TenantClient) -> None:
    created = await new_endpoint(api, description="ERP")
    assert str(created["secret"]).startswith("whsec_")
    assert len(secret_key(str(created["secret"]))) == 32
    assert created["event_types"] == ["*"]
    assert (created["format"], created["ordering"], created["enabled"]) == (
        "standard",
        "none",
        True,
    )
    fetched = (await api.get(f"/v1/webhook-endpoints/{created['id']}")).json()
    assert "secret" not in fetched
    assert fetched == {k: v for k, v in created.items() if k != "secret"}
    secret = (await api.get(f"/v1/webhook-endpoints/{created['id']}/secret")).json()
    assert secret == {"secret": created["secret"], "previous_secret_expires_at": None}
    listed = (await api.get("/v1/webhook-endpoints")).json()["data"]
    assert [e["id"] for e in listed] == [created["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "https://user:pw@example.com/"}, "url"),
        ({"url": "example.com"}, "url"),
        ({"url": HOOK, "event_types": ["customer.exploded"]}, "event_types"),
        ({"url": HOOK, "event_types": []}, "event_types"),
        ({"url": HOOK, "format": "xml"}, "format"),
        ({"url": HOOK, "ordering": "global"}, "ordering"),
        ({"url": HOOK, "headers": {"webhook-signature": "x"}}, "headers"),
        ({"url": HOOK, "headers": {"X-Validation-Token": "x"}}, "headers"),
        ({"url": HOOK, "headers": {"bad header": "x"}}, "headers"),
        ({"url": HOOK, "headers": {"X-Ok": "a\r\nInjected: 1"}}, "headers"),
        ({"url": HOOK, "rate_limit": 0}, "rate_limit"),
        ({"url": HOOK, "secret": "whsec_x"}, "secret"),
    ],
)
async def test_invalid_endpoints_are_422(
    api: TenantClient, body: dict[str, object], field: str
) -> None:
    assert_invalid(await api.post("/v1/webhook-endpoints", body), field)
    assert (await api.get("/v1/webhook-endpoints")).json()["data"] == []


async def test_event_types_are_normalised(api: TenantClient) -> None:
    created = await new_endpoint(
        api, event_types=["product.created", "customer.created", "product.created"]
    )
    assert created["event_types"] == ["customer.created", "product.created"]
    everything = await new_endpoint(api, event_types=["customer.created", "*"])
    assert everything["event_types"] == ["*"]


@pytest.fixture
async def guarded(
    db_url: str, tmp_path: Path, database: Database, clock: FrozenClock, api: TenantClient
) -> AsyncIterator[TenantClient]:
    """The same tenant, through an app with ASSINA_ALLOW_PRIVATE_TARGETS off."""
    settings = Settings(
        database_url=db_url,
        secret_key=TEST_SECRET_KEY,
        data_dir=tmp_path,
        allow_private_targets=False,
    )
    app = create_app(settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://assina.test") as http:
        yield TenantClient(api.tenant, http)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:192.168.0.1]/",
    ],
)
async def test_private_targets_are_refused_when_not_allowed(
    guarded: TenantClient, api: TenantClient, url: str
) -> None:
    assert_invalid(await guarded.post("/v1/webhook-endpoints", {"url": url}), "url")
    created = await new_endpoint(api)
    patched = await guarded.patch(f"/v1/webhook-endpoints/{created['id']}", {"url": url})
    assert_invalid(patched, "url")
    assert (await api.get(f"/v1/webhook-endpoints/{created['id']}")).json()["url"] == HOOK


async def test_public_literal_targets_are_accepted_when_private_ones_are_not(
    guarded: TenantClient,
) -> None:
    response = await guarded.post("/v1/webhook-endpoints", {"url": "https://8.8.8.8/hook"})
    assert response.status_code == 201, response.text


async def test_fan_out_writes_one_message_per_matching_enabled_endpoint(
    api: TenantClient,
) -> None:
    only_created = await new_endpoint(api, event_types=["customer.created"])
    everything = await new_endpoint(api)
    disabled = await new_endpoint(api, enabled=False)
    customer = (await api.post("/v1/customers", {"name": "Ana"})).json()
    await api.patch(f"/v1/customers/{customer['id']}", {"name": "Ana Souza"})
    events = (await api.get("/v1/events")).json()["data"]
    created_event, updated_event = events

    got = await messages(api, only_created["id"])
    assert [(m["event_id"], m["event_type"]) for m in got] == [
        (created_event["id"], "customer.created")
    ]
    got = await messages(api, everything["id"])
    assert [m["event_id"] for m in got] == [created_event["id"], updated_event["id"]]
    assert all(m["status"] == "pending" and m["attempt_count"] == 0 for m in got)
    assert await messages(api, disabled["id"]) == []
    assert await messages(api, everything["id"], status="delivered") == []
    assert len(await messages(api, everything["id"], event_type="customer.updated")) == 1


async def test_an_endpoint_gets_only_events_after_it_exists(api: TenantClient) -> None:
    await api.post("/v1/customers", {"name": "Antes"})
    endpoint = await new_endpoint(api)
    await api.post("/v1/customers", {"name": "Depois"})
    got = await messages(api, endpoint["id"])
    assert [m["event_type"] for m in got] == ["customer.created"]
    event = (await api.get(f"/v1/events/{got[0]['event_id']}")).json()
    assert event["data"]["name"] == "Depois"


async def test_messages_roll_back_with_their_event(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await new_endpoint(api)
    with pytest.raises(RuntimeError):
        async with database.write() as session:
            await create_customer(session, clock, api.tenant.tenant_id, CustomerCreate(name="X"))
            await session.flush()
            assert await session.scalar(select(func.count()).select_from(WebhookMessage)) == 1
            raise RuntimeError("the use case fails after writing")
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0
        assert await session.scalar(select(func.count()).select_from(WebhookMessage)) == 0


async def test_rotation_keeps_the_old_secret_signing_for_24_hours(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    created = await new_endpoint(api)
    rotated = await api.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"] != created["secret"]
    assert body["previous_secret_expires_at"] == (
        clock.now() + timedelta(hours=24)
    ).isoformat().replace("+00:00", "Z")
    shown = (await api.get(f"/v1/webhook-endpoints/{created['id']}/secret")).json()
    assert shown == body

    box = SecretBox(TEST_SECRET_KEY)
    async with database.read() as session:
        endpoint = await session.get(WebhookEndpoint, created["id"])
        assert endpoint is not None
        assert live_secrets(endpoint, box, clock.now()) == [body["secret"], created["secret"]]
        clock.advance(timedelta(hours=24, seconds=1))
        assert live_secrets(endpoint, box, clock.now()) == [body["secret"]]
    later = (await api.get(f"/v1/webhook-endpoints/{created['id']}/secret")).json()
    assert later["previous_secret_expires_at"] is None


async def test_patch_and_delete(api: TenantClient) -> None:
    created = await new_endpoint(api, rate_limit=5, description="ERP")
    patched = await api.patch(
        f"/v1/webhook-endpoints/{created['id']}",
        {"description": None, "rate_limit": None, "format": "superlogica", "enabled": False},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["description"], body["rate_limit"], body["format"], body["enabled"]) == (
        None,
        None,
        "superlogica",
        False,
    )
    assert_invalid(await api.patch(f"/v1/webhook-endpoints/{created['id']}", {"url": None}), "url")
    deleted = await api.delete(f"/v1/webhook-endpoints/{created['id']}")
    assert deleted.status_code == 200
    assert_problem(await api.get(f"/v1/webhook-endpoints/{created['id']}"), 404)
    assert (await api.get("/v1/webhook-endpoints")).json()["data"] == []


async def test_a_deleted_endpoint_gets_no_new_messages(
    api: TenantClient, database: Database
) -> None:
    endpoint = await new_endpoint(api)
    await api.post("/v1/customers", {"name": "Ana"})
    await api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")
    await api.post("/v1/customers", {"name": "Bia"})
    assert_problem(await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/messages"), 404)
    async with database.read() as session:
        kept = await session.scalar(
            select(func.count())
            .select_from(WebhookMessage)
            .where(WebhookMessage.endpoint_id == endpoint["id"])
        )
    assert kept == 1  # the message written before the deletion is kept, none after


DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]


async def test_validation_token_read_and_rotation(api: TenantClient) -> None:
    settings = await api.get("/v1/webhook-settings")
    assert settings.json() == {
        "validation_token": api.tenant.validation_token,
        "retry_schedule": DEFAULT_RETRY_SCHEDULE,
    }
    rotated = await api.post("/v1/webhook-settings/rotate-token")
    assert rotated.status_code == 200
    token = rotated.json()["validation_token"]
    assert token != api.tenant.validation_token and len(token) == 64
    assert (await api.get("/v1/webhook-settings")).json()["validation_token"] == token


async def test_the_retry_schedule_is_set_per_tenant_and_null_restores_the_default(
    api: TenantClient, other_api: TenantClient
) -> None:
    changed = await api.patch("/v1/webhook-settings", {"retry_schedule": [10, 60, 3600]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["retry_schedule"] == [10, 60, 3600]
    assert changed.json()["validation_token"] == api.tenant.validation_token
    assert (await api.get("/v1/webhook-settings")).json()["retry_schedule"] == [10, 60, 3600]
    theirs = (await other_api.get("/v1/webhook-settings")).json()
    assert theirs["retry_schedule"] == DEFAULT_RETRY_SCHEDULE
    unchanged = await api.patch("/v1/webhook-settings", {})
    assert unchanged.json()["retry_schedule"] == [10, 60, 3600]
    reset = await api.patch("/v1/webhook-settings", {"retry_schedule": None})
    assert reset.json()["retry_schedule"] == DEFAULT_RETRY_SCHEDULE


@pytest.mark.parametrize(
    "schedule",
    [[], [0], [-5], [1.5], ["60"], [604801], [60] * 21, "60", {"a": 1}, [True]],
)
async def test_a_bad_retry_schedule_is_a_422_and_changes_nothing(
    api: TenantClient, schedule: object
) -> None:
    assert (await api.patch("/v1/webhook-settings", {"retry_schedule": [30]})).status_code == 200
    response = await api.patch("/v1/webhook-settings", {"retry_schedule": schedule})
    body = assert_problem(response, 422)
    assert all(e["field"].startswith("retry_schedule") for e in body["errors"]), body
    assert (await api.get("/v1/webhook-settings")).json()["retry_schedule"] == [30]


async def test_another_tenants_endpoints_answer_404(
    api: TenantClient, other_api: TenantClient
) -> None:
    theirs = await new_endpoint(other_api)
    base = f"/v1/webhook-endpoints/{theirs['id']}"
    for response in (
        await api.get(base),
        await api.patch(base, {"description": "mine now"}),
        await api.delete(base),
        await api.get(f"{base}/secret"),
        await api.post(f"{base}/rotate-secret"),
        await api.get(f"{base}/messages"),
    ):
        assert_problem(response, 404)
    assert (await api.get("/v1/webhook-endpoints")).json()["data"] == []
    still = (await other_api.get(f"{base}/secret")).json()
    assert still["secret"] == theirs["secret"]
    assert (await other_api.get(base)).json()["description"] is None


@pytest.mark.parametrize("body", [{"": None}, {"retry_schedul": [30]}, {"validation_token": "x"}])
async def test_a_field_the_settings_do_not_have_is_a_422_and_changes_nothing(
    api: TenantClient, body: dict[str, object]
) -> None:
    assert (await api.patch("/v1/webhook-settings", {"retry_schedule": [30]})).status_code == 200
    assert_problem(await api.patch("/v1/webhook-settings", body), 422)
    assert (await api.get("/v1/webhook-settings")).json()["retry_schedule"] == [30]


async def test_a_refused_host_name_is_not_told_what_it_resolved_to(guarded: TenantClient) -> None:
    """The SSRF refusal must not be a DNS oracle for internal names (issue 13)."""
    response = await guarded.post("/v1/webhook-endpoints", {"url": "http://localhost:9/hook"})
    assert_invalid(response, "url")
    message = response.json()["errors"][0]["message"]
    assert "localhost" in message and "public addresses" in message
    for address in ("127.0.0.1", "::1", "loopback address"):
        assert address not in message
    literal = await guarded.post("/v1/webhook-endpoints", {"url": "http://10.0.0.5/hook"})
    assert "10.0.0.5 is a private address" in literal.json()["errors"][0]["message"]
