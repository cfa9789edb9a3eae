"""Limits (issue 13 point 5, docs/limits.md), on both databases: requests per API key (a token
bucket on the runtime clock, shared by every process on PostgreSQL), webhook endpoints per
tenant, and manual retries and recovers per endpoint per hour. A limit answers a problem+json
with `Retry-After` and the `RateLimit-Policy` / `RateLimit` fields, and changes nothing.

These tests run the server's default limits (the suite's other tests get a bucket they never
empty, tests/conftest.py), read from `Settings`, so changing a default keeps them true."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.db.database import Database
from assina.webhooks.models import WebhookEndpoint, WebhookMessage
from tests.assertions import assert_problem
from tests.conftest import TEST_SECRET_KEY, TenantClient, make_tenant

DEFAULTS = Settings(secret_key=TEST_SECRET_KEY)
BURST = DEFAULTS.api_rate_limit_burst
PER_SECOND = DEFAULTS.api_rate_limit_per_second
WINDOW = math.ceil(BURST / PER_SECOND)  # seconds an empty bucket takes to fill
HOOK = "http://127.0.0.1:9/hook"  # never called: no dispatcher runs in these tests

JSON = {"Content-Type": "application/json"}

AppFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def serve(db_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[AppFactory]:
    """Starts an app (what one `serve` process is: its own pool, key cache and, on SQLite, its
    own buckets) on the test's database with the default limits but for `overrides` (and the
    hold of a known refusal, off unless asked)."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> httpx.AsyncClient:
            # No hold before a known refusal's 429 unless a test asks: its tests wait for it.
            overrides = {"api_refusal_hold_seconds": 0, **overrides}
            settings = Settings(
                database_url=db_url,
                secret_key=TEST_SECRET_KEY,
                data_dir=tmp_path,
                allow_private_targets=True,
                **overrides,
            )
            database = Database.from_url(db_url, pool_size=4)
            stack.push_async_callback(database.dispose)
            app = create_app(settings, database=database, clock=clock)
            transport = httpx.ASGITransport(app=app)
            http = httpx.AsyncClient(transport=transport, base_url="http://assina.test")
            return await stack.enter_async_context(http)

        yield start


async def tenant_on(
    http: httpx.AsyncClient, database: Database, clock: FrozenClock, name: str = "Escola Alfa"
) -> TenantClient:
    return TenantClient(await make_tenant(database, clock, SecretBox(TEST_SECRET_KEY), name), http)


async def spend(api: TenantClient, requests: int) -> list[int]:
    """`requests` reads of the tenant, one after the other: their statuses."""
    return [(await api.get("/v1/tenant")).status_code for _ in range(requests)]


def policy_of(response: httpx.Response) -> str:
    return response.headers["RateLimit-Policy"]


def state_of(response: httpx.Response) -> str:
    return response.headers["RateLimit"]


async def count(database: Database, model: Any) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------------------------------------
# Requests per API key
# ---------------------------------------------------------------------------------------------


