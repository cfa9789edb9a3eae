"""Migrations: empty → head → base → head on both databases, and the schema they build is the
schema the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.customers.schemas import CustomerCreate
from assina.customers.service import create_customer
from assina.db import migrate
from assina.db.database import Database
from assina.registry import metadata
from assina.tenants.service import create_tenant
from tests.conftest import START, TEST_SECRET_KEY

APP_TABLES = {table.name for table in metadata.sorted_tables}


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def _has_event_sequence(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname = 'event_sequence'")
        )
    return bool(found)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


async def test_upgrade_downgrade_upgrade(empty_engine: AsyncEngine) -> None:
    head = migrate.head_revision()
    assert head is not None
    assert await _tables(empty_engine) == set()
    assert await migrate.current_revision(empty_engine) is None

    await migrate.upgrade(empty_engine)
    assert await _tables(empty_engine) == APP_TABLES | {"alembic_version"}
    assert await migrate.current_revision(empty_engine) == head
    if empty_engine.dialect.name == "postgresql":
        assert await _has_event_sequence(empty_engine)

    # Upgrading an up-to-date database changes nothing.
    await migrate.upgrade(empty_engine)
    assert await migrate.current_revision(empty_engine) == head

    await migrate.downgrade(empty_engine, "base")
    assert await _tables(empty_engine) - {"alembic_version"} == set()
    assert await migrate.current_revision(empty_engine) is None
    if empty_engine.dialect.name == "postgresql":
        assert not await _has_event_sequence(empty_engine)

    await migrate.upgrade(empty_engine)
    assert await _tables(empty_engine) == APP_TABLES | {"alembic_version"}
    assert await migrate.current_revision(empty_engine) == head


async def test_migrated_schema_matches_the_models(empty_engine: AsyncEngine) -> None:
    await migrate.upgrade(empty_engine)
    async with empty_engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_the_comparison_can_see_a_difference(empty_engine: AsyncEngine) -> None:
    """Control for the test above: a schema one migration short is reported as different."""
    await migrate.upgrade(empty_engine)
    async with empty_engine.begin() as connection:
        await connection.execute(text("DROP INDEX ix_customers_tenant_id_email"))
        await connection.execute(text("ALTER TABLE products DROP COLUMN description"))
    async with empty_engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    rendered = repr(differences)
    assert "ix_customers_tenant_id_email" in rendered
    assert "description" in rendered


async def test_the_migrated_database_takes_the_first_writes(empty_engine: AsyncEngine) -> None:
    """Naming convention and defaults line up: the app's own first write works on it."""
    await migrate.upgrade(empty_engine)
    database = Database(empty_engine)
    clock = FrozenClock(START)
    async with database.write() as session:
        tenant = await create_tenant(session, clock, SecretBox(TEST_SECRET_KEY), "Escola")
        customer = await create_customer(
            session, clock, tenant.tenant_id, CustomerCreate(name="Ana")
        )
    assert customer.number == 1
