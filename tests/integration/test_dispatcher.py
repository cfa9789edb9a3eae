"""The dispatcher against a real HTTP receiver on loopback: signed deliveries the reference
verifiers accept, the validation token, retries with backoff on the injected clock, 410,
leases, the `superlogica` form, and the SSRF guard at connect time. Both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from fastapi import FastAPI
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.webhooks.dispatcher import Dispatcher, DispatcherConfig
from assina.webhooks.models import WebhookAttempt, WebhookMessage
from assina.worker.runner import housekeeping_pass
from tests.conftest import TEST_SECRET_KEY, TenantClient


@pytest.fixture
def clock() -> FrozenClock:
    # The reference verifiers compare `webhook-timestamp` with the wall clock.
    return FrozenClock(datetime.now(UTC))


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # Statuses to answer, in order; 200 once they run out.
    script: list[int] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    on_receive: Callable[[], None] | None = None
    # The first request whose body contains this text is answered 503.
    fail_once_for: str | None = None
    # What `/ok`, a receiver that always answers 204, got.
    healthy: list[Received] = field(default_factory=list)
    # What `/slow` got: it answers only once `release_slow` is set.
    slow: list[Received] = field(default_factory=list)
    release_slow: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set on every request

    @property
    def ok_url(self) -> str:
        return self.url.replace("/hook", "/ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        state.received.append(Received(dict(request.headers), body))
        if state.on_receive is not None:
            state.on_receive()
        if state.fail_once_for is not None and state.fail_once_for.encode() in body:
            state.fail_once_for = None
            return web.Response(status=503, text="answer 503")
        status = state.script.pop(0) if state.script else 200
        return web.Response(status=status, text=f"answer {status}", headers=state.extra_headers)

    async def healthy(request: web.Request) -> web.Response:
        state.healthy.append(Received(dict(request.headers), await request.read()))
        state.changed.set()
        return web.Response(status=204)

    async def slow(request: web.Request) -> web.Response:
        state.slow.append(Received(dict(request.headers), await request.read()))
        state.changed.set()
        await state.release_slow.wait()  # answers only when the test lets it
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/ok", healthy)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hook"
    yield state
    await runner.cleanup()


def dispatcher_for(
    database: Database, clock: FrozenClock, allow_private: bool = True
) -> Dispatcher:
    config = DispatcherConfig(allow_private_targets=allow_private, lease=timedelta(seconds=30))
    return Dispatcher(database, clock, SecretBox(TEST_SECRET_KEY), config)


async def new_endpoint(api: TenantClient, url: str, **fields: object) -> dict[str, str]:
    response = await api.post("/v1/webhook-endpoints", {"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def only_message(database: Database) -> WebhookMessage:
    async with database.read() as session:
        messages = (await session.scalars(select(WebhookMessage))).all()
        session.expunge_all()  # keep the loaded values readable after the block
    assert len(messages) == 1
    return messages[0]


async def attempts(database: Database) -> list[WebhookAttempt]:
    async with database.read() as session:
        statement = select(WebhookAttempt).order_by(WebhookAttempt.id)
        found = list((await session.scalars(statement)).all())
        session.expunge_all()
        return found


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
    assert await housekeeping_pass(database, clock, timedelta(days=30)) == (0, 0)  # too young

    clock.advance(timedelta(days=31))
    assert await housekeeping_pass(database, clock, timedelta(days=30)) == (0, 1)
    kept = await only_message(database)
    assert kept.status == "failed"
    assert {a.message_id for a in await attempts(database)} == {kept.id}
    assert len((await api.get("/v1/events")).json()["data"]) == 2  # events are kept


async def test_a_commit_in_another_process_wakes_the_dispatcher(
    db_url: str, api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    """PostgreSQL: the writer's NOTIFY after commit wakes a dispatcher on another connection
    pool (another process, as far as the database can tell) long before its next poll."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite runs one process: its wake-up is in-process")
    await new_endpoint(api, receiver.url)
    other_process = Database.from_url(db_url, pool_size=2)
    config = DispatcherConfig(allow_private_targets=True, poll_interval_seconds=600)
    dispatcher = Dispatcher(other_process, clock, SecretBox(TEST_SECRET_KEY), config)
    stop = asyncio.Event()
    arrived = asyncio.Event()
    receiver.on_receive = arrived.set
    # Listening before the dispatcher starts, so that no NOTIFY can come before the LISTEN.
    await other_process.listen_for_commits()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        await api.post("/v1/customers", {"name": "Ana"})
        await asyncio.wait_for(arrived.wait(), timeout=30)
    finally:
        stop.set()
        await running
        await other_process.dispose()
    assert len(receiver.received) == 1


