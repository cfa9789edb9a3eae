"""A supplier's boleto pasted on an expense: its linha digitável checked (rules/boleto.py) and
read for the amount and due date it carries, which fill the expense's when not sent and must
agree with them when sent (a 422 otherwise: the line is what the bank will charge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from assina.core.errors import invalid
from assina.core.money import DEFAULT_CURRENCY
from assina.rules.boleto import (
    CURRENCY_REAL,
    barcode_from_line,
    digitable_line,
    due_date_from_factor,
)

FIELD = "boleto_line"
NO_FACTOR = 0  # a boleto "sem vencimento": no due date on the line
NO_AMOUNT = 0  # a boleto whose amount the payer types: none on the line


@dataclass(frozen=True)
class LineTerms:
    """What a checked line says: the line formatted, its amount (None: the line leaves it to
    the payer) and its due date (None: no due date)."""

    line: str
    amount: int | None
    due_date: date | None


def read_line(line: str, today: date) -> LineTerms:
    """The terms of a pasted line; a 422 on `boleto_line` naming the check that failed. A due
    date factor names a date every 9000 days: the one nearest the tenant's `today`."""
    try:
        code = barcode_from_line(line)
    except ValueError as error:
        raise invalid(FIELD, str(error)) from None
    if code[3] != CURRENCY_REAL:
        raise invalid(FIELD, f"the line's currency code is {code[3]}, not {CURRENCY_REAL} (real)")
    factor, amount = int(code[5:9]), int(code[9:19])
    try:
        due = None if factor == NO_FACTOR else due_date_from_factor(factor, today)
    except ValueError as error:
        raise invalid(FIELD, str(error)) from None
    return LineTerms(
        line=digitable_line(code),
        amount=None if amount == NO_AMOUNT else amount,
        due_date=due,
    )


def _money(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


def agreeing_terms(
    terms: LineTerms | None,
    amount: int | None,
    due_date: date | None,
    currency: str,
    kept: tuple[int | None, date | None] = (None, None),
) -> tuple[int, date]:
    """The expense's amount and due date: those sent, else the line's, else those `kept` (what
    the expense had). 422 on a field sent that disagrees with the line, on `currency` for a
    boleto not in reais, and on a field nothing gives."""
    if terms is not None:
        if currency != DEFAULT_CURRENCY:
            raise invalid("currency", f"a boleto is paid in {DEFAULT_CURRENCY}")
        if amount is not None and terms.amount is not None and amount != terms.amount:
            raise invalid(
                "amount", f"{amount} disagrees with boleto_line, which says {_money(terms.amount)}"
            )
        if due_date is not None and terms.due_date is not None and due_date != terms.due_date:
            raise invalid(
                "due_date", f"{due_date} disagrees with boleto_line, which says {terms.due_date}"
            )
        amount = amount if amount is not None else terms.amount
        due_date = due_date if due_date is not None else terms.due_date
    amount = amount if amount is not None else kept[0]
    due_date = due_date if due_date is not None else kept[1]
    if amount is None:
        raise invalid("amount", "required (unless boleto_line carries an amount)")
    if due_date is None:
        raise invalid("due_date", "required (unless boleto_line carries a due date)")
    return amount, due_date
