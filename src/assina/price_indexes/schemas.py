"""Price index values (IGP-M, IPCA): the monthly percents a tenant records, from which the
yearly readjustment by index is computed (rules/readjustment.py).

A value is a percent with at most 4 decimal places, more than -100 and at most 1000, for a month
from 1990-01 to 2100-12. It is accepted as a JSON number or a numeric string and always
answered as a string with 4 places (`"0.4500"`), so that no client parses it into a binary
float by accident. Recording a month again replaces its value. No events: these are reference
data, not business facts about a customer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from assina.core.inputs import FOUR_PLACES, InputModel, decimal_text, document_decimal
from assina.price_indexes.models import PriceIndex

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
