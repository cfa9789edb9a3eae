from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from assina.core.inputs import InputModel, UtcDatetime, not_sent, sent

MAX_ADVANCE_DAYS = 1100


class ClockReading(BaseModel):
    now: datetime = Field(description="The sandbox tenant's business time (RFC 3339, UTC).")
    today: date = Field(description="Its calendar date in the tenant's time zone.")


class ClockAdvanceIn(InputModel):
    """Either `to` or `days`."""

    to: UtcDatetime | None = Field(
        default=None,
        description="Move the clock to this instant (RFC 3339 with a zone), later than now "
        "and at most 1,100 days ahead. Safe to retry: a second call finds the clock there "
        "already (409).",
    )
    days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ADVANCE_DAYS,
        strict=True,
        description="Move the clock this many calendar days forward, to the same time of day.",
    )

    @classmethod
    def document_rules(cls, schema: dict[str, Any]) -> None:
        schema["anyOf"] = [
            {"allOf": [sent("to"), not_sent("days")]},
            {"allOf": [sent("days"), not_sent("to")]},
        ]

    @model_validator(mode="after")
    def _one_of(self) -> ClockAdvanceIn:
        if (self.to is None) == (self.days is None):
            raise ValueError("send either `to` or `days`")
        return self


class DunningSummary(BaseModel):
    customers: int
    status_changes: int
    suspended: int
    resumed: int
    cancelled: int
    emails: int


class CardSummary(BaseModel):
    attempted: int = Field(description="Card charges tried on their due date or a retry day.")
    approved: int
    declined: int = Field(description="Each raised card.declined.")
    processing: int = Field(description="Decided later by the gateway's notification.")
    unanswered: int = Field(description="The gateway did not answer: tried again next pass.")
    without_card: int = Field(description="Card charges due a try whose customer has no card.")


class ClockAdvanced(BaseModel):
    """What the advance did, summed over the days it ran."""

    clock: ClockReading
    previous: ClockReading = Field(description="The clock before the advance.")
    days: int = Field(
        description="Calendar days run, the first (the day the clock was on) "
        "and the last (the day it landed on) included."
    )
    contracts: int = Field(description="Contract steps taken.")
    charges_issued: int
    trials_ended: int
    cancelled: int = Field(description="Contracts cancelled at period end.")
    readjusted: int
    orders_expired: int = Field(description="Pending orders expired (order_expiry_days).")
    dunning: DunningSummary
    cards: CardSummary
    failed: list[str] = Field(
        description="Contracts or customers whose step failed; they stay due."
    )