def metric(text: str, sample: str) -> float:
    """The value of one sample (`name` or `name{labels}`) in Prometheus text."""
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    raise AssertionError(f"{sample} not in /metrics")


async def test_metrics_show_outcomes_latency_and_backlog(
    app: FastAPI, api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [503]
    await new_endpoint(api, receiver.url)
    await api.post("/v1/customers", {"name": "Ana"})
    await api.post("/v1/customers", {"name": "Bia"})
    clock.advance(timedelta(seconds=42))
    scraped = (await api.http.get("/metrics")).text
    assert metric(scraped, "assina_webhook_messages_pending") == 2
    assert metric(scraped, "assina_webhook_oldest_due_message_age_seconds") == 42

    config = DispatcherConfig(allow_private_targets=True)
    metrics = app.state.webhook_metrics
    dispatcher = Dispatcher(database, clock, SecretBox(TEST_SECRET_KEY), config, metrics=metrics)
    try:
        assert await dispatcher.dispatch_once() == 2
    finally:
        await dispatcher.close()
    scraped = (await api.http.get("/metrics")).text
    assert metric(scraped, 'assina_webhook_attempts_total{outcome="delivered"}') == 1
    assert metric(scraped, 'assina_webhook_attempts_total{outcome="http_error"}') == 1
    assert metric(scraped, "assina_webhook_attempt_duration_seconds_count") == 2
    assert metric(scraped, "assina_webhook_messages_pending") == 1
    assert metric(scraped, "assina_webhook_oldest_due_message_age_seconds") == 0  # not due yet


async def test_ping_goes_to_that_endpoint_alone(
    api: TenantClient,
    other_api: TenantClient,
    database: Database,
    clock: FrozenClock,
    receiver: Receiver,
) -> None:
    target = await new_endpoint(api, receiver.url)
    bystander = await new_endpoint(api, receiver.ok_url)
    pinged = await api.post(f"/v1/webhook-endpoints/{target['id']}/ping")
    assert pinged.status_code == 200, pinged.text
    event = pinged.json()
    assert (event["type"], event["label"]) == ("webhook.ping", "Teste de webhook")
    assert event["data"]["endpoint_id"] == target["id"]
    assert (await api.get(f"/v1/events/{event['id']}")).json() == event
    dispatcher = dispatcher_for(database, clock)
    try:
        assert await dispatcher.dispatch_once() == 1
    finally:
        await dispatcher.close()
    [got] = receiver.received
    assert json.loads(got.body)["type"] == "webhook.ping"
    assert receiver.healthy == []
    assert (await api.get(f"/v1/webhook-endpoints/{bystander['id']}/messages")).json()["data"] == []
    await api.patch(f"/v1/webhook-endpoints/{target['id']}", {"enabled": False})
    assert (await api.post(f"/v1/webhook-endpoints/{target['id']}/ping")).status_code == 409
    assert (await other_api.post(f"/v1/webhook-endpoints/{target['id']}/ping")).status_code == 404


async def test_an_endpoint_failing_for_5_days_is_disabled_and_that_is_announced(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [500] * 1000
    failing = await new_endpoint(api, receiver.url)
    watcher = await new_endpoint(api, receiver.ok_url, event_types=["endpoint.disabled"])
    dispatcher = dispatcher_for(database, clock)
    started = clock.now()
    try:
        while clock.now() - started < timedelta(days=5, hours=1):
            await api.post("/v1/customers", {"name": "Ana"})
            while await dispatcher.dispatch_once():
                pass
            shown = (await api.get(f"/v1/webhook-endpoints/{failing['id']}")).json()
            if not shown["enabled"]:
                break
            clock.advance(timedelta(hours=12))
    finally:
        await dispatcher.close()
    assert clock.now() - started >= timedelta(days=5)
    assert (shown["enabled"], shown["disabled_reason"]) == (
        False,
        "no successful delivery for 5 days",
    )
    [notice] = receiver.healthy
    body = json.loads(notice.body)
    assert body["type"] == "endpoint.disabled"
    assert body["data"]["endpoint_id"] == failing["id"]
    assert body["data"]["reason"] == "no successful delivery for 5 days"
    assert (await api.get(f"/v1/webhook-endpoints/{watcher['id']}")).json()["enabled"] is True


async def test_one_success_restarts_the_5_day_count(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    receiver.script = [500] * 3
    endpoint = await new_endpoint(api, receiver.url)
    dispatcher = dispatcher_for(database, clock)
    try:
        for _ in range(4):  # fails three times over 4 days, then succeeds
            await api.post("/v1/customers", {"name": "Ana"})
            await dispatcher.dispatch_once()
            clock.advance(timedelta(days=1, hours=8))
        receiver.script = [500] * 1000
        for _ in range(3):  # 4 more days of failures: fewer than 5 since the success
            await api.post("/v1/customers", {"name": "Bia"})
            while await dispatcher.dispatch_once():
                pass
            clock.advance(timedelta(days=1, hours=8))
    finally:
        await dispatcher.close()
    assert (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()["enabled"] is True


@pytest.mark.parametrize("ordering", ["per_customer", "none"])
async def test_per_customer_ordering_holds_later_messages_about_the_same_customer(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver, ordering: str
) -> None:
    await new_endpoint(api, receiver.url, ordering=ordering)
    ana = (await api.post("/v1/customers", {"name": "Ana"})).json()
    receiver.fail_once_for = ana["id"]  # Ana's first delivery fails once
    await api.patch(f"/v1/customers/{ana['id']}", {"name": "Ana Souza"})
    await api.post("/v1/customers", {"name": "Bia"})
    dispatcher = dispatcher_for(database, clock)
    try:
        first_pass = await dispatcher.dispatch_once()
        clock.advance(timedelta(seconds=7))
        while await dispatcher.dispatch_once():
            pass
    finally:
        await dispatcher.close()
    about_ana = [
        json.loads(r.body)["type"]
        for r in receiver.received
        if json.loads(r.body)["data"]["id"] == ana["id"]
    ]
    if ordering == "per_customer":
        assert first_pass == 2  # Ana's update waits behind her creation; Bia goes
        assert about_ana == ["customer.created", "customer.created", "customer.updated"]
    else:
        assert first_pass == 3  # nothing waits: both of Ana's messages go at once
        assert sorted(about_ana)[-1] == "customer.updated" and len(about_ana) == 3


async def wait_until(receiver: Receiver, condition: Callable[[], bool]) -> None:
    """Wait, bounded, until what the receiver got satisfies `condition`."""
    async with asyncio.timeout(20):
        while not condition():
            receiver.changed.clear()
            await receiver.changed.wait()


async def test_a_stuck_endpoint_does_not_hold_back_the_others(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    await new_endpoint(api, receiver.url.replace("/hook", "/slow"))
    for n in range(60):  # a backlog on the endpoint that will get stuck, older than the rest
        await api.post("/v1/customers", {"name": f"Antigo {n}"})
    await new_endpoint(api, receiver.ok_url)
    for n in range(30):
        await api.post("/v1/customers", {"name": f"Cliente {n}"})
    config = DispatcherConfig(allow_private_targets=True, per_endpoint_in_flight=10)
    dispatcher = Dispatcher(database, clock, SecretBox(TEST_SECRET_KEY), config)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        await wait_until(receiver, lambda: len(receiver.healthy) == 30)
        # Every healthy delivery arrived while the stuck endpoint held its 10 slots.
        assert len(receiver.slow) == 10
        receiver.release_slow.set()
        await wait_until(receiver, lambda: len(receiver.slow) == 90)
    finally:
        receiver.release_slow.set()
        stop.set()
        await running
    async with database.read() as session:
        statuses = (await session.scalars(select(WebhookMessage.status))).all()
    assert sorted(set(statuses)) == ["delivered"] and len(statuses) == 120


async def test_rate_limit_spreads_an_endpoints_deliveries_over_seconds(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    await new_endpoint(api, receiver.url, rate_limit=3)
    await new_endpoint(api, receiver.ok_url)  # no limit: not held back by the other's
    for n in range(8):
        await api.post("/v1/customers", {"name": f"Cliente {n}"})
    dispatcher = dispatcher_for(database, clock)
    sent_per_second = []
    try:
        assert await dispatcher.dispatch_once() == 3 + 8
        assert await dispatcher.dispatch_once() == 0  # this second's budget is spent
        for _ in range(2):
            clock.advance(timedelta(seconds=1))
            sent_per_second.append(await dispatcher.dispatch_once())
    finally:
        await dispatcher.close()
    assert sent_per_second == [3, 2]
    assert len(receiver.received) == 8 and len(receiver.healthy) == 8
