"""A tenant's API keys over HTTP: issued once, listed by hint only, revoked everywhere within a
second (also in another app on the same database), never the last one, and `last_used_at`
written at most once a minute."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.errors import Problem
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.tenants.keys import revoke_api_key
from assina.tenants.service import create_tenant
from tests.assertions import assert_problem
from tests.conftest import START, TenantClient

KEYS = "/v1/api-keys"


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def issue(api: TenantClient) -> dict[str, Any]:
    response = await api.post(KEYS)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def the_only_key_id(api: TenantClient) -> str:
    [key] = (await api.get(KEYS)).json()["data"]
    key_id: str = key["id"]
    return key_id


async def tenant_status(http: httpx.AsyncClient, api_key: str) -> int:
    return (await http.get("/v1/tenant", headers=bearer(api_key))).status_code


@pytest.fixture
async def second_app(
    app_settings: Settings, db_url: str, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """Another app on the same database, with its own pool and its own key cache: what
    another `serve` process is."""
    database = Database.from_url(db_url, pool_size=2)
    app = create_app(app_settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
        yield http
    await database.dispose()


async def test_a_new_key_is_shown_once_and_works(api: TenantClient) -> None:
    issued = await issue(api)
    assert issued["key"].startswith("sk_live_")
    assert issued["hint"] == issued["key"][:12]
    assert issued["id"].startswith("key_")
    assert issued["created_at"] == START.isoformat().replace("+00:00", "Z")
    assert (issued["last_used_at"], issued["revoked_at"]) == (None, None)
    assert await tenant_status(api.http, issued["key"]) == 200
    assert await tenant_status(api.http, api.tenant.api_key) == 200  # the old one still works


async def test_a_sandbox_tenant_gets_test_keys(
    client: httpx.AsyncClient, database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    async with database.write() as session:
        created = await create_tenant(session, clock, secret_box, "Sandbox", sandbox=True)
    issued = await issue(TenantClient(created, client))
    assert issued["key"].startswith("sk_test_")
    assert issued["hint"].startswith("sk_test_")


async def test_the_list_shows_hints_never_keys_and_pages(
    api: TenantClient, other_api: TenantClient
) -> None:
    issued = [await issue(api) for _ in range(2)]
    await issue(other_api)
    listed = await api.get(KEYS)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [key["id"] for key in body["data"]][1:] == [key["id"] for key in issued]
    assert body["has_more"] is False
    for key in body["data"]:
        assert set(key) == {"id", "hint", "created_at", "last_used_at", "revoked_at"}
    for api_key in (api.tenant.api_key, *(key["key"] for key in issued)):
        assert api_key not in listed.text
        assert api_key[:12] in listed.text  # each is told apart by its hint

    first = (await api.get(KEYS, params={"limit": 2})).json()
    assert first["has_more"] is True
    rest = await api.get(KEYS, params={"limit": 2, "starting_after": first["data"][-1]["id"]})
    assert [key["id"] for key in rest.json()["data"]] == [issued[1]["id"]]
    assert rest.json()["has_more"] is False


async def test_a_revoked_key_is_refused_and_listed_as_revoked(
    api: TenantClient, clock: FrozenClock
) -> None:
    issued = await issue(api)
    clock.advance(timedelta(minutes=5))
    revoked = await api.delete(f"{KEYS}/{issued['id']}")
    assert revoked.status_code == 200, revoked.text
    when = (START + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert revoked.json()["revoked_at"] == when
    assert "key" not in revoked.json()
    assert_problem(await api.http.get("/v1/tenant", headers=bearer(issued["key"])), 401)

    clock.advance(timedelta(minutes=5))
    again = await api.delete(f"{KEYS}/{issued['id']}")  # changes nothing
    assert again.status_code == 200, again.text
    assert again.json()["revoked_at"] == when
    listed = {key["id"]: key for key in (await api.get(KEYS)).json()["data"]}
    assert listed[issued["id"]]["revoked_at"] == when


async def test_a_key_may_revoke_itself_while_another_remains(api: TenantClient) -> None:
    spare = await issue(api)
    own_id = next(
        key["id"] for key in (await api.get(KEYS)).json()["data"] if key["id"] != spare["id"]
    )
    assert (await api.delete(f"{KEYS}/{own_id}")).status_code == 200
    assert_problem(await api.get("/v1/tenant"), 401)
    assert await tenant_status(api.http, spare["key"]) == 200


async def test_the_last_unrevoked_key_cannot_be_revoked(api: TenantClient) -> None:
    own_id = await the_only_key_id(api)
    assert_problem(await api.delete(f"{KEYS}/{own_id}"), 409, "last-api-key")
    assert await tenant_status(api.http, api.tenant.api_key) == 200

    spare = await issue(api)
    assert (await api.delete(f"{KEYS}/{own_id}")).status_code == 200
    spare_client = TenantClient(api.tenant.model_copy(update={"api_key": spare["key"]}), api.http)
    assert_problem(await spare_client.delete(f"{KEYS}/{spare['id']}"), 409, "last-api-key")


async def test_two_revocations_at_once_leave_one_key(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """Each alone would be allowed; together they would lock the tenant out. The second
    waits for the first's transaction, then sees it was the last key."""
    spare = await issue(api)
    own_id = next(
        key["id"] for key in (await api.get(KEYS)).json()["data"] if key["id"] != spare["id"]
    )

    async def revoke_spare() -> None:
        async with database.write() as session:
            await revoke_api_key(session, clock, api.tenant.tenant_id, spare["id"])

    async with database.write() as session:
        await revoke_api_key(session, clock, api.tenant.tenant_id, own_id)
        second = asyncio.create_task(revoke_spare())
        # A bound, not a clock: without the lock the second revocation is done by then.
        done, _pending = await asyncio.wait({second}, timeout=0.5)
        assert not done, "the second revocation did not wait for the first"
    with pytest.raises(Problem) as refused:
        await second
    assert refused.value.slug == "last-api-key"
    listed = (
        await TenantClient(api.tenant.model_copy(update={"api_key": spare["key"]}), api.http).get(
            KEYS
        )
    ).json()["data"]
    assert [key["revoked_at"] is None for key in listed] == [False, True]


