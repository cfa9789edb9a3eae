"""Statements whose text does not depend on how many values they carry.

On PostgreSQL the asyncpg adapter keeps every distinct statement text prepared, up to 100 per
pooled connection (SQLAlchemy's `prepared_statement_cache_size`), on the client and in the
server. `id IN ($1, $2, …)` is a new text for every length of the list, and a many-row INSERT
(SQLAlchemy's "insertmanyvalues", one multi-row VALUES) a new text for every number of rows,
of thousands of parameters: a cached INSERT of ~250 rows of a dozen columns holds ~0.2 MB.
The worker meets new lengths every batch, so its caches filled for a quarter of an hour and
its memory grew with them (docs/performance.md, "Where the workers' memory went").

- `one_of(column, values)`: `column = ANY($1)` with one array parameter on PostgreSQL, the
  usual expanding `IN` elsewhere (SQLite caches no prepared statements); `one_of_parameter`
  is the same with the values left to a named parameter, for statements built once;
- `insert_rows`: many rows in one INSERT whose text names each column once. On PostgreSQL
  every column's values go as one array parameter, `INSERT … SELECT * FROM unnest($1, $2,
  …)`: one text per table whatever the number of rows, of as many parameters as columns.
  On SQLite, multi-row VALUES in `pages` of 128 rows and then of powers of two;
- `rows_by_id`: a tenant's rows of one mapped class by their ids, through `one_of`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Insert,
    Select,
    any_,
    bindparam,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.visitors import InternalTraversal

from assina.db.dialect import prepares_statements

T = TypeVar("T")
M = TypeVar("M", bound=DeclarativeBase)

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


class one_of_parameter(one_of):  # noqa: N801
    """`one_of` whose values come at execution, as the parameter `name` (a list): for a
    statement built once and executed with new values each time."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any], name: str) -> None:
        column = column.expression
        self.in_clause = column.in_(bindparam(name, expanding=True))
        self.any_clause = column == any_(bindparam(name, type_=ARRAY(column.type)))


@compiles(one_of)
def _in(element: one_of, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.in_clause, **kw)


@compiles(one_of, "postgresql")
def _any(element: one_of, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.any_clause, **kw)


async def rows_by_id(
    session: AsyncSession, model: type[M], tenant_id: str, ids: Iterable[str | None]
) -> dict[str, M]:
    """The tenant's rows of `model` with these ids (None ignored), by id: one query, none
    when there is no id."""
    wanted = sorted({one for one in ids if one is not None})
    if not wanted:
        return {}
    table = model.__table__
    found = await session.execute(
        select(table.c.id, model).where(table.c.tenant_id == tenant_id, one_of(table.c.id, wanted))
    )
    return {row_id: row for row_id, row in found}


def pages(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    """`rows` in order, in pages of PAGE and then of the powers of two the rest adds up to."""
    start = 0
    while start < len(rows):
        left = len(rows) - start
        size = PAGE if left >= PAGE else 1 << (left.bit_length() - 1)
        yield rows[start : start + size]
        start += size


async def insert_rows(
    session: AsyncSession, statement: Insert, rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """Execute the INSERT `statement` (without values of its own; it may carry ON CONFLICT
    and RETURNING) for `rows`, keyed by attribute name for a mapped class and by column name
    for a table, every row with the same keys. Returns what RETURNING gave, in no promised
    order ([] without RETURNING)."""
    if not rows:
        return []
    returns = len(statement.exported_columns) > 0  # it has RETURNING
    if prepares_statements(session):
        result = await session.execute(_from_arrays(statement, rows))
        return list(result.scalars()) if returns else []
    returned: list[Any] = []
    for page in pages(rows):
        result = await session.execute(statement, page)
        returned += result.scalars() if returns else []
    return returned


def _from_arrays(statement: Insert, rows: Sequence[Mapping[str, Any]]) -> Insert:
    """`statement` taking its rows from one array per column: `unnest` turns the arrays back
    into rows, in order. Only the text of the columns' names and types is prepared. A column
    whose value is the same in every row of several (the tenant, a status, the instant of a
    batch, a NULL) goes as one value, not as an array of copies: encoding each element of an
    array was most of the cost of the calendar's INSERTs (docs/performance.md, issue 18). The
    text then depends on which columns vary, a few shapes per call site."""
    keys = list(rows[0])
    columns = [_column(statement, key) for key in keys]
    first = rows[0]
    varying = [len(rows) == 1 or any(row[key] != first[key] for row in rows) for key in keys]
    if not any(varying):  # rows all alike: unnest needs one array to make as many rows
        varying[0] = True
    arrays = [
        bindparam(None, [row[key] for row in rows], type_=ARRAY(column.type, dimensions=1))
        for key, column, varies in zip(keys, columns, varying, strict=True)
        if varies
    ]
    names = [f"c{n}" for n in range(len(arrays))]
    unnested = func.unnest(*arrays).table_valued(*names).render_derived()
    arrayed = iter(names)
    values = [
        unnested.c[next(arrayed)] if varies else bindparam(None, first[key], type_=column.type)
        for key, column, varies in zip(keys, columns, varying, strict=True)
    ]
    source: Select[Any] = select(*values).select_from(unnested)
    return statement.from_select(columns, source)


def _column(statement: Insert, key: str) -> ColumnClause[Any]:
    entity = statement.entity_description.get("entity")
    if entity is not None:  # a mapped class: rows are keyed by attribute name
        column: Column[Any] = inspect(entity).columns[key]
        return column
    return statement.table.c[key]
