"""`Idempotency-Key` on POST: replay, conflict, tenant scope, expiry, errors, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.idempotency import IdempotencyKey
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.db.database import Database
from assina.events.models import Event
from tests.conftest import TenantClient, make_tenant

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
PROBLEM = "application/problem+json"


def key(value: str) -> dict[str, str]:
    return {KEY: value}


async def count(database: Database, model: Any, tenant_id: str, **filters: Any) -> int:
    statement = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
    for name, value in filters.items():
        statement = statement.where(getattr(model, name) == value)
    async with database.read() as session:
        return int(await session.scalar(statement) or 0)


async def test_same_key_and_body_replays_the_first_answer(
    api: TenantClient, database: Database
) -> None:
    body = {"name": "Ana", "email": "ana@example.com", "metadata": {"plan": "gold"}}
    first = await api.post("/v1/customers", body, headers=key("k-1"))
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers

    again = await api.post("/v1/customers", body, headers=key("k-1"))
    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()

    # The same JSON written differently is the same request.
    reordered = b'{ "metadata": {"plan": "gold"},\n "email": "ana@example.com", "name": "Ana" }'
    third = await api.http.post(
        "/v1/customers",
        content=reordered,
        headers={**api.headers, **key("k-1"), "Content-Type": "application/json"},
    )
    assert third.status_code == 201
    assert third.headers[REPLAYED] == "true"
    assert third.json() == first.json()

    tenant_id = api.tenant.tenant_id
    assert await count(database, Customer, tenant_id) == 1
    assert await count(database, Event, tenant_id, type="customer.created") == 1
    assert await count(database, Event, tenant_id) == 1


async def test_without_a_key_every_post_creates(api: TenantClient, database: Database) -> None:
    for _ in range(2):
        assert (await api.post("/v1/customers", {"name": "Ana"})).status_code == 201
    assert await count(database, Customer, api.tenant.tenant_id) == 2


async def test_same_key_with_another_body_is_409(api: TenantClient, database: Database) -> None:
    first = await api.post("/v1/customers", {"name": "Ana"}, headers=key("k-2"))
    assert first.status_code == 201

    other = await api.post("/v1/customers", {"name": "Bia"}, headers=key("k-2"))
    assert other.status_code == 409
    assert other.headers["content-type"].split(";")[0] == PROBLEM
    problem = other.json()
    assert problem["type"] == "urn:assina:problem:idempotency-key-reused"
    assert problem["status"] == 409
    assert problem["title"] and problem["detail"]
    assert REPLAYED not in other.headers

    # Another path with the same key is another request too.
    product = await api.post("/v1/products", {"name": "Plano", "amount": 1000}, headers=key("k-2"))
    assert product.status_code == 409

    # The first answer is still what the key replays.
    replay = await api.post("/v1/customers", {"name": "Ana"}, headers=key("k-2"))
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert await count(database, Customer, api.tenant.tenant_id) == 1
    assert await count(database, Event, api.tenant.tenant_id) == 1


async def test_tenants_use_keys_independently(
    api: TenantClient, other_api: TenantClient, database: Database
) -> None:
    mine = await api.post("/v1/customers", {"name": "Ana"}, headers=key("shared"))
    theirs = await other_api.post("/v1/customers", {"name": "Ana"}, headers=key("shared"))
    assert mine.status_code == theirs.status_code == 201
    assert REPLAYED not in mine.headers and REPLAYED not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    # And a different body under the other tenant's key is no conflict for this one.
    bia = await other_api.post("/v1/customers", {"name": "Bia"}, headers=key("only-theirs"))
    assert bia.status_code == 201
    mine_too = await api.post("/v1/customers", {"name": "Caio"}, headers=key("only-theirs"))
    assert mine_too.status_code == 201
    assert REPLAYED not in mine_too.headers
    assert await count(database, Customer, api.tenant.tenant_id) == 2
    assert await count(database, Customer, other_api.tenant.tenant_id) == 2


async def test_keys_expire_after_24_hours(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    body = {"name": "Ana"}
    first = await api.post("/v1/customers", body, headers=key("k-3"))
    assert first.status_code == 201

    clock.advance(timedelta(hours=23))
    still = await api.post("/v1/customers", body, headers=key("k-3"))
    assert still.headers.get(REPLAYED) == "true"
    assert still.json()["id"] == first.json()["id"]

    clock.advance(timedelta(hours=2))  # 25 h after the first use
    fresh = await api.post("/v1/customers", body, headers=key("k-3"))
    assert fresh.status_code == 201
    assert REPLAYED not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"]
    assert fresh.json()["number"] == first.json()["number"] + 1

    # The key now stands for the new request, for another 24 h.
    replay = await api.post("/v1/customers", body, headers=key("k-3"))
    assert replay.headers.get(REPLAYED) == "true"
    assert replay.json()["id"] == fresh.json()["id"]
    assert await count(database, Customer, api.tenant.tenant_id) == 2
    assert await count(database, Event, api.tenant.tenant_id) == 2
    assert await count(database, IdempotencyKey, api.tenant.tenant_id) == 1


async def test_a_422_is_not_stored(api: TenantClient, database: Database) -> None:
    bad = await api.post("/v1/customers", {"name": "Ana", "document": "123"}, headers=key("k-4"))
    assert bad.status_code == 422
    assert await count(database, IdempotencyKey, api.tenant.tenant_id) == 0

    good = await api.post(
        "/v1/customers", {"name": "Ana", "document": "529.982.247-25"}, headers=key("k-4")
    )
    assert good.status_code == 201, good.text
    assert REPLAYED not in good.headers
    assert good.json()["document"] == "52998224725"
    assert await count(database, Customer, api.tenant.tenant_id) == 1


async def test_an_error_from_the_use_case_is_not_stored(
    api: TenantClient, database: Database
) -> None:
    created = await api.post("/v1/customers", {"name": "Ana"})
    customer_id = created.json()["id"]
    assert (await api.post(f"/v1/customers/{customer_id}/deactivate")).status_code == 200

    # Reactivating an active customer is refused; that refusal must not stick to the key.
    await api.post(f"/v1/customers/{customer_id}/reactivate")
    refused = await api.post(f"/v1/customers/{customer_id}/reactivate", headers=key("k-5"))
    assert refused.status_code == 409
    assert await count(database, IdempotencyKey, api.tenant.tenant_id) == 0

    assert (await api.post(f"/v1/customers/{customer_id}/deactivate")).status_code == 200
    retried = await api.post(f"/v1/customers/{customer_id}/reactivate", headers=key("k-5"))
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert retried.json()["status"] == "active"

    replay = await api.post(f"/v1/customers/{customer_id}/reactivate", headers=key("k-5"))
    assert replay.status_code == 200
    assert replay.headers[REPLAYED] == "true"
    assert await count(database, Event, api.tenant.tenant_id, type="customer.reactivated") == 2


@pytest.mark.parametrize("value", ["", "x" * 256, "bad\x7fkey"], ids=["empty", "long", "control"])
async def test_an_invalid_key_is_400(api: TenantClient, database: Database, value: str) -> None:
    response = await api.http.post(
        "/v1/customers",
        json={"name": "Ana"},
        headers={**api.headers, KEY: value},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].split(";")[0] == PROBLEM
    assert response.json()["type"] == "urn:assina:problem:invalid-idempotency-key"
    assert await count(database, Customer, api.tenant.tenant_id) == 0


async def test_the_longest_key_is_accepted(api: TenantClient) -> None:
    longest = "k" * 255
    first = await api.post("/v1/customers", {"name": "Ana"}, headers=key(longest))
    assert first.status_code == 201
    again = await api.post("/v1/customers", {"name": "Ana"}, headers=key(longest))
    assert again.headers[REPLAYED] == "true"


# --- concurrency -------------------------------------------------------------------------

CONCURRENT = 10


@pytest.fixture
async def roomy_http(
    db_url: str, app_settings: Settings, clock: FrozenClock
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """The app on its own pool, big enough that every concurrent request holds a connection."""
    database = Database.from_url(db_url, pool_size=CONCURRENT + 2)
    app = create_app(app_settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://assina.test") as http:
            yield http, database
    finally:
        await database.dispose()


async def _tenant(database: Database, clock: FrozenClock, box: SecretBox) -> dict[str, str]:
    created = await make_tenant(database, clock, box, "Escola Alfa")
    return {"Authorization": f"Bearer {created.api_key}", "_tenant": created.tenant_id}


async def test_concurrent_posts_with_one_key_create_one_customer(
    roomy_http: tuple[httpx.AsyncClient, Database], clock: FrozenClock, secret_box: SecretBox
) -> None:
    http, database = roomy_http
    auth = await _tenant(database, clock, secret_box)
    tenant_id = auth.pop("_tenant")
    for round_number in range(3):
        headers = {**auth, KEY: f"together-{round_number}"}
        body = {"name": f"Ana {round_number}", "document": "529.982.247-25"}
        answers = await asyncio.gather(
            *(http.post("/v1/customers", json=body, headers=headers) for _ in range(CONCURRENT))
        )
        assert [a.status_code for a in answers] == [201] * CONCURRENT, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
        assert all(a.json() == answers[0].json() for a in answers)
        assert sum(REPLAYED not in a.headers for a in answers) == 1
        assert sum(a.headers.get(REPLAYED) == "true" for a in answers) == CONCURRENT - 1

    assert await count(database, Customer, tenant_id) == 3
    assert await count(database, Event, tenant_id) == 3
    async with database.read() as session:
        numbers = sorted(await session.scalars(select(Customer.number)))
    assert numbers == [1, 2, 3]


async def test_concurrent_posts_with_one_key_and_different_bodies(
    roomy_http: tuple[httpx.AsyncClient, Database], clock: FrozenClock, secret_box: SecretBox
) -> None:
    http, database = roomy_http
    auth = await _tenant(database, clock, secret_box)
    tenant_id = auth.pop("_tenant")
    headers = {**auth, KEY: "contested"}
    answers = await asyncio.gather(
        *(
            http.post("/v1/customers", json={"name": f"Cliente {i}"}, headers=headers)
            for i in range(CONCURRENT)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (CONCURRENT - 1), [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 201)
    assert await count(database, Customer, tenant_id) == 1
    async with database.read() as session:
        names = list(await session.scalars(select(Customer.name)))
    assert names == [winner.json()["name"]]


async def test_concurrent_posts_with_distinct_keys_all_create(
    roomy_http: tuple[httpx.AsyncClient, Database], clock: FrozenClock, secret_box: SecretBox
) -> None:
    http, database = roomy_http
    auth = await _tenant(database, clock, secret_box)
    tenant_id = auth.pop("_tenant")
    answers = await asyncio.gather(
        *(
            http.post("/v1/customers", json={"name": "Ana"}, headers={**auth, KEY: f"own-{i}"})
            for i in range(CONCURRENT)
        )
    )
    assert [a.status_code for a in answers] == [201] * CONCURRENT
    assert not any(REPLAYED in a.headers for a in answers)
    assert sorted(a.json()["number"] for a in answers) == list(range(1, CONCURRENT + 1))
    assert await count(database, Customer, tenant_id) == CONCURRENT
    assert await count(database, Event, tenant_id) == CONCURRENT
