"""Secrets at rest (issue 13, point 4), read the way an attacker with the database file or a
backup would: stored idempotent answers and endpoint custom header values are sealed, and no
log line carries an SQL parameter, even at log level debug. Both databases."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from assina.core.clock import FrozenClock
from assina.core.idempotency import IdempotencyKey, open_answer, seal_answer
from assina.core.secrets import SecretBox, SecretKeyMismatch
from assina.db import migrate
from assina.db.database import Database
from assina.tenants.service import create_tenant
from assina.webhooks.models import WebhookEndpoint
from assina.webhooks.schemas import EndpointCreate
from assina.webhooks.service import create_endpoint
from tests.conftest import (
    START,
    TEST_SECRET_KEY,
    TenantClient,
)
from tests.integration import test_cli as cli_support
from tests.integration.delivery_support import Receiver, dispatch_once, new_endpoint
from tests.integration.test_cli import Cli

cli = cli_support.cli  # a temporary directory for the real `assina` command line

PARTNER_SECRET = "Bearer partner-secret-7f3a9c"
HOOK = "https://hooks.example.com/assina"


async def _table_text(database: Database, table: str) -> str:
    """Every stored value of `table`, as one string: what a reader of the file would see."""
    async with database.read() as session:
        rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
    assert rows, f"{table} is empty: nothing was checked"
    return repr([tuple(row) for row in rows])


async def _post_once(api: TenantClient, url: str, body: object, key: str) -> dict[str, Any]:
    """POST twice with one Idempotency-Key: the replay answers the first answer."""
    first = await api.post(url, body, headers={"Idempotency-Key": key})
    assert first.status_code in (200, 201), first.text
    again = await api.post(url, body, headers={"Idempotency-Key": key})
    assert again.status_code == first.status_code
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    answer: dict[str, Any] = first.json()
    return answer


async def test_replayable_answers_keep_no_secret_in_plain_text(
    api: TenantClient, database: Database
) -> None:
    created = await _post_once(api, "/v1/webhook-endpoints", {"url": HOOK}, "create-endpoint")
    rotate = f"/v1/webhook-endpoints/{created['id']}/rotate-secret"
    rotated = await _post_once(api, rotate, None, "rotate-secret")
    token = await _post_once(api, "/v1/webhook-settings/rotate-token", None, "rotate-token")
    customer = {"name": "Ana Souza", "email": "ana.souza@example.com"}
    await _post_once(api, "/v1/customers", customer, "create-customer")

    stored = await _table_text(database, "idempotency_keys")
    assert created["secret"].startswith("whsec_")
    for secret in (created["secret"], rotated["secret"], token["validation_token"]):
        assert secret not in stored
    assert "whsec_" not in stored
    # Personal data in any answer is sealed too: every stored answer is.
    assert "ana.souza@example.com" not in stored


async def test_custom_header_values_are_stored_sealed_and_shown_to_their_owner(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    endpoint = await new_endpoint(api, receiver.url, headers={"Authorization": PARTNER_SECRET})
    assert endpoint["headers"] == {"Authorization": PARTNER_SECRET}
    stored = await _table_text(database, "webhook_endpoints")
    assert "partner-secret" not in stored
    assert "Authorization" in stored  # the names stay readable; only values are secret

    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    assert (await api.get(path)).json()["headers"] == {"Authorization": PARTNER_SECRET}
    listed = (await api.get("/v1/webhook-endpoints")).json()["data"]
    assert [e["headers"] for e in listed] == [{"Authorization": PARTNER_SECRET}]

    changed = await api.patch(path, {"headers": {"X-Api-Key": "partner-key-2"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["headers"] == {"X-Api-Key": "partner-key-2"}
    assert "partner-key-2" not in await _table_text(database, "webhook_endpoints")

    # The dispatcher opens them: the receiver gets the value the tenant gave.
    await api.post("/v1/customers", {"name": "Ana"})
    assert await dispatch_once(database, clock) == 1
    [got] = receiver.received
    assert got.headers["X-Api-Key"] == "partner-key-2"


async def test_debug_logging_prints_no_sql_parameter(
    api: TenantClient, caplog: pytest.LogCaptureFixture
) -> None:
    """`ASSINA_LOG_LEVEL=debug` puts the root logger at DEBUG: aiosqlite then logged every
    call with its arguments. SQLAlchemy's statement log, which an operator may turn on, logs
    statements without their parameters (`hide_parameters`)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    endpoint = {
        "url": HOOK,
        "headers": {"Authorization": PARTNER_SECRET},
        "metadata": {"erp_token": "partner-secret-in-metadata"},
    }
    assert (await api.post("/v1/webhook-endpoints", endpoint)).status_code == 201
    customer = {"name": "Ana", "email": "partner-secret@example.com"}
    assert (await api.post("/v1/customers", customer)).status_code == 201

    assert "INSERT INTO webhook_endpoints" in caplog.text  # statements are logged...
    assert "partner-secret" not in caplog.text  # ...their parameters never


