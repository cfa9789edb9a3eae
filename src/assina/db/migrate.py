"""Running Alembic migrations from code (`assina migrate`, app start-up checks, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from assina.core.secrets import SecretBox

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _config(connection: Connection, secret_box: SecretBox | None) -> Config:
    config = alembic_config()
    config.attributes["connection"] = connection
    # Migrations that seal stored secrets (0013) use it; without it they build their own.
    config.attributes["secret_box"] = secret_box
    return config


def _upgrade(connection: Connection, revision: str, secret_box: SecretBox | None) -> None:
    command.upgrade(_config(connection, secret_box), revision)


def _downgrade(connection: Connection, revision: str, secret_box: SecretBox | None) -> None:
    command.downgrade(_config(connection, secret_box), revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(
    engine: AsyncEngine, revision: str = "head", secret_box: SecretBox | None = None
) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(_upgrade, revision, secret_box)
        await connection.commit()


async def downgrade(
    engine: AsyncEngine, revision: str, secret_box: SecretBox | None = None
) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(_downgrade, revision, secret_box)
        await connection.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
