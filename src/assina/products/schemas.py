from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assina.core.inputs import InputModel, Name
from assina.core.metadata import Metadata
from assina.core.money import DEFAULT_CURRENCY, Amount, Currency
from assina.core.patching import reject_null
from assina.products.models import BillingInterval, Product, ProductStatus

MAX_INTERVAL_COUNT = 36
MAX_TRIAL_DAYS = 730


class ProductCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str | None = Field(default=None, max_length=2000)
    amount: Amount
    currency: Currency = DEFAULT_CURRENCY
    interval: BillingInterval = BillingInterval.MONTH
    interval_count: int = Field(default=1, strict=True, ge=1, le=MAX_INTERVAL_COUNT)
    trial_days: int = Field(default=0, strict=True, ge=0, le=MAX_TRIAL_DAYS)
    metadata: Metadata = Field(default_factory=dict)


class ProductUpdate(InputModel):
    """Only the fields sent change. Existing contracts keep their own prices."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(default=None, max_length=2000)
    amount: Amount | None = None
    currency: Currency | None = None
    interval: BillingInterval | None = None
    interval_count: int | None = Field(default=None, strict=True, ge=1, le=MAX_INTERVAL_COUNT)
    trial_days: int | None = Field(default=None, strict=True, ge=0, le=MAX_TRIAL_DAYS)
    metadata: Metadata | None = None

    _not_null = field_validator(
        "name",
        "amount",
        "currency",
        "interval",
        "interval_count",
        "trial_days",
        "metadata",
    )(reject_null)


class ProductOut(BaseModel):
    id: str
    number: int
    name: str
    description: str | None
    amount: int
    currency: str
    interval: BillingInterval
    interval_count: int
    trial_days: int
    status: ProductStatus
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(
            id=product.id,
            number=product.number,
            name=product.name,
            description=product.description,
            amount=product.amount,
            currency=product.currency,
            interval=BillingInterval(product.interval),
            interval_count=product.interval_count,
            trial_days=product.trial_days,
            status=product.status,
            metadata=product.metadata_,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )
