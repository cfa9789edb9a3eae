"""INSERT … ON CONFLICT, which SQLAlchemy builds per dialect: PostgreSQL and SQLite spell it
the same way, so one statement serves both."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_on_conflict(session: AsyncSession, target: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `target` (a table or a mapped class) that may take
    `on_conflict_do_update` / `on_conflict_do_nothing`, for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)
