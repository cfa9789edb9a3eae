"""Price index values (IGP-M, IPCA): the monthly percents a tenant records, from which the
yearly readjustment by index is computed (rules/readjustment.py).

A value is a percent with at most 4 decimal places, more than -100 and at most 1000, for a month
from 1990-01 to 2100-12. It is accepted as a JSON number or a numeric string and always
answered as a string with 4 places (`"0.4500"`), so that no client parses it into a binary
float by accident. Recording a month again replaces its value. No events: these are reference
data, not business facts about a customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing.models import PriceIndexValue
from assina.contracts.models import PriceIndex
from assina.core.clock import Clock
from assina.core.errors import invalid
from assina.core.inputs import FOUR_PLACES, InputModel, decimal_text, document_decimal
from assina.core.pagination import PageParams, fetch_page
from assina.db.upsert import insert_on_conflict

MONTHS_PER_READJUSTMENT = 12
MIN_PERCENT = Decimal(-100)
MAX_PERCENT = Decimal(1000)
PERCENT_PLACES = Decimal("0.0001")
MONTH_PATTERN = r"^(199[0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"

Month = Annotated[
    str,
    Field(
        pattern=MONTH_PATTERN,
        description="A month, YYYY-MM, from 1990-01 to 2100-12.",
        examples=["2026-01"],
    ),
]

# More than -100 and at most 1000, at most 4 decimal places.
PERCENT_TEXT = (
    rf"^(\+?0*([0-9]{{1,3}}{FOUR_PLACES}|1000(\.0*)?|\.[0-9]{{1,4}}0*)"
    rf"|-0*([0-9]{{1,2}}{FOUR_PLACES}|\.[0-9]{{1,4}}0*))$"
)


def _four_places(value: Decimal) -> Decimal:
    return value.quantize(PERCENT_PLACES) + 0  # `+ 0` turns -0 into 0


PercentIn = Annotated[
    Decimal,
    Field(
        gt=MIN_PERCENT,
        le=MAX_PERCENT,
        decimal_places=4,
        description="Percent (4.5 is 4.5 %), more than -100 and at most 1000, at most 4 "
        "decimal places; a JSON number or a numeric string.",
        examples=["0.45"],
        json_schema_extra=document_decimal(PERCENT_TEXT),
    ),
    decimal_text(PERCENT_TEXT),
    AfterValidator(_four_places),
]


def percent_text(value: Decimal) -> str:
    """A percent as the API answers it: a string with 4 decimal places ("0.4500")."""
    return f"{_four_places(value):f}"


class PriceIndexValueIn(InputModel):
    model_config = ConfigDict(extra="forbid")

    percent: PercentIn


class PriceIndexValueOut(BaseModel):
    index: PriceIndex
    month: str = Field(examples=["2026-01"])
    percent: str = Field(description="Percent with 4 decimal places.", examples=["0.4500"])

    @classmethod
    def of(cls, index: PriceIndex, month: str, percent: Decimal) -> PriceIndexValueOut:
        return cls(index=index, month=month, percent=percent_text(percent))


# --- use cases -------------------------------------------------------------------------------


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
