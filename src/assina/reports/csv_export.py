"""The cash-flow report as CSV: one row per period, direction, kind and category that has
money in it, under a header row. Amounts are decimals with a point and the currency's minor
digits (`1234.56`; `1500` in yen), never floats, so a spreadsheet reads them as numbers."""

from __future__ import annotations

import csv
import io
from datetime import date

from assina.core.money import MINOR_UNIT_EXPONENT
from assina.reports.cash_flow import CashFlowQuery, Flow, first_day, periods

HEADER = ("period_start", "period_end", "direction", "kind", "category", "amount", "currency")


def decimal_text(amount: int, currency: str) -> str:
    """Minor units as a decimal with a point, exactly (`-1234.56`)."""
    exponent = MINOR_UNIT_EXPONENT[currency]
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{minor:0{exponent}d}" if exponent else f"{sign}{whole}"


def cash_flow_csv(query: CashFlowQuery, flows: list[Flow]) -> str:
    bounds: dict[date, tuple[date, date]] = {
        first_day(start, query.group): (start, end) for start, end in periods(query)
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for flow in flows:
        start, end = bounds[flow.period]
        writer.writerow(
            (
                start.isoformat(),
                end.isoformat(),
                flow.direction.value,
                flow.kind.value,
                flow.category,
                decimal_text(flow.amount, query.currency),
                query.currency,
            )
        )
    return out.getvalue()