# --- migration 0013 seals what was stored before ---------------------------------------------


async def _stored(engine: AsyncEngine, sql: str) -> str:
    async with engine.connect() as connection:
        return repr((await connection.execute(text(sql))).all())


async def test_migration_0013_seals_plain_values_and_its_downgrade_opens_them(
    empty_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = SecretBox(TEST_SECRET_KEY)
    await migrate.upgrade(empty_engine, secret_box=box)
    database = Database(empty_engine)
    clock = FrozenClock(START)
    headers = {"Authorization": PARTNER_SECRET}
    async with database.write() as session:
        tenant = await create_tenant(session, clock, box, "Escola")
        params = EndpointCreate(url=HOOK, headers=headers)
        endpoint, _secret = await create_endpoint(
            session, clock, box, tenant.tenant_id, params, allow_private=True, max_endpoints=1
        )
        answer = {"id": endpoint.id, "secret": "whsec_stored-before-0013"}
        session.add(
            IdempotencyKey(
                tenant_id=tenant.tenant_id,
                key="k",
                fingerprint="f" * 64,
                response_status=201,
                response_sealed=seal_answer(box, answer),
                created_at=START,
            )
        )

    # At 0012 (what an existing installation holds) both are plain.
    await migrate.downgrade(empty_engine, "0012", secret_box=box)
    assert "partner-secret" in await _stored(empty_engine, "SELECT headers FROM webhook_endpoints")
    plain_answers = await _stored(empty_engine, "SELECT response_body FROM idempotency_keys")
    assert "whsec_stored-before-0013" in plain_answers

    # `alembic upgrade` builds the box from the settings, as serve would.
    monkeypatch.setenv("ASSINA_SECRET_KEY", TEST_SECRET_KEY)
    await migrate.upgrade(empty_engine)
    sealed_headers = await _stored(empty_engine, "SELECT headers FROM webhook_endpoints")
    sealed_answers = await _stored(empty_engine, "SELECT * FROM idempotency_keys")
    assert "partner-secret" not in sealed_headers
    assert "whsec_" not in sealed_answers
    async with database.read() as session:
        stored = await session.get(IdempotencyKey, (tenant.tenant_id, "k"))
        assert stored is not None
        assert open_answer(box, stored.response_sealed) == answer
        reread = await session.get(WebhookEndpoint, endpoint.id)
        assert reread is not None
        assert box.open_values(reread.headers_sealed) == headers


async def test_migration_0013_with_a_foreign_secret_key_changes_nothing(
    empty_engine: AsyncEngine,
) -> None:
    """Values sealed with a key `serve` does not hold could never be opened again."""
    box = SecretBox(TEST_SECRET_KEY)
    await migrate.upgrade(empty_engine, secret_box=box)  # today's models write the tenant
    async with Database(empty_engine).write() as session:
        await create_tenant(session, FrozenClock(START), box, "Escola")
    await migrate.downgrade(empty_engine, "0012", secret_box=box)

    with pytest.raises(SecretKeyMismatch):
        await migrate.upgrade(empty_engine, secret_box=SecretBox("another-key"))
    assert await migrate.current_revision(empty_engine) == "0012"
    # The 0012 column is still there (the refusal came before any change).
    assert await _stored(empty_engine, "SELECT response_body FROM idempotency_keys") == "[]"
    await migrate.upgrade(empty_engine, secret_box=box)
    assert await migrate.current_revision(empty_engine) == migrate.head_revision()


# --- the SQLite file and the data directory, owner-only --------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_dir_and_sqlite_database_are_owner_only(cli: Cli) -> None:
    """`assina init` with a data directory and a database that do not exist yet."""
    data_dir = cli.directory / "data"
    database = cli.db_path
    cli.run("init")

    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "assina.secret") == 0o600
    assert _mode(database) == 0o600
    for side_file in database.parent.glob("assina.db-*"):  # what a clean exit leaves, if any
        assert _mode(side_file) == 0o600, side_file


async def test_the_sqlite_wal_and_shm_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "assina.db"
    database = Database.from_url(f"sqlite+aiosqlite:///{path}", pool_size=1)
    try:
        await migrate.upgrade(database.engine)
        async with database.write() as session:
            await create_tenant(session, FrozenClock(START), SecretBox(TEST_SECRET_KEY), "Escola")
        # While a connection is open, WAL mode keeps its two side files.
        side_files = [path.with_name("assina.db-wal"), path.with_name("assina.db-shm")]
        assert all(side.exists() for side in side_files)
        assert [_mode(p) for p in (path, *side_files)] == [0o600, 0o600, 0o600]
    finally:
        await database.dispose()
