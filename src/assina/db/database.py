"""Engines and transactions. The boundary (a request, a calendar step, a dispatcher batch)
opens one transaction with `Database.write()` and commits once when it leaves the block.

SQLite needs explicit transaction control (see architecture.md): the driver's own implicit
BEGIN is turned off, reads start with `BEGIN` and writes with `BEGIN IMMEDIATE`, so that a
write transaction holds the database's single write lock from its first statement and two
writers never interleave read-then-write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from assina.db.dialect import announces_commits, keeps_planner_statistics, runs_concurrent_writers
from assina.db.functions import SQLITE_LOCAL_DATE, SQLITE_LOWER, sqlite_local_date, sqlite_lower
from assina.db.notify import PgNotifier

_WRITE_OPTION = "assina_write"
# `session.info` flag: this transaction wrote webhook messages (set by the fan-out).
NEW_MESSAGES = "assina_new_messages"
SQLITE_BUSY_TIMEOUT_MS = 30_000

# SQL parameters carry secrets (sealed ones, but also personal data and tokens in WHERE
# clauses): no logger prints them, whatever ASSINA_LOG_LEVEL says. The engines hide them from
# SQLAlchemy's own statement log (`hide_parameters`); aiosqlite logs every call with its
# arguments at DEBUG, so its logger stays at INFO.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


def _create_private_sqlite_file(url: str) -> None:
    """Creates the SQLite database file readable by its owner only (0600; SQLite gives its
    -wal and -shm files the same mode). A missing directory stays missing: the engine then
    fails to connect, as `/readyz` reports."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    # An existing database keeps the mode its operator gave it.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _install_sqlite_transaction_control(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.create_function(SQLITE_LOWER, 1, sqlite_lower, deterministic=True)
        dbapi_connection.create_function(
            SQLITE_LOCAL_DATE, 2, sqlite_local_date, deterministic=True
        )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    if not runs_concurrent_writers(url):  # SQLite
        _create_private_sqlite_file(url)
        engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=0, pool_timeout=60, hide_parameters=True
        )
        _install_sqlite_transaction_control(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
        hide_parameters=True,
    )
    # An executemany INSERT goes as multi-row VALUES statements, as SQLAlchemy does with
    # psycopg2, instead of asyncpg executing the statement once per row: about a third less
    # server time per row (docs/performance.md, issue #4). The batches of the calendar and the
    # dispatcher go through db/shapes.py's `insert_rows` instead (one array per column).
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


class Database:
    """Owns the engine and hands out transactions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._reads = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._writes = async_sessionmaker(write_engine, expire_on_commit=False, autoflush=False)
        # SQLite has one writer at a time. Queueing writers here, instead of in SQLite's busy
        # handler (which sleeps in steps of milliseconds), keeps write latency flat under load.
        self._sqlite_writer = None if runs_concurrent_writers(engine) else asyncio.Lock()
        # Set after a commit that wrote webhook messages (here, or in another process through
        # PostgreSQL's NOTIFY): wakes the dispatcher at once.
        self.commits = asyncio.Event()
        self.notifier = PgNotifier(engine.url) if announces_commits(engine) else None

    @classmethod
    def from_url(cls, url: str, pool_size: int = 10) -> Database:
        return cls(create_engine(url, pool_size))

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        Not re-entrant on SQLite: a write block must not open another write block.
        """
        if self._sqlite_writer is None:
            async with self._writes() as session, session.begin():
                yield session
        else:
            async with self._sqlite_writer, self._writes() as session, session.begin():
                yield session
        if session.info.get(NEW_MESSAGES):
            self.commits.set()
            if self.notifier is not None:
                self.notifier.poke()

    async def listen_for_commits(self) -> None:
        """Also wake on commits of other processes (PostgreSQL); SQLite has only this one."""
        if self.notifier is not None:
            await self.notifier.listen(self.commits.set)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """One read-only transaction (rolled back at the end)."""
        async with self._reads() as session:
            try:
                yield session
            finally:
                await session.rollback()

    async def refresh_statistics(self, *tables: str) -> None:
        """ANALYZE `tables` on PostgreSQL (nothing on SQLite, whose planner keeps no row
        counts), after a step that wrote many of their rows at once: a planner that still
        believes a table empty picks plans that read all of it (docs/performance.md)."""
        if not keeps_planner_statistics(self.engine):
            return
        async with self.engine.connect() as connection:
            for table in tables:
                quoted = connection.dialect.identifier_preparer.quote_identifier(table)
                await connection.execute(text(f"ANALYZE {quoted}"))
            await connection.commit()

    async def dispose(self) -> None:
        if self.notifier is not None:
            await self.notifier.close()
        await self.engine.dispose()
