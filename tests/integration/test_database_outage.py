"""The database going away (found by test_chaos.py): the API answers 503, not 500, while it is
unreachable; wake-ups keep working after PostgreSQL drops the listening connection; and wake-ups
sent close together do not trip over each other on one connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.db.notify import CHANNEL, PgNotifier, asyncpg_dsn
from tests.conftest import TEST_SECRET_KEY
from tests.integration.chaos_support import free_port


async def test_an_unreachable_database_is_a_503_problem_with_retry_after(
    tmp_path: Path, clock: FrozenClock
) -> None:
    # Nothing listens on this port: every connection is refused, as while PostgreSQL restarts.
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/assina"
    database = Database.from_url(url, pool_size=1)
    settings = Settings(database_url=url, secret_key=TEST_SECRET_KEY, data_dir=tmp_path)
    app = create_app(settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer sk_live_whatever", "Idempotency-Key": "k-1"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://assina.test") as http:
            listed = await http.get("/v1/customers", headers=headers)
            created = await http.post("/v1/customers", json={"name": "Ana"}, headers=headers)
    finally:
        await database.dispose()
    for answer in (listed, created):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["type"] == "urn:assina:problem:database-unavailable"


def postgres_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("wake-ups across processes are PostgreSQL's (NOTIFY)")


async def test_wake_ups_resume_after_the_server_drops_the_listening_connection(
    db_url: str, database: Database
) -> None:
    postgres_only(db_url)
    dispatcher_side = Database.from_url(db_url, pool_size=1)
    try:
        await dispatcher_side.listen_for_commits()
        # What a PostgreSQL restart does to the LISTEN connection (this test database only).
        async with database.write() as session:
            dropped = await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            )
            assert dropped.scalars().all() == [True]
        # Listening again, it wakes once at once: what was notified meanwhile is lost.
        await asyncio.wait_for(dispatcher_side.commits.wait(), timeout=10)
        dispatcher_side.commits.clear()
        assert database.notifier is not None
        database.notifier.poke()  # another process's commit
        await asyncio.wait_for(dispatcher_side.commits.wait(), timeout=10)
    finally:
        await dispatcher_side.dispose()


async def test_wake_ups_sent_together_share_the_connection_in_turn(db_url: str) -> None:
    """A send still waiting on the server when the next window opens (a slow or restarting
    server) used to run beside it on one connection: asyncpg refused the second, in a task
    nobody awaited. They now go one after the other, and each reaches the listeners."""
    postgres_only(db_url)
    received: list[str] = []
    all_four = asyncio.Event()

    def on_notify(*args: object) -> None:
        received.append(str(args[2]))
        if len(received) == 4:
            all_four.set()

    listener = await asyncpg.connect(asyncpg_dsn(make_url(db_url)))
    await listener.add_listener(CHANNEL, on_notify)
    notifier = PgNotifier(make_url(db_url))
    try:
        await notifier._send()  # connects
        await asyncio.gather(*(notifier._send() for _ in range(3)))
        await asyncio.wait_for(all_four.wait(), timeout=10)
    finally:
        await notifier.close()
        await listener.close()
    assert received == [CHANNEL] * 4
