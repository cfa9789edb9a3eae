from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from assina.contracts.models import Contract, ContractStatus, PaymentMethod
from assina.contracts.schedule import ScheduleState, cancellation_day, derive, pending_proration
from assina.core.inputs import (
    BILLING_YEARS,
    CalendarDate,
    InputModel,
    Reference,
    not_sent,
    sent,
)
from assina.core.metadata import Metadata
from assina.core.money import Amount
from assina.core.patching import reject_null
from assina.price_indexes.models import PriceIndex
from assina.price_indexes.schemas import Month, PercentIn, percent_text
from assina.rules.readjustment import Readjustment

MAX_ITEMS = 100
MAX_QUANTITY = 1_000_000
MAX_DESCRIPTION = 500
MAX_TRIAL_DAYS = 730
MAX_REASON = 500
EARLIEST_START = date(2000, 1, 1)
LATEST_START = date(2100, 12, 31)

BillingDay = Annotated[int, Field(strict=True, ge=1, le=31)]


def _in_start_range(value: date) -> date:
    if not EARLIEST_START <= value <= LATEST_START:
        raise ValueError(f"must be between {EARLIEST_START} and {LATEST_START}")
    return value


StartDate = Annotated[
    CalendarDate, AfterValidator(_in_start_range), Field(json_schema_extra=BILLING_YEARS)
]


class ContractItemIn(InputModel):
    """One recurring product; `amount` (the unit amount) and `description` default to the
    product's price and name."""

    model_config = ConfigDict(extra="forbid")

    product_id: Reference
    quantity: int = Field(default=1, strict=True, ge=1, le=MAX_QUANTITY)
    amount: Amount | None = None
    description: str | None = Field(default=None, min_length=1, max_length=MAX_DESCRIPTION)


Items = Annotated[list[ContractItemIn], Field(min_length=1, max_length=MAX_ITEMS)]


class ContractCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Reference
    items: Items
    start_date: StartDate | None = Field(
        default=None, description="Default: today in the tenant's time zone."
    )
    billing_day: BillingDay | None = Field(
        default=None,
        description="Day of the month charges fall due (monthly products; 29-31 fall on the "
        "last day of shorter months). Default: the service start's day, which yearly, weekly "
        "and daily contracts always use.",
    )
    trial_days: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        le=MAX_TRIAL_DAYS,
        description="Default: the largest `trial_days` of the items' products; 0 for none. "
        "`trial_end` = `start_date` + `trial_days` is the first paid day.",
    )
    payment_method: PaymentMethod = PaymentMethod.BOLETO
    readjustment_index: PriceIndex | None = None
    metadata: Metadata = Field(default_factory=dict)
    dunning_exempt: bool = Field(default=False, strict=True)


class ContractFieldsUpdate(InputModel):
    """The PATCH fields that are stored as they come."""

    model_config = ConfigDict(extra="forbid")

    payment_method: PaymentMethod | None = None
    metadata: Metadata | None = None
    dunning_exempt: bool | None = Field(default=None, strict=True)
    readjustment_index: PriceIndex | None = Field(default=None, description="`null` clears it.")

    _not_null = field_validator("payment_method", "metadata", "dunning_exempt")(reject_null)


_PLAIN_FIELDS = frozenset(ContractFieldsUpdate.model_fields)


class ContractUpdate(ContractFieldsUpdate):
    """Only the fields sent change. `items` replaces the whole list; `billing_day` cannot
    change after creation (sending the current one is accepted)."""

    items: Items | None = None
    billing_day: BillingDay | None = None

    _items_not_null = field_validator("items", "billing_day")(reject_null)

    def plain(self) -> ContractFieldsUpdate:
        """The sent fields that are stored as they come (for `apply_patch`)."""
        sent = self.model_fields_set & _PLAIN_FIELDS
        return ContractFieldsUpdate.model_validate(self.model_dump(include=set(sent)))


class ContractCancel(InputModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, min_length=1, max_length=MAX_REASON)
    at_period_end: bool = Field(
        default=False,
        strict=True,
        description="Keep the contract until the end of the last period already charged.",
    )


class ContractReadjust(InputModel):
    """Either `percent`, or `index` with `reference_month` (the last of the 12 months whose
    recorded values are compounded)."""

    model_config = ConfigDict(extra="forbid")

    percent: PercentIn | None = None
    index: PriceIndex | None = None
    reference_month: Month | None = None

    @classmethod
    def document_rules(cls, schema: dict[str, Any]) -> None:
        schema["anyOf"] = [
            {"allOf": [sent("percent"), not_sent("index", "reference_month")]},
            {"allOf": [sent("index", "reference_month"), not_sent("percent")]},
        ]


