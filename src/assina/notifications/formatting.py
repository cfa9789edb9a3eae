"""How values read in an e-mail, per locale: money `R$ 1.234,56` (pt-BR) or `R$1,234.56` (en),
dates `15/01/2026` or `January 15, 2026` (CPF and CNPJ: core/documents.py `format_document`)."""

from __future__ import annotations

from datetime import date

from assina.core.money import MINOR_UNIT_EXPONENT
from assina.notifications.models import Locale

# Symbols written before the amount; a currency not listed is written as its code.
_SYMBOLS: dict[Locale, dict[str, str]] = {
    Locale.PT_BR: {"BRL": "R$ ", "USD": "US$ ", "EUR": "€ ", "GBP": "£ "},
    Locale.EN: {"BRL": "R$", "USD": "US$", "EUR": "€", "GBP": "£"},
}
_SEPARATORS = {Locale.PT_BR: (".", ","), Locale.EN: (",", ".")}

_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_INTERVALS = {
    Locale.PT_BR: {
        "day": ("por dia", "a cada {n} dias"),
        "week": ("por semana", "a cada {n} semanas"),
        "month": ("por mês", "a cada {n} meses"),
        "year": ("por ano", "a cada {n} anos"),
    },
    Locale.EN: {
        "day": ("per day", "every {n} days"),
        "week": ("per week", "every {n} weeks"),
        "month": ("per month", "every {n} months"),
        "year": ("per year", "every {n} years"),
    },
}


def format_money(amount: int, currency: str, locale: Locale) -> str:
    """Minor units as people read them: `format_money(123456, "BRL", PT_BR)` is `R$ 1.234,56`."""
    thousands, decimal = _SEPARATORS[locale]
    exponent = MINOR_UNIT_EXPONENT.get(currency, 2)
    units, minor = divmod(abs(amount), 10**exponent)
    whole = f"{units:,}".replace(",", thousands)
    number = f"{whole}{decimal}{minor:0{exponent}d}" if exponent else whole
    symbol = _SYMBOLS[locale].get(currency, f"{currency} ")
    return f"{'-' if amount < 0 else ''}{symbol}{number}"


def format_date(day: date, locale: Locale) -> str:
    if locale == Locale.PT_BR:
        return day.strftime("%d/%m/%Y")
    return f"{_EN_MONTHS[day.month - 1]} {day.day}, {day.year}"


def format_recurrence(interval: str, count: int, locale: Locale) -> str:
    """`por mês`, `a cada 3 meses`, `per year`, …"""
    one, many = _INTERVALS[locale].get(interval, ("", ""))
    if not one:
        return ""
    return one if count == 1 else many.format(n=count)
