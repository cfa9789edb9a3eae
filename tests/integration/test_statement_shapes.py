"""Statements whose text does not depend on how many values they carry (db/shapes.py): on
PostgreSQL each distinct text is another prepared statement kept on every pooled connection,
so lists of ids and many-row INSERTs must not make a new text for every length."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from assina.db.database import Database
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
                # One prepared statement for every length of the list; one per page size.
                every = await session.scalars(text("SELECT statement FROM pg_prepared_statements"))
                prepared = [s for s in every if "shape_scratch" in s]
                assert sum("ANY" in statement for statement in prepared) == 1
                inserts = [s for s in prepared if s.startswith("INSERT")]
                # 1; 2 + 1; 128 + 64 + 8; 4 + 1 rows
                assert len(inserts) == len({1, 2, 128, 64, 8, 4})
            await session.rollback()