class ContractItemOut(BaseModel):
    """An item as shown (product_id and description are always set on items the API stores;
    the schema keeps them nullable like every line item of the event catalog)."""

    product_id: str | None = None
    description: str | None = None
    quantity: int
    amount: int = Field(description="Unit amount in minor units.")


class ContractOut(BaseModel):
    id: str
    number: int
    customer_id: str
    items: list[ContractItemOut]
    amount: int = Field(description="Σ quantity * amount of the items.")
    currency: str
    status: ContractStatus
    start_date: date
    trial_end: date | None = Field(
        description="The first paid day: the trial covers `start_date` up to the day before, "
        "and the service, billed from then on, starts on it. null without a trial."
    )
    billing_day: int
    current_period_start: date | None
    current_period_end: date | None = Field(description="Exclusive: the next period's start.")
    next_charge_date: date | None
    pending_proration_amount: int = Field(
        description="Proration of mid-period changes that the next charge will carry as its "
        '"Ajuste proporcional" line, in minor units: positive a debit, negative a credit '
        "(only up to that charge's amount; the rest waits for the following charge); 0 when "
        "none, or when no charge comes."
    )
    payment_method: PaymentMethod
    readjustment_index: PriceIndex | None = Field(
        description="The index of the yearly readjustment on the anniversary, if any."
    )
    dunning_exempt: bool = Field(description="Left alone by the automatic dunning.")
    cancel_at_period_end: bool = Field(
        description="Set to cancel when the last period charged ends (a trial: when it ends)."
    )
    cancel_at: date | None = Field(
        description="The day the contract will end, when it is set to cancel at its period's "
        "end: the end of the last period charged, or a trial's `trial_end`; null otherwise."
    )
    cancelled_at: datetime | None
    cancel_reason: str | None
    status_reason: str | None = Field(
        description="Why the contract last changed status; null while it never did. "
        "`trial_ended`; `overdue` (suspended by the dunning policy); back from suspended by "
        "the policy, what made it true: `paid`, `invalidated`, `due_date_moved`, `exempted`, "
        "`policy_changed`, `contract_cancelled`; `resumed` (POST …/resume); cancelled: "
        "`requested`, `period_end`, `dunning`."
    )
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, contract: Contract, today: date) -> ContractOut:
        """The contract as seen on `today` (the tenant's calendar date)."""
        state = ScheduleState.of(contract)
        derived = derive(state, today)
        period = derived.current_period
        return cls(
            id=contract.id,
            number=contract.number,
            customer_id=contract.customer_id,
            items=[ContractItemOut.model_validate(item) for item in contract.items],
            amount=contract.amount,
            currency=contract.currency,
            status=contract.status,
            start_date=contract.start_date,
            trial_end=contract.trial_end,
            billing_day=contract.billing_day,
            current_period_start=period.start if period else None,
            current_period_end=period.end if period else None,
            next_charge_date=derived.next_charge_date,
            pending_proration_amount=pending_proration(
                state, contract.amount, contract.pending_adjustment
            ),
            payment_method=contract.payment_method,
            readjustment_index=PriceIndex(contract.readjustment_index)
            if contract.readjustment_index
            else None,
            dunning_exempt=contract.dunning_exempt,
            cancel_at_period_end=contract.cancel_at_period_end,
            cancel_at=cancellation_day(state),
            cancelled_at=contract.cancelled_at,
            cancel_reason=contract.cancel_reason,
            status_reason=contract.status_reason,
            metadata=contract.metadata_,
            created_at=contract.created_at,
            updated_at=contract.updated_at,
        )


class ReadjustmentOut(BaseModel):
    """The readjustment a `contract.readjusted` event applied."""

    percent: str = Field(
        description="The percent applied, 4 decimal places (compounded over the 12 months for "
        "an index).",
        examples=["4.5000"],
    )
    index: PriceIndex | None = Field(description="The index, or null for a plain percent.")
    reference_month: str | None = Field(
        description="The last of the index's 12 months compounded (YYYY-MM), or null.",
        examples=["2025-12"],
    )

    @classmethod
    def of(cls, readjustment: Readjustment) -> ReadjustmentOut:
        index = readjustment.index
        return cls(
            percent=percent_text(readjustment.percent),
            index=PriceIndex(index) if index is not None else None,
            reference_month=readjustment.reference_month,
        )


class ContractReadjustedOut(ContractOut):
    """`contract.readjusted`'s data: the contract after the readjustment, and what it applied."""

    readjustment: ReadjustmentOut

    @classmethod
    def readjusted(
        cls, contract: Contract, today: date, readjustment: Readjustment
    ) -> ContractReadjustedOut:
        shown = ContractOut.of(contract, today)
        return cls(**dict(shown), readjustment=ReadjustmentOut.of(readjustment))
