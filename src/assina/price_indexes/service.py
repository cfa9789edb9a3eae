"""Price index values stored: recorded and listed through the API, and the 12 months a
yearly readjustment by index reads (rules/readjustment.py computes it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import invalid
from assina.core.paging import PageParams, fetch_page
from assina.db.dialect import insert_on_conflict
from assina.price_indexes.models import PriceIndex, PriceIndexValue
from assina.price_indexes.schemas import PriceIndexValueOut

MONTHS_PER_READJUSTMENT = 12


async def record_value(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    index: PriceIndex,
    month: str,
    percent: Decimal,
) -> PriceIndexValueOut:
    """Record (or replace) one month's value; an upsert, so concurrent writes cannot collide."""
    values = {"percent": percent, "updated_at": clock.now()}
    table = cast(Table, PriceIndexValue.__table__)
    statement = (
        insert_on_conflict(session, table)
        .values(tenant_id=tenant_id, index=index.value, month=month, **values)
        .on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c.index, table.c.month], set_=values
        )
    )
    await session.execute(statement)
    return PriceIndexValueOut.of(index, month, percent)


@dataclass(frozen=True)
class ValueFilters:
    from_month: str | None = None  # inclusive
    to_month: str | None = None  # inclusive


async def list_values(
    session: AsyncSession,
    tenant_id: str,
    index: PriceIndex,
    filters: ValueFilters,
    page: PageParams,
) -> tuple[Sequence[PriceIndexValue], bool]:
    """The index's recorded months, oldest first; `starting_after` is a month."""
    statement = select(PriceIndexValue).where(
        PriceIndexValue.tenant_id == tenant_id, PriceIndexValue.index == index.value
    )
    if filters.from_month is not None:
        statement = statement.where(PriceIndexValue.month >= filters.from_month)
    if filters.to_month is not None:
        statement = statement.where(PriceIndexValue.month <= filters.to_month)
    return await fetch_page(session, statement, PriceIndexValue.month, page)


def twelve_months_to(reference_month: str) -> list[str]:
    """The 12 months ending at `reference_month` (YYYY-MM), oldest first."""
    year, month = (int(part) for part in reference_month.split("-"))
    last = year * 12 + month - 1
    return [
        f"{n // 12:04d}-{n % 12 + 1:02d}"
        for n in range(last - MONTHS_PER_READJUSTMENT + 1, last + 1)
    ]


async def last_twelve(
    session: AsyncSession, tenant_id: str, index: PriceIndex | str, reference_month: str
) -> list[Decimal]:
    """The index's values for the 12 months ending at `reference_month`, oldest first.

    Raises a 422 problem on `reference_month` naming every month not recorded.
    """
    index = PriceIndex(index)
    months = twelve_months_to(reference_month)
    rows = await session.execute(
        select(PriceIndexValue.month, PriceIndexValue.percent).where(
            PriceIndexValue.tenant_id == tenant_id,
            PriceIndexValue.index == index.value,
            PriceIndexValue.month.in_(months),
        )
    )
    recorded: dict[str, Decimal] = {row.month: row.percent for row in rows}
    missing = [month for month in months if month not in recorded]
    if missing:
        raise invalid(
            "reference_month",
            f"{index.value} has no value recorded for {', '.join(missing)}; record them with "
            f"PUT /v1/price-indexes/{index.value}/values/{{month}}",
        )
    return [recorded[month] for month in months]
