"""Cursor pagination, the HTTP half: `?limit=50&starting_after=<id>` as a FastAPI dependency
(`PageQuery`), list filters by id, and the `{"data": [...], "has_more": bool}` body (`Page`).

The half services use (`PageParams`, `fetch_page`, `in_range`) is core/paging.py, without
FastAPI; it is re-exported here for the API modules that import it from this one.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from assina.core.inputs import MAX_REFERENCE
from assina.core.paging import DEFAULT_LIMIT, MAX_LIMIT, PageParams, fetch_page, in_range

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "PageParams",
    "PageQuery",
    "ReferenceFilter",
    "fetch_page",
    "in_range",
]

T = TypeVar("T")

# A list filter naming an object by id (`?customer_id=…`), bounded as a body's reference is.
ReferenceFilter = Annotated[str | None, Query(max_length=MAX_REFERENCE)]


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool


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
