"""The one place that asks which database runs: SQLite or PostgreSQL.

Everything else asks this module what it needs, by name: whether writers run concurrently
(row locks, the relay's `SKIP LOCKED` claim, batches in flight), how a per-tenant sequence is
taken, how an upsert is spelled, whether commits can be announced to other processes, where
rate-limit buckets live. A test (tests/unit/test_dialect_seam.py) fails if `src/assina` asks
the dialect anywhere else (migrations aside).

SQLAlchemy's own per-dialect spellings (`@compiles(…, "postgresql")`, `with_variant`) are
not questions asked at run time and stay where they are used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, Select, func, make_url, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

Bind = AsyncSession | AsyncEngine | Engine | Connection | Dialect | str  # str: a database URL

_POSTGRESQL = "postgresql"

Statement = TypeVar("Statement")


def _is_postgresql(bind: Bind) -> bool:
    if isinstance(bind, Dialect):  # first: column types ask for every value they bind
        return bind.name == _POSTGRESQL
    if isinstance(bind, str):
        return make_url(bind).get_backend_name() == _POSTGRESQL
    if isinstance(bind, AsyncSession):
        return bind.get_bind().dialect.name == _POSTGRESQL
    return bind.dialect.name == _POSTGRESQL


def runs_concurrent_writers(bind: Bind) -> bool:
    """PostgreSQL: many write transactions at once, so a read that decides a write locks its
    rows (`FOR UPDATE`), a claim skips rows another worker holds (`SKIP LOCKED`) and batches
    may overlap. SQLite: one writer at a time (`BEGIN IMMEDIATE`, db/database.py), which
    already serialises them."""
    return _is_postgresql(bind)


def stores_naive_datetimes(bind: Bind) -> bool:
    """SQLite keeps no time zone: datetimes are stored as naive UTC (db/base.py)."""
    return not _is_postgresql(bind)


def announces_commits(bind: Bind) -> bool:
    """Whether commits can wake other processes (PostgreSQL's LISTEN/NOTIFY, db/notify.py);
    SQLite has only the one process's in-memory wake-up."""
    return _is_postgresql(bind)


def keeps_planner_statistics(bind: Bind) -> bool:
    """Whether `ANALYZE` after a bulk write helps the planner (PostgreSQL; SQLite's planner
    keeps no row counts)."""
    return _is_postgresql(bind)


def holds_rate_buckets(bind: Bind) -> bool:
    """Whether the rate-limit buckets live in the database, shared by every process
    (PostgreSQL, core/ratelimit.py); on SQLite each process keeps its own in memory."""
    return _is_postgresql(bind)


def prepares_statements(bind: Bind) -> bool:
    """Whether every distinct statement text is prepared and kept on each pooled connection
    (PostgreSQL through asyncpg, up to 100 per connection), so that texts must not multiply
    with the number of values (db/shapes.py). SQLite's driver keeps none across calls."""
    return _is_postgresql(bind)


def insert_on_conflict(session: AsyncSession, target: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `target` (a table or a mapped class) that may take
    `on_conflict_do_update` / `on_conflict_do_nothing`; PostgreSQL and SQLite spell it the
    same way, SQLAlchemy builds it per dialect."""
    if _is_postgresql(session):
        return postgresql.insert(target)
    return sqlite.insert(target)


class BuiltOnce(Generic[Statement]):
    """A statement of a hot path built the first time each database asks for it, then reused.
    Its values are parameters: executing the same statement object costs no building and no
    cache-key computing, which for a one-row INSERT were two thirds of its CPU
    (docs/performance.md, issue 18). `build` takes the session, for the spellings that differ
    by database (`insert_on_conflict`, `next_sequence_value`)."""

    def __init__(self, build: Callable[[AsyncSession], Statement]) -> None:
        self._build = build
        self._built: dict[bool, Statement] = {}

    def of(self, session: AsyncSession) -> Statement:
        postgresql = _is_postgresql(session)
        built = self._built.get(postgresql)
        if built is None:
            built = self._built[postgresql] = self._build(session)
        return built


def next_sequence_value(
    session: AsyncSession, sequence_name: str, highest: Select[Any]
) -> ColumnElement[int]:
    """A per-tenant increasing value computed by the database inside the INSERT itself.

    PostgreSQL: the global sequence `sequence_name`, so writers never wait on each other for
    it (values increase for every tenant, with gaps). SQLite: `highest` (the tenant's highest
    value so far, 0 when none) plus one, safe because SQLite has one writer at a time.
    """
    if _is_postgresql(session):
        return func.nextval(sequence_name)
    return highest.scalar_subquery() + 1


async def reserve_sequence_values(
    session: AsyncSession, sequence_name: str, highest: Select[Any], count: int
) -> list[int]:
    """`count` increasing values from the same source as `next_sequence_value`: the
    PostgreSQL sequence, or on SQLite `highest` plus 1..count (read inside the write
    transaction, which holds SQLite's single write lock)."""
    if _is_postgresql(session):
        taken = select(func.nextval(sequence_name)).select_from(func.generate_series(1, count))
        return sorted(int(value) for value in (await session.scalars(taken)).all())
    top = int(await session.scalar(highest) or 0)
    return list(range(top + 1, top + count + 1))
