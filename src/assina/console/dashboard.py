"""Painel: MRR, contracts, delinquency and what is overdue, the last 12 months of revenue as
a chart drawn here (SVG, no script), charges due in the next 7 days, recent events."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from fastapi.responses import Response
from markupsafe import Markup

from assina.console.auth import ConsoleCallerDep
from assina.console.i18n import translate
from assina.console.web import render_page
from assina.notifications.formatting import format_money
from assina.notifications.models import Locale
from assina.reports.dashboard import read_dashboard
from assina.rules.bar_chart import revenue_chart_svg

router = APIRouter(prefix="/console")

_MONTHS = {
    Locale.PT_BR: (
        "jan",
        "fev",
        "mar",
        "abr",
        "mai",
        "jun",
        "jul",
        "ago",
        "set",
        "out",
        "nov",
        "dez",
    ),
    Locale.EN: ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def month_label(month: date, locale: Locale) -> str:
    """`jan/26` (pt-BR) or `Jan 26` (en): short enough for twelve bars on a phone."""
    name = _MONTHS[locale][month.month - 1]
    return f"{name}/{month:%y}" if locale == Locale.PT_BR else f"{name} {month:%y}"


@router.get("")
async def dashboard_page(caller: ConsoleCallerDep) -> Response:
    numbers = await read_dashboard(caller.runtime.database, caller.tenant_id, caller.today())
    locale = caller.frame.locale
    chart = revenue_chart_svg(
        [(month_label(month, locale), amount) for month, amount in numbers.revenue_by_month],
        format_amount=lambda amount: format_money(amount, numbers.currency, locale),
        title=translate("dashboard.revenue_chart", locale),
    )
    return render_page(
        "dashboard.html",
        caller.frame,
        numbers=numbers,
        chart=Markup(chart),  # noqa: S704 (our own SVG, every text in it escaped)
    )
