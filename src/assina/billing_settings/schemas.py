"""A tenant's billing settings: late-fee rates, the calendar's lead times and the PIX receiver.

A tenant without a stored row has the defaults. `BillingRules` is what the rest of the code
reads (service.py `billing_rules`); `GET/PUT /v1/billing-settings` (api.py) show and replace
the row.

Percents are exact decimals with at most 4 places (`Percent` column). They are accepted as JSON
numbers or numeric strings and always answered as strings with 4 places (`"2.0000"`), so that
no client parses them into a binary float by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from assina.core.inputs import FOUR_PLACES, InputModel, decimal_text, document_decimal
from assina.rules.pix import MAX_CITY, MAX_KEY, MAX_NAME

DEFAULT_FINE_PERCENT = Decimal(2)
DEFAULT_MONTHLY_INTEREST_PERCENT = Decimal(1)
DEFAULT_CHARGE_LEAD_DAYS = 10
DEFAULT_ORDER_EXPIRY_DAYS = 7
PERCENT_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class BillingRules:
    """What the billing code needs to know about a tenant (percents as percent values)."""

    fine_percent: Decimal = DEFAULT_FINE_PERCENT
    monthly_interest_percent: Decimal = DEFAULT_MONTHLY_INTEREST_PERCENT
    charge_lead_days: int = DEFAULT_CHARGE_LEAD_DAYS
    order_expiry_days: int = DEFAULT_ORDER_EXPIRY_DAYS
    pix_key: str | None = None
    merchant_name: str | None = None
    merchant_city: str | None = None

    @property
    def pix_receiver(self) -> tuple[str, str, str] | None:
        """(key, merchant name, merchant city) when all three are set: charges get a PIX code."""
        if self.pix_key and self.merchant_name and self.merchant_city:
            return self.pix_key, self.merchant_name, self.merchant_city
        return None


DEFAULT_RULES = BillingRules()

# --- request and response bodies -------------------------------------------------------------

# 0 to 100, at most 4 decimal places.
PERCENT_TEXT = rf"^(\+?0*([0-9]{{1,2}}{FOUR_PLACES}|100(\.0*)?|\.[0-9]{{1,4}}0*)|-0+(\.0*)?|-\.0+)$"


def _to_places(value: Decimal) -> Decimal:
    return value.quantize(PERCENT_PLACES) + 0  # `+ 0` turns -0 into 0


PercentIn = Annotated[
    Decimal,
    Field(
        ge=0,
        le=100,
        decimal_places=4,
        description="Percent, at most 4 decimal places.",
        json_schema_extra=document_decimal(PERCENT_TEXT),
    ),
    decimal_text(PERCENT_TEXT),
    AfterValidator(_to_places),
]


# The PIX code carries printable ASCII only (accents dropped), so a name or city needs at
# least one such character that is not a space; and no NUL, like any text.
SHOWN_PATTERN = r"^[^\u0000]*[!-~][^\u0000]*$"
PIX_KEY_PATTERN = r"^[ -~]*$"

PixKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_KEY,
        pattern=PIX_KEY_PATTERN,
        description="The PIX key (chave PIX) payments go to: printable ASCII.",
    ),
]
MerchantName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME,
        pattern=SHOWN_PATTERN,
        description="Receiver's name in the PIX code (accents are dropped).",
    ),
]
MerchantCity = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CITY,
        pattern=SHOWN_PATTERN,
        description="Receiver's city in the PIX code (accents are dropped).",
    ),
]


class BillingSettingsIn(InputModel):
    """The whole settings: a field left out takes its default."""

    model_config = ConfigDict(extra="forbid")

    fine_percent: PercentIn = DEFAULT_FINE_PERCENT
    monthly_interest_percent: PercentIn = DEFAULT_MONTHLY_INTEREST_PERCENT
    charge_lead_days: int = Field(default=DEFAULT_CHARGE_LEAD_DAYS, strict=True, ge=0, le=60)
    order_expiry_days: int = Field(default=DEFAULT_ORDER_EXPIRY_DAYS, strict=True, ge=1, le=90)
    pix_key: PixKey | None = None
    merchant_name: MerchantName | None = None
    merchant_city: MerchantCity | None = None

    def rules(self) -> BillingRules:
        return BillingRules(
            fine_percent=self.fine_percent,
            monthly_interest_percent=self.monthly_interest_percent,
            charge_lead_days=self.charge_lead_days,
            order_expiry_days=self.order_expiry_days,
            pix_key=self.pix_key,
            merchant_name=self.merchant_name,
            merchant_city=self.merchant_city,
        )


def percent_text(value: Decimal) -> str:
    return f"{_to_places(value):f}"


class BillingSettingsOut(BaseModel):
    fine_percent: str = Field(description="Fine on late settlement, percent.", examples=["2.0000"])
    monthly_interest_percent: str = Field(
        description="Interest a month (30 days, pro rata die), percent.", examples=["1.0000"]
    )
    charge_lead_days: int
    order_expiry_days: int
    pix_key: str | None
    merchant_name: str | None
    merchant_city: str | None
    updated_at: datetime | None = Field(description="null while the defaults were never changed")

    @classmethod
    def of(cls, rules: BillingRules, updated_at: datetime | None) -> BillingSettingsOut:
        return cls(
            fine_percent=percent_text(rules.fine_percent),
            monthly_interest_percent=percent_text(rules.monthly_interest_percent),
            charge_lead_days=rules.charge_lead_days,
            order_expiry_days=rules.order_expiry_days,
            pix_key=rules.pix_key,
            merchant_name=rules.merchant_name,
            merchant_city=rules.merchant_city,
            updated_at=updated_at,
        )