async def test_another_tenants_key_is_not_found(api: TenantClient, other_api: TenantClient) -> None:
    foreign = await issue(other_api)
    await issue(api)  # so that a revocation would be allowed if the key were ours
    assert_problem(await api.delete(f"{KEYS}/{foreign['id']}"), 404, "not-found")
    assert_problem(await api.delete(f"{KEYS}/key_missing"), 404, "not-found")
    assert await tenant_status(api.http, foreign["key"]) == 200
    assert foreign["id"] not in (await api.get(KEYS)).text


async def test_another_app_refuses_a_revoked_key_within_a_second(
    api: TenantClient, second_app: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """The revocation is made in one app; the other has the key cached. Time is moved on
    the clock both apps' caches run by, never slept."""
    spare = await issue(api)
    assert await tenant_status(second_app, spare["key"]) == 200  # now cached there
    assert (await api.delete(f"{KEYS}/{spare['id']}")).status_code == 200
    clock.advance(timedelta(milliseconds=999))
    assert await tenant_status(second_app, spare["key"]) == 200  # the cache's window
    clock.advance(timedelta(milliseconds=1))
    assert_problem(await second_app.get("/v1/tenant", headers=bearer(spare["key"])), 401)
    assert await tenant_status(second_app, api.tenant.api_key) == 200


def statements_on_api_keys(database: Database, verb: str) -> Iterator[list[str]]:
    """The statements starting with `verb` that name api_keys, sent while the test runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.lstrip().upper()
        if words.startswith(verb) and "API_KEYS" in words:
            seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(database.engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
def key_updates(database: Database) -> Iterator[list[str]]:
    yield from statements_on_api_keys(database, "UPDATE")


@pytest.fixture
def key_reads(database: Database) -> Iterator[list[str]]:
    yield from statements_on_api_keys(database, "SELECT")


async def test_a_burst_on_a_cold_cache_reads_the_key_once(
    api: TenantClient, clock: FrozenClock, key_reads: list[str]
) -> None:
    """When the key's cached second runs out under a burst, the first request reads it and
    the others wait for that read, instead of each taking a database connection for it."""
    assert await tenant_status(api.http, api.tenant.api_key) == 200
    clock.advance(timedelta(seconds=2))
    key_reads.clear()
    statuses = await asyncio.gather(
        *(tenant_status(api.http, api.tenant.api_key) for _ in range(20))
    )
    assert statuses == [200] * 20
    assert len(key_reads) == 1, key_reads


async def test_last_used_at_is_written_at_most_once_a_minute(
    api: TenantClient, clock: FrozenClock, key_updates: list[str]
) -> None:
    assert await tenant_status(api.http, api.tenant.api_key) == 200
    # 100 requests over 150 s, each past the cache's second: three writes (0, 60, 120 s).
    for _ in range(100):
        clock.advance(timedelta(seconds=1.5))
        assert await tenant_status(api.http, api.tenant.api_key) == 200
    assert len(key_updates) == 3, key_updates
    [key] = (await api.get(KEYS)).json()["data"]
    assert key["last_used_at"] == (START + timedelta(seconds=120)).isoformat().replace(
        "+00:00", "Z"
    )
