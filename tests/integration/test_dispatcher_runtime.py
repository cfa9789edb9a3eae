"""The dispatcher as it runs: cross-process wake-ups, metrics, ping, the 5-day disable rule,
per-customer ordering, a stuck endpoint among healthy ones, and rate limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.webhooks.dispatcher import Dispatcher, DispatcherConfig
from assina.webhooks.models import WebhookMessage
from tests.conftest import TEST_SECRET_KEY, TenantClient
from tests.integration.delivery_support import (
    Receiver,
    dispatcher_for,
    new_endpoint,
)


@pytest.fixture
def clock() -> FrozenClock:
    # The reference verifiers compare `webhook-timestamp` with the wall clock.
    return FrozenClock(datetime.now(UTC))


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
