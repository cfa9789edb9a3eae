"""Cursor pagination, the half services use: a page's parameters and its query.

`?limit=50&starting_after=<id>` → `{"data": [...], "has_more": bool}`. Lists are ordered by
id, ascending (ids are time-sortable, so oldest first); the cursor is the last id of the
previous page and needs no lookup, so it cannot reveal other tenants' ids. The HTTP half (the
query parameters, `Page`) is core/pagination.py: it imports FastAPI, which services, the
calendar and the CLI do without.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

Row = TypeVar("Row")
StatementT = TypeVar("StatementT", bound=Select[Any])

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    # The console lists newest first (the cursor then reads "older than"); the API, oldest.
    newest_first: bool = False


async def fetch_page(
    session: AsyncSession,
    statement: Select[Row],
    id_column: InstrumentedAttribute[str],
    params: PageParams,
) -> tuple[Sequence[Row], bool]:
    if params.newest_first:
        if params.starting_after is not None:
            statement = statement.where(id_column < params.starting_after)
        statement = statement.order_by(id_column.desc()).limit(params.limit + 1)
    else:
        if params.starting_after is not None:
            statement = statement.where(id_column > params.starting_after)
        statement = statement.order_by(id_column).limit(params.limit + 1)
    rows = (await session.scalars(statement)).all()
    return rows[: params.limit], len(rows) > params.limit


def in_range(
    statement: StatementT,
    column: InstrumentedAttribute[Any] | ColumnElement[Any],
    start: object | None,
    end: object | None,
) -> StatementT:
    """`statement` narrowed to rows whose `column` is in [start, end): the `*_gte` / `*_lt`
    filters of the lists. A bound not given leaves that side open."""
    if start is not None:
        statement = statement.where(column >= start)
    if end is not None:
        statement = statement.where(column < end)
    return statement
