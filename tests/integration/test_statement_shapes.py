"""Statements whose text does not depend on how many values they carry (db/shapes.py): on
PostgreSQL each distinct text is another prepared statement kept on every pooled connection,
so lists of ids and many-row INSERTs must not make a new text for every length.
SQLite, which prepares nothing across calls, takes many-row INSERTs in `pages`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assina.db.base import EnumText, JSONType, UTCDateTime
from assina.db.database import Database
from assina.db.dialect import insert_on_conflict
from assina.db.shapes import PAGE, insert_rows, one_of, pages

SCRATCH = Table(
    "shape_scratch",
    MetaData(),
    Column("id", String(40), primary_key=True),
    Column("n", Integer, nullable=False),
)


def test_pages_keep_the_order_and_use_few_sizes() -> None:
    sizes: set[int] = set()
    for count in range(0, 1001):
        rows = list(range(count))
        cut = list(pages(rows))
        assert [row for page in cut for row in page] == rows
        assert all(len(page) == PAGE for page in cut[: count // PAGE])
        sizes.update(len(page) for page in cut)
    assert sizes == {PAGE >> shift for shift in range(PAGE.bit_length())}  # 128, 64, …, 1


async def test_one_of_and_insert_rows_give_the_same_rows_as_in_and_one_insert(
    database: Database,
) -> None:
    async with database.engine.connect() as connection:
        await connection.execute(
            text("CREATE TEMPORARY TABLE shape_scratch (id VARCHAR(40) PRIMARY KEY, n INTEGER)")
        )
        await connection.commit()
        async with AsyncSession(bind=connection) as session:
            for size in (1, 3, 200, 5):
                start = await session.scalar(select(text("count(*)")).select_from(SCRATCH))
                rows = [{"id": f"r{start + i}", "n": start + i} for i in range(size)]
                await insert_rows(session, insert(SCRATCH), rows)
            assert await session.scalar(select(text("count(*)")).select_from(SCRATCH)) == 209
            for ids in ([], ["r0"], ["r1", "r7", "r208", "missing"]):
                found = await session.scalars(
                    select(SCRATCH.c.n).where(one_of(SCRATCH.c.id, ids)).order_by(SCRATCH.c.n)
                )
                assert list(found) == sorted(int(i[1:]) for i in ids if i != "missing")
            if database.engine.dialect.name == "postgresql":
                # One prepared statement for every length of the list and every row count.
                every = await session.scalars(text("SELECT statement FROM pg_prepared_statements"))
                prepared = [s for s in every if "shape_scratch" in s]
                assert sum("ANY" in statement for statement in prepared) == 1
                inserts = [s for s in prepared if s.startswith("INSERT")]
                assert len(inserts) == 1
                assert "unnest(" in inserts[0]
            await session.rollback()


class Mood(StrEnum):
    CALM = "calm"
    LOUD = "loud"


class _Scratch(DeclarativeBase):
    pass


class Typed(_Scratch):
    """A mapped class whose attribute and column names differ, with the column types the
    domains use: what `insert_rows` turns into one array per column on PostgreSQL."""

    __tablename__ = "shape_typed"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    mood: Mapped[Mood | None] = mapped_column(EnumText(Mood, 10))
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    metadata_: Mapped[Any] = mapped_column("metadata", JSONType)


async def test_insert_rows_keeps_every_type_and_returns_what_was_inserted(
    database: Database,
) -> None:
    start = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    rows = [
        {
            "id": f"t{i}",
            "mood": [Mood.CALM, "loud", None][i % 3],
            "at": None if i % 4 == 3 else start + timedelta(minutes=i),
            # A list value must stay one JSON value, not become a dimension of the array.
            "metadata_": [{"n": str(i)}, [i, "x"], {}, None][i % 4],
        }
        for i in range(300)
    ]
    async with database.engine.connect() as connection:
        await connection.run_sync(_Scratch.metadata.create_all)
        try:
            async with AsyncSession(bind=connection) as session:
                statement = (
                    insert_on_conflict(session, Typed)
                    .on_conflict_do_nothing(index_elements=[Typed.id])
                    .returning(Typed.id)
                )
                inserted = await insert_rows(session, statement, rows[:200])
                assert sorted(inserted) == sorted(row["id"] for row in rows[:200])
                # The first 200 again: ON CONFLICT skips them, RETURNING names the rest.
                inserted = await insert_rows(session, statement, rows[100:])
                assert sorted(inserted) == sorted(row["id"] for row in rows[200:])
                assert await insert_rows(session, statement, []) == []
                stored = {typed.id: typed for typed in await session.scalars(select(Typed))}
                assert len(stored) == 300
                for row in rows:
                    typed = stored[row["id"]]
                    assert typed.mood == (None if row["mood"] is None else Mood(row["mood"]))
                    assert typed.at == row["at"]
                    assert typed.metadata_ == row["metadata_"]
                await session.rollback()
        finally:
            await connection.run_sync(_Scratch.metadata.drop_all)
            await connection.commit()


async def test_insert_rows_with_columns_alike_in_every_row(database: Database) -> None:
    """A column with one value in every row (a batch's tenant, status, instant, a NULL, a
    JSON value) goes as that value, the others as arrays: the rows come out the same."""
    at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    batches: list[list[dict[str, Any]]] = [
        [{"id": f"a{i}", "mood": Mood.CALM, "at": at, "metadata_": [1, "x"]} for i in range(5)],
        [{"id": f"b{i}", "mood": None, "at": None, "metadata_": None} for i in range(3)],
        [{"id": f"c{i}", "mood": "loud", "at": at, "metadata_": {"n": str(i)}} for i in range(4)],
    ]
    async with database.engine.connect() as connection:
        await connection.run_sync(_Scratch.metadata.create_all)
        try:
            async with AsyncSession(bind=connection) as session:
                for rows in batches:
                    inserted = await insert_rows(session, insert(Typed).returning(Typed.id), rows)
                    assert sorted(inserted) == sorted(row["id"] for row in rows)
                stored = {typed.id: typed for typed in await session.scalars(select(Typed))}
                expected = [row for rows in batches for row in rows]
                assert sorted(stored) == sorted(row["id"] for row in expected)
                for row in expected:
                    typed = stored[row["id"]]
                    assert typed.mood == (None if row["mood"] is None else Mood(row["mood"]))
                    assert typed.at == row["at"]
                    assert typed.metadata_ == row["metadata_"]
                await session.rollback()
        finally:
            await connection.run_sync(_Scratch.metadata.drop_all)
            await connection.commit()