async def test_a_burst_past_the_bucket_is_answered_429_with_headers(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    api = await tenant_on(await serve(), database, clock)

    first = await api.get("/v1/tenant")
    assert first.status_code == 200
    assert policy_of(first) == f'"requests";q={BURST};w={WINDOW}'
    assert state_of(first) == f'"requests";r={BURST - 1};t=1'

    assert await spend(api, BURST - 1) == [200] * (BURST - 1)
    refused = await api.get("/v1/tenant")
    body = assert_problem(refused, 429, "rate-limited")
    assert "requests" in body["detail"]
    assert refused.headers["Retry-After"] == "1"
    assert policy_of(refused) == f'"requests";q={BURST};w={WINDOW}'
    assert state_of(refused) == f'"requests";r=0;t={WINDOW}'

    # Known refused, the key is answered before its request is even read: a body that is
    # not JSON gets the 429, not a 400.
    again = await api.post("/v1/customers", content=b"{not json", headers=JSON)
    assert_problem(again, 429, "rate-limited")
    assert again.headers["Retry-After"] == "1"
    assert state_of(again) == f'"requests";r=0;t={WINDOW}'


async def test_a_key_sending_while_refused_waits_for_its_429_and_no_one_else_does(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    """A key refused once and sending again before its Retry-After is answered after a hold
    (jittered, half to all of it): a flood's connections come back once a hold, not as fast
    as the process can refuse them. The hold is real time, and another tenant is served
    meanwhile."""
    hold = 2.0
    http = await serve(api_refusal_hold_seconds=hold)
    flood = await tenant_on(http, database, clock, "Rajada")
    calm = await tenant_on(http, database, clock, "Escola Calma")
    assert await spend(flood, BURST) == [200] * BURST

    started = time.monotonic()
    assert_problem(await flood.get("/v1/tenant"), 429, "rate-limited")  # the bucket's own
    assert time.monotonic() - started < hold / 2  # the first refusal is not held

    started = time.monotonic()
    held = asyncio.create_task(flood.get("/v1/tenant"))
    assert (await calm.get("/v1/tenant")).status_code == 200
    assert not held.done()
    refused = await held
    assert time.monotonic() - started >= hold / 2
    assert_problem(refused, 429, "rate-limited")
    assert refused.headers["Retry-After"] == "1"


async def test_the_operations_routes_are_not_limited(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    api = await tenant_on(await serve(), database, clock)
    assert await spend(api, BURST) == [200] * BURST
    assert (await api.get("/v1/tenant")).status_code == 429

    # The same Authorization on the probes (schemathesis found them refused 429).
    for path in ("/healthz", "/readyz", "/metrics"):
        answer = await api.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert "RateLimit" not in answer.headers


async def test_the_bucket_refills_with_the_clock(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    api = await tenant_on(await serve(), database, clock)
    assert await spend(api, BURST) == [200] * BURST
    assert (await api.get("/v1/tenant")).status_code == 429

    clock.advance(timedelta(seconds=1))  # refills PER_SECOND tokens, no more
    refilled = int(PER_SECOND)
    assert await spend(api, refilled + 1) == [200] * refilled + [429]

    clock.advance(timedelta(hours=1))  # a long pause fills the bucket, never past its burst
    assert await spend(api, BURST + 1) == [200] * BURST + [429]


async def test_an_answer_from_a_route_that_fails_still_takes_a_token(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    """A 404 or 422 costs the server as much as a 200: the bucket counts every request."""
    api = await tenant_on(await serve(), database, clock)
    missing = await api.get("/v1/customers/cus_missing")
    assert missing.status_code == 404
    assert state_of(missing) == f'"requests";r={BURST - 1};t=1'


async def test_other_keys_and_tenants_have_their_own_buckets(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    http = await serve()
    api = await tenant_on(http, database, clock)
    other = await tenant_on(http, database, clock, "Clube Beta")
    issued = (await api.post("/v1/api-keys")).json()
    second = TenantClient(api.tenant.model_copy(update={"api_key": issued["key"]}), http)

    await spend(api, BURST)
    assert (await api.get("/v1/tenant")).status_code == 429

    assert state_of(await other.get("/v1/tenant")) == f'"requests";r={BURST - 1};t=1'
    keys = (await second.get("/v1/api-keys")).json()["data"]
    assert state_of(await second.get("/v1/tenant")) == f'"requests";r={BURST - 2};t=1'
    # The emptied key revoked with the other one: then 401, not 429 (who asks comes first).
    [emptied] = [key["id"] for key in keys if key["id"] != issued["id"]]
    assert (await second.delete(f"/v1/api-keys/{emptied}")).status_code == 200
    assert_problem(await api.get("/v1/tenant"), 401)


async def test_a_refused_request_changes_nothing(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    api = await tenant_on(await serve(), database, clock)
    await spend(api, BURST)
    key = {"Idempotency-Key": "refused-then-sent-again"}

    refused = await api.post("/v1/customers", {"name": "Ana Souza"}, headers=key)
    assert_problem(refused, 429, "rate-limited")
    assert await count(database, Customer) == 0

    # The key was not taken: once admitted, the same request creates the customer.
    clock.advance(timedelta(seconds=1))
    created = await api.post("/v1/customers", {"name": "Ana Souza"}, headers=key)
    assert created.status_code == 201, created.text
    assert "Idempotent-Replayed" not in created.headers
    assert await count(database, Customer) == 1


async def test_the_limit_can_be_turned_off(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    api = await tenant_on(await serve(api_rate_limit_per_second=0), database, clock)
    assert await spend(api, BURST + 5) == [200] * (BURST + 5)
    assert "RateLimit" not in (await api.get("/v1/tenant")).headers


async def test_two_processes_share_one_bucket_on_postgresql(
    db_url: str, serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is served by one process: its buckets live in that process")
    one, two = await serve(), await serve()
    api = await tenant_on(one, database, clock)
    api_elsewhere = TenantClient(api.tenant, two)

    # Concurrently from both processes, more than the bucket holds: exactly BURST admitted.
    answers = await asyncio.gather(
        *(client.get("/v1/tenant") for client in [api, api_elsewhere] * BURST)
    )
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == BURST
    assert statuses.count(429) == BURST

    # One second refills PER_SECOND tokens for both: one taken here, one there.
    clock.advance(timedelta(seconds=1))
    assert await spend(api, 1) == [200]
    left = int(PER_SECOND) - 2
    refill_seconds = math.ceil((BURST - left) / PER_SECOND)
    assert state_of(await api_elsewhere.get("/v1/tenant")) == (
        f'"requests";r={left};t={refill_seconds}'
    )


# ---------------------------------------------------------------------------------------------
# Webhook endpoints per tenant
# ---------------------------------------------------------------------------------------------


async def test_an_endpoint_past_the_cap_is_refused_409(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    """The issue's reproduction created 300 endpoints, then one PATCH fanned out 300
    deliveries: past the cap the creation is refused, and nothing is written."""
    cap = DEFAULTS.max_webhook_endpoints
    api = await tenant_on(await serve(), database, clock)
    other = await tenant_on(await serve(), database, clock, "Clube Beta")
    created = [await api.post("/v1/webhook-endpoints", {"url": HOOK}) for _ in range(cap)]
    assert [r.status_code for r in created] == [201] * cap

    refused = await api.post("/v1/webhook-endpoints", {"url": HOOK})
    body = assert_problem(refused, 409, "webhook-endpoint-limit")
    assert str(cap) in body["detail"]
    assert await count(database, WebhookEndpoint) == cap
    # Another tenant's cap is its own.
    assert (await other.post("/v1/webhook-endpoints", {"url": HOOK})).status_code == 201

    # A deleted endpoint frees its place.
    assert (await api.delete(f"/v1/webhook-endpoints/{created[0].json()['id']}")).is_success
    assert (await api.post("/v1/webhook-endpoints", {"url": HOOK})).status_code == 201


async def test_concurrent_creations_never_pass_the_cap(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    one, two = await serve(max_webhook_endpoints=3), await serve(max_webhook_endpoints=3)
    api = await tenant_on(one, database, clock)
    elsewhere = TenantClient(api.tenant, two)
    answers = await asyncio.gather(
        *(c.post("/v1/webhook-endpoints", {"url": HOOK}) for c in [api, elsewhere] * 4)
    )
    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 5
    assert await count(database, WebhookEndpoint) == 3


# ---------------------------------------------------------------------------------------------
# Manual retries and recovers per endpoint per hour
# ---------------------------------------------------------------------------------------------


async def endpoint_with_message(api: TenantClient) -> tuple[str, str]:
    """An endpoint and the message a new customer fanned out to it."""
    endpoint = await api.post("/v1/webhook-endpoints", {"url": HOOK})
    assert endpoint.status_code == 201, endpoint.text
    assert (await api.post("/v1/customers", {"name": "Ana Souza"})).status_code == 201
    endpoint_id = endpoint.json()["id"]
    listed = await api.get(f"/v1/webhook-endpoints/{endpoint_id}/messages")
    [message] = listed.json()["data"]
    return endpoint_id, message["id"]


async def message_row(database: Database, message_id: str) -> tuple[str, Any, int]:
    async with database.read() as session:
        message = await session.get_one(WebhookMessage, message_id)
        return message.status, message.next_attempt_at, message.attempt_count


async def test_manual_retries_are_capped_per_endpoint_per_hour(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    api = await tenant_on(await serve(message_retries_per_hour=3), database, clock)
    _, message_id = await endpoint_with_message(api)
    retry = f"/v1/messages/{message_id}/retry"

    admitted = [await api.post(retry) for _ in range(3)]
    assert [r.status_code for r in admitted] == [200] * 3
    assert policy_of(admitted[0]) == f'"requests";q={BURST};w={WINDOW}, "retries";q=3;w=3600'
    assert state_of(admitted[0]).endswith('"retries";r=2;t=1200')

    clock.advance(timedelta(minutes=1))
    before = await message_row(database, message_id)
    refused = await api.post(retry)
    assert_problem(refused, 429, "rate-limited")
    assert refused.headers["Retry-After"] == str(19 * 60)  # a third of an hour per retry
    assert '"retries";r=0' in state_of(refused)
    assert await message_row(database, message_id) == before

    clock.advance(timedelta(minutes=19))
    assert (await api.post(retry)).status_code == 200

    # Another endpoint's messages have their own allowance.
    _, other_message = await endpoint_with_message(api)
    assert (await api.post(f"/v1/messages/{other_message}/retry")).status_code == 200
    assert (await api.post(retry)).status_code == 429


async def test_recovers_are_capped_per_endpoint_per_hour(
    serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    api = await tenant_on(await serve(endpoint_recovers_per_hour=2), database, clock)
    endpoint_id, _ = await endpoint_with_message(api)
    recover = f"/v1/webhook-endpoints/{endpoint_id}/recover"
    since = {"since": "2026-01-01T00:00:00Z"}

    assert [(await api.post(recover, since)).status_code for _ in range(2)] == [200, 200]
    refused = await api.post(recover, since)
    assert_problem(refused, 429, "rate-limited")
    assert refused.headers["Retry-After"] == str(30 * 60)
    assert '"recovers";q=2;w=3600' in policy_of(refused)

    # A missing endpoint is a 404 whatever its allowance: nothing to count.
    assert_problem(await api.post("/v1/webhook-endpoints/whe_missing/recover", since), 404)
    clock.advance(timedelta(minutes=30))
    assert (await api.post(recover, since)).status_code == 200


async def test_the_hourly_allowance_is_shared_by_processes_on_postgresql(
    db_url: str, serve: AppFactory, database: Database, clock: FrozenClock
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is served by one process: its buckets live in that process")
    one, two = await serve(message_retries_per_hour=4), await serve(message_retries_per_hour=4)
    api = await tenant_on(one, database, clock)
    _, message_id = await endpoint_with_message(api)
    retry = f"/v1/messages/{message_id}/retry"
    elsewhere = TenantClient(api.tenant, two)
    statuses = [(await client.post(retry)).status_code for client in [api, elsewhere] * 3]
    assert statuses == [200] * 4 + [429] * 2


# ---------------------------------------------------------------------------------------------
# The OpenAPI document
# ---------------------------------------------------------------------------------------------


async def test_every_operation_that_takes_a_key_declares_its_429(serve: AppFactory) -> None:
    schema = (await (await serve()).get("/openapi.json")).json()
    checked = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if not operation.get("security"):
                continue
            checked += 1
            too_many = operation["responses"].get("429")
            assert too_many is not None, (method, path)
            assert "application/problem+json" in too_many["content"]
            assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= too_many["headers"].keys()
    assert checked > 50
