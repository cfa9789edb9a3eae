"""The frozen clock and the aware-UTC column type, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from assina.core.clock import FrozenClock, local_date, local_instant
from assina.core.secrets import SecretBox
from assina.db.base import UTCDateTime
from assina.db.database import Database
from assina.db.dialect import stores_naive_datetimes
from assina.tenants.models import Tenant
from assina.tenants.service import create_tenant

SAO_PAULO = timezone(timedelta(hours=-3))
NAIVE = datetime(2026, 1, 15, 12, 0)  # noqa: DTZ001 - naive on purpose


# --- FrozenClock -------------------------------------------------------------------------


def test_frozen_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(NAIVE)


def test_frozen_clock_refuses_a_naive_set(clock: FrozenClock) -> None:
    before = clock.now()
    with pytest.raises(ValueError, match="aware"):
        clock.set(NAIVE)
    assert clock.now() == before


def test_frozen_clock_answers_in_utc() -> None:
    local = datetime(2026, 3, 1, 9, 30, tzinfo=SAO_PAULO)
    clock = FrozenClock(local)
    assert clock.now() == local
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().tzinfo is UTC
    clock.set(datetime(2026, 3, 2, 21, 0, tzinfo=SAO_PAULO))
    assert clock.now() == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_frozen_clock_stands_still_until_told(clock: FrozenClock) -> None:
    first = clock.now()
    assert clock.now() == first
    clock.advance(timedelta(hours=25, microseconds=7))
    assert clock.now() - first == timedelta(hours=25, microseconds=7)
    assert clock.now().tzinfo is UTC


# --- the tenant's local date -------------------------------------------------------------


def test_local_date_is_the_date_in_the_tenants_zone() -> None:
    late_evening = datetime(2026, 1, 16, 1, 30, tzinfo=UTC)  # 22:30 on the 15th in São Paulo
    assert local_date(late_evening, "America/Sao_Paulo") == date(2026, 1, 15)
    assert local_date(late_evening, SAO_PAULO) == date(2026, 1, 15)
    assert local_date(late_evening, "UTC") == date(2026, 1, 16)


def test_local_instant_starts_the_local_day() -> None:
    start = local_instant(date(2026, 1, 15), "America/Sao_Paulo")
    assert start.astimezone(UTC) == datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
    assert local_date(start, "America/Sao_Paulo") == date(2026, 1, 15)
    assert local_date(start - timedelta(microseconds=1), "America/Sao_Paulo") == date(2026, 1, 14)
    noon = local_instant(date(2026, 1, 15), "America/Sao_Paulo", time(12))
    assert noon.astimezone(UTC).hour == 15


# --- UTCDateTime, without a database -------------------------------------------------------


@pytest.mark.parametrize("dialect_name", ["sqlite", "postgresql"])
def test_column_type_refuses_naive_values(dialect_name: str) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = sqlite.dialect() if dialect_name == "sqlite" else postgresql.dialect()
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(NAIVE, dialect)


# --- UTCDateTime, through real inserts ----------------------------------------------------


async def _raw_created_at(database: Database, tenant_id: str) -> object:
    async with database.read() as session:
        return (
            await session.execute(
                text("SELECT created_at FROM tenants WHERE id = :id"), {"id": tenant_id}
            )
        ).scalar_one()


async def test_naive_datetimes_are_refused_on_insert(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    async with database.write() as session:
        created = await create_tenant(session, clock, secret_box, "Escola Alfa")
    with pytest.raises(StatementError) as raised:
        async with database.write() as session:
            tenant = await session.get(Tenant, created.tenant_id)
            assert tenant is not None
            tenant.updated_at = NAIVE
            await session.flush()
    assert isinstance(raised.value.orig, ValueError)
    assert "naive" in str(raised.value.orig)
    async with database.read() as session:
        tenant = await session.get(Tenant, created.tenant_id)
        assert tenant is not None
        assert tenant.updated_at == clock.now()


async def test_naive_datetimes_are_refused_in_queries(database: Database) -> None:
    with pytest.raises(StatementError):
        async with database.read() as session:
            await session.execute(select(Tenant).where(Tenant.created_at < NAIVE))


async def test_aware_utc_round_trip(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    # A non-UTC zone and microseconds: both must survive the trip.
    instant = datetime(2026, 7, 4, 21, 15, 30, 123456, tzinfo=SAO_PAULO)
    clock.set(instant)
    async with database.write() as session:
        created = await create_tenant(session, clock, secret_box, "Escola Alfa")

    async with database.read() as session:
        tenant = await session.get(Tenant, created.tenant_id)
        assert tenant is not None
        for value in (tenant.created_at, tenant.updated_at):
            assert value == instant
            assert value.tzinfo is not None
            assert value.utcoffset() == timedelta(0)
            assert value.replace(tzinfo=None) == datetime(2026, 7, 5, 0, 15, 30, 123456)  # noqa: DTZ001

    raw = await _raw_created_at(database, created.tenant_id)
    if stores_naive_datetimes(database.engine):
        # Stored as UTC wall time, not as the local time it was given in.
        assert isinstance(raw, str)
        assert datetime.fromisoformat(raw) == datetime(2026, 7, 5, 0, 15, 30, 123456)  # noqa: DTZ001
    else:
        assert isinstance(raw, datetime)
        assert raw == instant


async def test_postgres_session_time_zone_does_not_leak(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    if database.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no session time zone")
    async with database.write() as session:
        created = await create_tenant(session, clock, secret_box, "Escola Alfa")
    async with database.read() as session:
        await session.execute(text("SET LOCAL TIME ZONE 'America/Sao_Paulo'"))
        value = await session.scalar(
            select(Tenant.created_at).where(Tenant.id == created.tenant_id)
        )
    assert value == clock.now()
    assert value is not None and value.utcoffset() == timedelta(0)


async def test_comparisons_use_the_instant_not_the_wall_time(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    """A bound given in another zone compares by instant (SQLite compares stored text)."""
    async with database.write() as session:
        created = await create_tenant(session, clock, secret_box, "Escola Alfa")
    instant = clock.now()  # 12:00 UTC == 09:00 in São Paulo
    just_before = (instant - timedelta(microseconds=1)).astimezone(SAO_PAULO)
    just_after = (instant + timedelta(microseconds=1)).astimezone(SAO_PAULO)
    async with database.read() as session:
        found = await session.scalars(
            select(Tenant.id).where(
                Tenant.created_at > just_before,
                Tenant.created_at < just_after,
                Tenant.created_at == instant.astimezone(SAO_PAULO),
            )
        )
        assert list(found) == [created.tenant_id]
        later = await session.scalars(select(Tenant.id).where(Tenant.created_at > just_after))
        assert list(later) == []
