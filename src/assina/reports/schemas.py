from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from assina.db.functions import PeriodUnit


class Direction(StrEnum):
    IN = "in"  # charges: money the tenant receives
    OUT = "out"  # expenses: money the tenant pays


class Kind(StrEnum):
    REALIZED = "realized"  # settled: money that moved
    FORECAST = "forecast"  # open: money due


class CategoryFlow(BaseModel):
    category: str = Field(
        description="An expense's category; for charges `contratos` (issued for a contract) "
        "or `avulsas` (one-off)."
    )
    realized: int
    forecast: int


class DirectionFlow(BaseModel):
    realized: int = Field(description="Settled in the period, minor units.")
    forecast: int = Field(description="Open and due in the period, minor units.")
    categories: list[CategoryFlow] = Field(description="By category, in name order.")


class Net(BaseModel):
    realized: int = Field(description="in.realized - out.realized")
    forecast: int = Field(description="in.forecast - out.forecast")


class PeriodFlow(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    start: date = Field(description="The period's first day within the range.")
    end: date = Field(description="The period's last day within the range.")
    money_in: DirectionFlow = Field(alias="in")
    money_out: DirectionFlow = Field(alias="out")
    net: Net


class CashFlowOut(BaseModel):
    """`GET /v1/reports/cash-flow`: money in and out of the tenant, period by period."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    group: PeriodUnit
    currency: str
    time_zone: str = Field(description="The tenant's zone, which dates are counted in.")
    periods: list[PeriodFlow]
    totals: PeriodFlow = Field(description="The whole range.")
