"""The dispatcher against a real HTTP receiver on loopback: signed deliveries the reference
verifiers accept, the validation token, retries with backoff on the injected clock, 410,
leases, the `superlogica` form, and the SSRF guard at connect time. Both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.worker.runner import housekeeping_pass
from tests.conftest import TenantClient
from tests.integration.delivery_support import (
    Receiver,
    attempts,
    dispatcher_for,
    new_endpoint,
    only_message,
)


@pytest.fixture
def clock() -> FrozenClock:
    # The reference verifiers compare `webhook-timestamp` with the wall clock.
    return FrozenClock(datetime.now(UTC))


async def test_a_delivery_is_signed_carries_the_token_and_is_recorded(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    endpoint = await new_endpoint(api, receiver.url, headers={"X-Erp": "sim"})
    customer = (await api.post("/v1/customers", {"name": "Ana"})).json()
    dispatcher = dispatcher_for(database, clock)
    try:
        assert await dispatcher.dispatch_once() == 1
        assert await dispatcher.dispatch_once() == 0
    finally:
        await dispatcher.close()

    [got] = receiver.received
    message = await only_message(database)
    assert got.headers["webhook-id"] == message.id
    assert got.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert got.headers["x-validation-token"] == api.tenant.validation_token
    assert got.headers["X-Erp"] == "sim"
    assert got.headers["Content-Type"] == "application/json"
    StandardWebhook(endpoint["secret"]).verify(got.body, got.headers)
    SvixWebhook(endpoint["secret"]).verify(got.body, got.headers)
    payload = json.loads(got.body)
    event = (await api.get("/v1/events")).json()["data"][0]
    assert payload == {**event, "validationtoken": api.tenant.validation_token}
    assert payload["data"] == customer

    assert message.status == "delivered" and message.attempt_count == 1
    [attempt] = await attempts(database)
    assert (attempt.status_code, attempt.response_excerpt, attempt.error) == (
        200,
        "answer 200",
        None,
    )


async def test_failures_retry_on_schedule_with_the_same_webhook_id(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [503, 503]
    await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    dispatcher = dispatcher_for(database, clock)
    try:
        assert await dispatcher.dispatch_once() == 1
        first_failure = clock.now()
        message = await only_message(database)
        assert message.status == "pending"
        assert (
            timedelta(seconds=4) <= message.next_attempt_at - first_failure <= timedelta(seconds=6)
        )
        assert await dispatcher.dispatch_once() == 0  # not due yet
        clock.advance(timedelta(seconds=6))
        assert await dispatcher.dispatch_once() == 1
        message = await only_message(database)
        assert timedelta(minutes=4) <= message.next_attempt_at - clock.now() <= timedelta(minutes=6)
        clock.advance(timedelta(minutes=6))
        assert await dispatcher.dispatch_once() == 1
    finally:
        await dispatcher.close()
    message = await only_message(database)
    assert (message.status, message.attempt_count) == ("delivered", 3)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert [a.status_code for a in await attempts(database)] == [503, 503, 200]


async def test_a_message_fails_for_good_when_the_schedule_is_spent(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [500] * 20
    await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    dispatcher = dispatcher_for(database, clock)
    try:
        for _ in range(8):
            assert await dispatcher.dispatch_once() == 1
            clock.advance(timedelta(hours=13))
        assert await dispatcher.dispatch_once() == 0
    finally:
        await dispatcher.close()
    message = await only_message(database)
    assert (message.status, message.attempt_count) == ("failed", 8)


async def test_the_tenants_retry_schedule_drives_the_retries(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [500] * 20
    await api.patch("/v1/webhook-settings", {"retry_schedule": [100, 1000]})
    await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    dispatcher = dispatcher_for(database, clock)
    try:
        for seconds in (100, 1000):
            assert await dispatcher.dispatch_once() == 1
            wait = (await only_message(database)).next_attempt_at - clock.now()
            # ±20 % jitter around the tenant's step, not the default schedule's.
            assert timedelta(seconds=seconds * 0.8) <= wait <= timedelta(seconds=seconds * 1.2)
            clock.advance(wait)
        assert await dispatcher.dispatch_once() == 1
        assert await dispatcher.dispatch_once() == 0
    finally:
        await dispatcher.close()
    message = await only_message(database)
    assert (message.status, message.attempt_count) == ("failed", 3)


async def test_a_429_waits_at_least_a_minute_and_honours_retry_after(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [429]
    receiver.extra_headers = {"Retry-After": "120"}
    await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    dispatcher = dispatcher_for(database, clock)
    try:
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.close()
    message = await only_message(database)
    assert message.next_attempt_at - clock.now() >= timedelta(seconds=120)


async def test_410_disables_the_endpoint_at_once(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [410]
    endpoint = await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    dispatcher = dispatcher_for(database, clock)
    try:
        assert await dispatcher.dispatch_once() == 1
        await api.post("/v1/customers", {"name": "Bia"})  # after the 410: no message
        assert await dispatcher.dispatch_once() == 0
    finally:
        await dispatcher.close()
    shown = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert (shown["enabled"], shown["disabled_reason"]) == (False, "410 Gone")
    statuses = sorted(
        m["status"]
        for m in (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/messages")).json()["data"]
    )
    assert statuses == ["failed"]


async def test_a_leased_message_waits_for_its_lease_to_expire(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    crashed, survivor = dispatcher_for(database, clock), dispatcher_for(database, clock)
    try:
        claimed, _ = await crashed._claim(50)  # claims, then "dies" before sending
        assert len(claimed) == 1
        assert await survivor.dispatch_once() == 0
        clock.advance(timedelta(seconds=31))
        assert await survivor.dispatch_once() == 1
    finally:
        await crashed.close()
        await survivor.close()
    assert len(receiver.received) == 1
    assert (await only_message(database)).status == "delivered"


async def test_superlogica_endpoints_get_the_php_form(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    await new_endpoint(api, receiver.url, format="superlogica")
    await api.post("/v1/customers", {"name": "Ana Souza", "document": "529.982.247-25"})
    dispatcher = dispatcher_for(database, clock)
    try:
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.close()
    [got] = receiver.received
    assert got.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=UTF-8"
    form = dict(parse_qsl(got.body.decode()))
    assert form["validationtoken"] == api.tenant.validation_token
    assert form["data[st_nome_sac]"] == "Ana Souza"
    assert form["data[st_cgc_sac]"] == "52998224725"
    assert form["data[id_sacado_sac]"] == "1"
    assert got.headers["webhook-id"] == (await only_message(database)).id


async def test_the_ssrf_guard_refuses_the_connection_itself(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    # Created while private targets were allowed; sent by a dispatcher that refuses them.
    await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    dispatcher = dispatcher_for(database, clock, allow_private=False)
    try:
        assert await dispatcher.dispatch_once() == 1
    finally:
        await dispatcher.close()
    assert receiver.received == []
    [attempt] = await attempts(database)
    assert attempt.status_code is None
    assert attempt.error is not None and "SSRF" in attempt.error
    assert (await only_message(database)).status == "pending"


async def test_during_a_rotation_both_secrets_sign(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    endpoint = await new_endpoint(api, receiver.url)
    rotated = (await api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")).json()
    await api.post("/v1/customers", {"name": "Ana"})
    dispatcher = dispatcher_for(database, clock)
    try:
        await dispatcher.dispatch_once()
    finally:
        await dispatcher.close()
    [got] = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (endpoint["secret"], rotated["secret"]):
        StandardWebhook(secret).verify(got.body, got.headers)


async def test_attempts_retry_and_recover_through_the_api(
    api: TenantClient,
    other_api: TenantClient,
    database: Database,
    clock: FrozenClock,
    receiver: Receiver,
) -> None:
    receiver.script = [500] * 8
    endpoint = await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    dispatcher = dispatcher_for(database, clock)
    try:
        for _ in range(8):
            await dispatcher.dispatch_once()
            clock.advance(timedelta(hours=13))
        message = await only_message(database)
        assert message.status == "failed"

        shown = (await api.get(f"/v1/messages/{message.id}")).json()
        assert (shown["status"], shown["attempt_count"], shown["next_attempt_at"]) == (
            "failed",
            8,
            None,
        )
        listed = (await api.get(f"/v1/messages/{message.id}/attempts", params={"limit": 5})).json()
        assert listed["has_more"] is True
        assert [a["status_code"] for a in listed["data"]] == [500] * 5
        assert listed["data"][0]["response_excerpt"] == "answer 500"

        retried = await api.post(f"/v1/messages/{message.id}/retry")
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "pending"
        assert await dispatcher.dispatch_once() == 1  # the receiver's script is spent: 200
        assert (await api.get(f"/v1/messages/{message.id}")).json()["status"] == "delivered"

        receiver.script = [500] * 8
        await api.post("/v1/customers", {"name": "Bia"})
        for _ in range(8):
            await dispatcher.dispatch_once()
            clock.advance(timedelta(hours=13))
        failed = (
            await api.get(
                f"/v1/webhook-endpoints/{endpoint['id']}/messages", params={"status": "failed"}
            )
        ).json()["data"]
        assert len(failed) == 1
        since = {"since": failed[0]["created_at"]}
        recovered = await api.post(f"/v1/webhook-endpoints/{endpoint['id']}/recover", since)
        assert recovered.json() == {"recovered": 1}
        assert await dispatcher.dispatch_once() == 1
    finally:
        await dispatcher.close()
    statuses = [
        m["status"]
        for m in (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/messages")).json()["data"]
    ]
    assert statuses == ["delivered", "delivered"]
    for path in (f"/v1/messages/{message.id}", f"/v1/messages/{message.id}/attempts"):
        assert (await other_api.get(path)).status_code == 404
    assert (await other_api.post(f"/v1/messages/{message.id}/retry")).status_code == 404
    late = await api.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/recover", {"since": "2026-13-01T00:00:00Z"}
    )
    assert late.status_code == 422


async def test_retention_prunes_old_delivered_messages_and_keeps_the_rest(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    await new_endpoint(api, receiver.url)
    dispatcher = dispatcher_for(database, clock)
    try:
        await api.post("/v1/customers", {"name": "Entregue"})
        assert await dispatcher.dispatch_once() == 1
        receiver.script = [500] * 8
        await api.post("/v1/customers", {"name": "Falhou"})
        for _ in range(8):
            assert await dispatcher.dispatch_once() == 1
            clock.advance(timedelta(hours=13))
    finally:
        await dispatcher.close()
    assert await housekeeping_pass(database, clock, timedelta(days=30)) == (0, 0, 0)  # too young

    clock.advance(timedelta(days=31))
    assert await housekeeping_pass(database, clock, timedelta(days=30)) == (0, 1, 0)
    kept = await only_message(database)
    assert kept.status == "failed"
    assert {a.message_id for a in await attempts(database)} == {kept.id}
    assert len((await api.get("/v1/events")).json()["data"]) == 2  # events are kept
