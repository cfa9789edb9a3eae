"""Shared fixtures: real databases (SQLite always; PostgreSQL when ASSINA_TEST_DATABASE_URL is
set), a frozen clock, the app in-process over httpx, and tenants with API keys.

Every database test runs once per backend through the parametrized `db_url` fixture. Schemas
are built by migrating (never `create_all`): SQLite tests copy a database migrated once per
worker; PostgreSQL tests share one migrated database per xdist worker, emptied before each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url

from assina import reactions
from assina.app import create_app
from assina.charges.links import install_payment_links
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db import migrate
from assina.db.database import Database, create_engine
from assina.registry import metadata
from assina.tenants.schemas import CreatedTenant
from assina.tenants.service import create_tenant

# What follows each event (webhook messages, e-mails, dunning), as every entry point does.
reactions.install()

settings.register_profile(
    "assina", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("assina")

PG_URL_ENV = "ASSINA_TEST_DATABASE_URL"
TEST_SECRET_KEY = "test-secret-key-for-assina"
START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
# The frozen clock never refills a rate-limit bucket, and some tests (the fuzzing) send
# hundreds of requests with one key: the suite keeps the limiter on (every request takes a
# token, every answer carries the RateLimit fields) with a bucket no test empties.
# tests/integration/test_rate_limits.py runs the defaults.
UNEMPTIED_BURST = 1_000_000

# Charges show their payment page's link, as in every entry point (the app installs it again
# with the same key and no public URL).
install_payment_links(SecretBox(TEST_SECRET_KEY), None)


def postgres_base_url() -> str | None:
    return os.environ.get(PG_URL_ENV) or None


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def _recreate_pg_database(base_url: str, name: str) -> str:
    url = make_url(base_url)
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def fresh_pg_database(suffix: str) -> str:
    """A new, empty PostgreSQL database next to the one CI gave us (for migration tests)."""
    base = postgres_base_url()
    assert base is not None
    name = f"{make_url(base).database}_{_worker_id()}_{suffix}"
    return await _recreate_pg_database(base, name)


async def _migrate(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_worker_url() -> str | None:
    base = postgres_base_url()
    if base is None:
        return None
    url = asyncio.run(fresh_pg_database("suite"))
    asyncio.run(_migrate(url))
    return url


# Children before parents. DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's
# fixed cost per table (new files, WAL) made emptying 35 tables take 86 ms instead of 8 ms.
_EMPTYING = [table.delete() for table in reversed(metadata.sorted_tables)]


async def _empty_pg(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for statement in _EMPTYING:
                await conn.execute(statement)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    pg_worker_url: str | None,
) -> str:
    """A migrated, empty database URL for one test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "assina.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    if pg_worker_url is None:
        pytest.skip(f"{PG_URL_ENV} is not set")
    await _empty_pg(pg_worker_url)
    return pg_worker_url


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database.from_url(db_url, pool_size=5)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def secret_box() -> SecretBox:
    return SecretBox(TEST_SECRET_KEY)


@pytest.fixture
def app_settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=TEST_SECRET_KEY,
        data_dir=tmp_path,
        allow_private_targets=True,
        api_rate_limit_burst=UNEMPTIED_BURST,
    )


@pytest.fixture
async def app(
    app_settings: Settings, database: Database, clock: FrozenClock
) -> AsyncIterator[FastAPI]:
    app = create_app(app_settings, database=database, clock=clock)
    yield app
    # What the app started on demand (the sandbox payment provider, its HTTP session).
    await app.state.fiscal_issuers.close()
    await app.state.provider_connections.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://assina.test") as http:
        yield http


@dataclass
class TenantClient:
    """An HTTP client authenticated as one tenant."""

    tenant: CreatedTenant
    http: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tenant.api_key}"}

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, headers=self.headers, **kwargs)

    async def post(
        self, url: str, json: object = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.http.post(
            url,
            json=json,
            headers={**self.headers, **(headers or {})},
            **kwargs,
        )

    async def patch(self, url: str, json: object = None, **kwargs: Any) -> httpx.Response:
        return await self.http.patch(url, json=json, headers=self.headers, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.delete(url, headers=self.headers, **kwargs)


async def make_tenant(
    database: Database, clock: FrozenClock, box: SecretBox, name: str
) -> CreatedTenant:
    async with database.write() as session:
        return await create_tenant(session, clock, box, name)


@pytest.fixture
async def api(
    client: httpx.AsyncClient, database: Database, clock: FrozenClock, secret_box: SecretBox
) -> TenantClient:
    """The main tenant's client."""
    return TenantClient(await make_tenant(database, clock, secret_box, "Escola Alfa"), client)


@pytest.fixture
async def sandbox(
    client: httpx.AsyncClient, database: Database, clock: FrozenClock, secret_box: SecretBox
) -> TenantClient:
    """A sandbox tenant's client (test clock, sandbox providers)."""
    async with database.write() as session:
        created = await create_tenant(session, clock, secret_box, "Sandbox Alfa", sandbox=True)
    return TenantClient(created, client)


@pytest.fixture
async def other_api(
    client: httpx.AsyncClient, database: Database, clock: FrozenClock, secret_box: SecretBox
) -> TenantClient:
    """A second tenant, for isolation tests."""
    return TenantClient(await make_tenant(database, clock, secret_box, "Clube Beta"), client)
