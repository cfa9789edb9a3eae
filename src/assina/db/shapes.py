"""Statements whose text does not depend on how many values they carry.

On PostgreSQL the asyncpg adapter keeps every distinct statement text prepared, up to 100 per
pooled connection (SQLAlchemy's `prepared_statement_cache_size`), on the client and in the
server. `id IN ($1, $2, …)` is a new text for every length of the list, and a many-row INSERT
(SQLAlchemy's "insertmanyvalues", one multi-row VALUES) a new text for every number of rows,
of thousands of parameters: a cached INSERT of ~250 rows of a dozen columns holds ~0.2 MB.
The worker meets new lengths every batch, so its caches filled for a quarter of an hour and
its memory grew with them (docs/performance.md, "Where the workers' memory went").

- `one_of(column, values)`: `column = ANY($1)` with one array parameter on PostgreSQL, the
  usual expanding `IN` elsewhere (SQLite caches no prepared statements);
- `insert_rows` / `pages`: many rows in pages of 128 rows, the rest in pages whose sizes are
  powers of two, so a table's INSERT has at most 8 texts (128, 64, …, 1 rows); a batch of
  500 rows is 7 statements instead of 1, on one connection, in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Boolean, ColumnElement, Executable, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

T = TypeVar("T")

PAGE = 128


class one_of(ColumnElement[bool]):  # noqa: N801  (used as `column.in_`'s twin)
    """`column IN values`, spelled `column = ANY(:values)` on PostgreSQL."""

    inherit_cache = True
    type = Boolean()
    # A comparison: SQLite gets `x IN (…)`, not `(x IN (…)) = 1` (which no index answers).
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("in_clause", InternalTraversal.dp_clauseelement),
        ("any_clause", InternalTraversal.dp_clauseelement),
    ]

    def __init__(
        self, column: ColumnElement[Any] | QueryableAttribute[Any], values: Iterable[Any]
    ) -> None:
        column = column.expression  # a mapped attribute's column
        values = list(values)
        self.in_clause = column.in_(values)
        self.any_clause = column == any_(bindparam(None, values, type_=ARRAY(column.type)))


@compiles(one_of)
def _in(element: one_of, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.in_clause, **kw)


@compiles(one_of, "postgresql")
def _any(element: one_of, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.any_clause, **kw)


def pages(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    """`rows` in order, in pages of PAGE and then of the powers of two the rest adds up to."""
    start = 0
    while start < len(rows):
        left = len(rows) - start
        size = PAGE if left >= PAGE else 1 << (left.bit_length() - 1)
        yield rows[start : start + size]
        start += size


async def insert_rows(
    session: AsyncSession, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Execute the INSERT `statement` for `rows`, page by page (see `pages`)."""
    for page in pages(rows):
        await session.execute(statement, page)
