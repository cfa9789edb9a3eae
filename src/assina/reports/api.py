"""HTTP for reports: parse, call the service, shape the answer (JSON, or CSV on request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from assina.core.inputs import CalendarDate
from assina.core.money import DEFAULT_CURRENCY, Currency
from assina.core.openapi import problem_responses
from assina.db.functions import PeriodUnit
from assina.reports import cash_flow
from assina.reports.csv_export import cash_flow_csv
from assina.reports.schemas import CashFlowOut
from assina.tenants.deps import CallerDep

router = APIRouter(prefix="/v1/reports", tags=["reports"])

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"


def wants_csv(accept: str | None) -> bool:
    """CSV when the Accept header prefers `text/csv` to JSON (by q-value, then order)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept or "").split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, media.lower()))
    for quality, _, media in sorted(ranked):
        if quality < 0 and media in (CSV_MEDIA_TYPE, JSON_MEDIA_TYPE):
            return media == CSV_MEDIA_TYPE
    return False


@router.get(
    "/cash-flow",
    response_model=CashFlowOut,
    responses={
        200: {
            "content": {
                CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
            },
            "description": "The report: JSON, or CSV when `Accept: text/csv`.",
        },
        **problem_responses(401, 422),
    },
    summary="Cash flow: money in and out, realized and forecast, by period",
)
async def get_cash_flow(
    caller: CallerDep,
    start: Annotated[CalendarDate, Query(alias="from", description="First day, YYYY-MM-DD")],
    end: Annotated[CalendarDate, Query(alias="to", description="Last day, YYYY-MM-DD")],
    group: Annotated[PeriodUnit, Query(description="day, week (ISO, Monday) or month")] = (
        PeriodUnit.MONTH
    ),
    currency: Annotated[Currency, Query(description="Only money in this currency")] = (
        DEFAULT_CURRENCY
    ),
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Money in (charges) and out (expenses) from `from` to `to` (both included, dates of the
    tenant's zone), by day, ISO week or month, each period's sums realized (settled: charges on
    the local date they were settled, their settled amount; expenses on the date paid, what was
    paid) and forecast (open: by due date, the amount), by category (an expense's own; a
    charge's `contratos` or `avulsas`). Reversed and invalidated ones count nowhere. With
    `Accept: text/csv`, one row per period, direction, kind and category with money in it;
    amounts as decimals with a point (docs/expenses.md).

    Errors: 422 when `to` is before `from`, a date is outside 2000-2100, or the range is
    longer than 1,096 days grouped by day (3,653 by week or month)."""
    query = cash_flow.CashFlowQuery(start, end, group, currency, caller.tenant.time_zone)
    query.check()
    async with caller.database.read() as session:
        flows = await cash_flow.sums(session, caller.tenant_id, query)
    if wants_csv(accept):
        return Response(
            cash_flow_csv(query, flows),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="cash-flow.csv"'},
        )
    report = cash_flow.report(query, flows)
    return JSONResponse(report.model_dump(mode="json"))
