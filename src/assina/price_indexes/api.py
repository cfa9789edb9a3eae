"""HTTP for price index values: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery
from assina.price_indexes import service
from assina.price_indexes.models import PriceIndex
from assina.price_indexes.schemas import (
    MONTH_PATTERN,
    PriceIndexValueIn,
    PriceIndexValueOut,
)
from assina.tenants.deps import CallerDep

router = APIRouter(prefix="/v1/price-indexes", tags=["price indexes"])

MonthPath = Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM, 1990-01 to 2100-12.")]


@router.put(
    "/{index}/values/{month}",
    response_model=PriceIndexValueOut,
    responses=problem_responses(400, 401, 413, 422),
    summary="Record a month's value of a price index",
)
async def record_value(
    index: PriceIndex, month: MonthPath, body: PriceIndexValueIn, caller: CallerDep
) -> PriceIndexValueOut:
    """Records, or replaces, a month's percent change of IGPM or IPCA, used by readjustments
    (-100 < percent ≤ 1000, 4 decimal places). No event.

    Errors: 422 (an unknown index, a month outside 1990-01..2100-12, a bad percent)."""
    async with caller.database.write() as session:
        return await service.record_value(
            session, caller.clock, caller.tenant_id, index, month, body.percent
        )


@router.get(
    "/{index}/values",
    response_model=Page[PriceIndexValueOut],
    responses=problem_responses(401, 422),
    summary="List a price index's recorded months",
)
async def list_values(
    index: PriceIndex,
    caller: CallerDep,
    page: PageQuery,
    from_month: Annotated[
        str | None, Query(alias="from", pattern=MONTH_PATTERN, description="YYYY-MM, inclusive.")
    ] = None,
    to_month: Annotated[
        str | None, Query(alias="to", pattern=MONTH_PATTERN, description="YYYY-MM, inclusive.")
    ] = None,
) -> Page[PriceIndexValueOut]:
    """The recorded months of a price index, oldest first, optionally `from`/`to` a month."""
    filters = service.ValueFilters(from_month=from_month, to_month=to_month)
    async with caller.database.read() as session:
        rows, has_more = await service.list_values(session, caller.tenant_id, index, filters, page)
        data = [PriceIndexValueOut.of(index, row.month, row.percent) for row in rows]
        return Page[PriceIndexValueOut](data=data, has_more=has_more)
