"""The worker's housekeeping: idempotency keys older than 24 h are pruned, younger ones kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from assina.core.clock import FrozenClock
from assina.core.idempotency import IdempotencyKey
from assina.db.database import Database
from assina.worker.runner import housekeeping_pass
from tests.conftest import TenantClient
from tests.integration.console_user_support import new_user, signed_in


async def _stored_keys(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(IdempotencyKey)) or 0)


async def test_housekeeping_prunes_only_expired_keys(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    old = await api.post("/v1/customers", {"name": "Ana"}, headers={"Idempotency-Key": "old"})
    assert old.status_code == 201
    clock.advance(timedelta(hours=20))
    young = await api.post("/v1/customers", {"name": "Bia"}, headers={"Idempotency-Key": "new"})
    assert young.status_code == 201
    assert await _stored_keys(database) == 2

    clock.advance(timedelta(hours=5))  # "old" is 25 h old, "new" 5 h
    assert await housekeeping_pass(database, clock) == (1, 0, 0)
    assert await _stored_keys(database) == 1

    replay = await api.post("/v1/customers", {"name": "Bia"}, headers={"Idempotency-Key": "new"})
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == young.json()["id"]
    assert await housekeeping_pass(database, clock) == (0, 0, 0)


async def test_housekeeping_prunes_console_sessions_once_they_end(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await new_user(database, clock, api.tenant.tenant_id, "ana@escola.com.br")
    await signed_in(database, clock, "ana@escola.com.br")
    assert await housekeeping_pass(database, clock) == (0, 0, 0)  # still open
    clock.advance(timedelta(hours=13))  # 12 hours without a request end it
    assert await housekeeping_pass(database, clock) == (0, 0, 1)
