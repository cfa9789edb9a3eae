"""Cursor pagination: `?limit=50&starting_after=<id>` → `{"data": [...], "has_more": bool}`.

Lists are ordered by id, ascending (ids are time-sortable, so oldest first); the cursor is
the last id of the previous page and needs no lookup, so it cannot reveal other tenants' ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from assina.core.inputs import MAX_REFERENCE

T = TypeVar("T")
Row = TypeVar("Row")
StatementT = TypeVar("StatementT", bound=Select[Any])

DEFAULT_LIMIT = 50

# A list filter naming an object by id (`?customer_id=…`), bounded as a body's reference is.
ReferenceFilter = Annotated[str | None, Query(max_length=MAX_REFERENCE)]
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    # The console lists newest first (the cursor then reads "older than"); the API, oldest.
    newest_first: bool = False


async def _page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size, 1 to 100.")
    ] = DEFAULT_LIMIT,
    starting_after: Annotated[
        str | None, Query(max_length=64, description="Return objects after this id.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, starting_after=starting_after)


PageQuery = Annotated[PageParams, Depends(_page_params)]


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
