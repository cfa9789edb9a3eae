"""Boleto numbers (FEBRABAN): the 44-digit barcode and the 47-digit linha digitável.

Barcode: bank (3) · currency 9 (1) · general check digit (1) · due-date factor (4) · amount in
centavos (10) · free field (25, the bank's own layout). The general digit is mod 11 over the
other 43 digits. The line re-orders the same digits into five fields, the first three closed by
a mod-10 digit: bank, currency, free field 1-5 | free field 6-15 | free field 16-25 | general
digit | factor and amount. docs/payments.md, "Boleto numbers", tells the whole story, the
mod-11 blind spot included.

Each bank fills the free field its own way: `FREE_FIELD_BUILDERS` maps a bank code to its
builder; Banco do Brasil's is the only one so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Protocol

CURRENCY_REAL = "9"
MAX_AMOUNT = 9_999_999_999  # ten digits of centavos
FACTOR_EPOCH = date(1997, 10, 7)  # factor = days since this date (before the first wrap)
FIRST_FACTOR_DATE = date(2000, 7, 3)  # factor 1000, the lowest one in use
FIRST_FACTOR = 1000
LAST_FACTOR = 9999
FACTOR_CYCLE = LAST_FACTOR - FIRST_FACTOR + 1  # 9000 days: 2025-02-22 is 1000 again
BARCODE_LENGTH = 44
LINE_LENGTH = 47
FREE_FIELD_LENGTH = 25
BANCO_DO_BRASIL = "001"
BANK_NAMES: Mapping[str, str] = {BANCO_DO_BRASIL: "Banco do Brasil"}  # as printed on a boleto


# --- check digits -------------------------------------------------------------------------


def mod10_digit(digits: str) -> int:
    """The mod-10 digit of a line's field: weights 2, 1, 2, … from the right, a product above
    9 loses 9 (the sum of its two digits), then (10 - sum mod 10) mod 10."""
    _require_digits(digits, "the digits of a mod-10 check")
    total = 0
    for position, char in enumerate(reversed(digits)):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def mod11_general_digit(digits43: str) -> int:
    """The barcode's general check digit over its other 43 digits: weights 2..9 repeating from
    the right, 11 - (sum mod 11), where 0, 10 and 11 become 1 (so remainders 0, 1 and 10 all
    give 1: the blind spot of docs/payments.md)."""
    _require_digits(digits43, "the 43 digits of the general check", length=BARCODE_LENGTH - 1)
    total = sum(int(char) * (2 + position % 8) for position, char in enumerate(reversed(digits43)))
    digit = 11 - total % 11
    return 1 if digit in (0, 10, 11) else digit


# --- the due-date factor ------------------------------------------------------------------


def due_date_factor(due: date) -> int:
    """The 4-digit factor of a due date: days since 1997-10-07, starting again at 1000 after
    9999 (2025-02-21 is 9999, 2025-02-22 is 1000; every 9000 days)."""
    if due < FIRST_FACTOR_DATE:
        raise ValueError(f"a due date must be on or after {FIRST_FACTOR_DATE}, not {due}")
    days_since_first = (due - FIRST_FACTOR_DATE).days
    return FIRST_FACTOR + days_since_first % FACTOR_CYCLE


def due_date_from_factor(factor: int, near: date) -> date:
    """The due date with this factor closest to `near` (a factor repeats every 9000 days, so
    alone it names many dates). Exactly 4500 days either way, the later one: a boleto is
    usually read before it falls due."""
    if not FIRST_FACTOR <= factor <= LAST_FACTOR:
        raise ValueError(f"a due-date factor is {FIRST_FACTOR} to {LAST_FACTOR}, not {factor}")
    first_offset = factor - FIRST_FACTOR  # days after 2000-07-03, in the first cycle
    near_offset = (near - FIRST_FACTOR_DATE).days
    cycles = max(0, round((near_offset - first_offset) / FACTOR_CYCLE))
    candidates = [
        first_offset + FACTOR_CYCLE * n for n in (cycles - 1, cycles, cycles + 1) if n >= 0
    ]
    best = min(candidates, key=lambda offset: (abs(offset - near_offset), -offset))
    try:
        return FIRST_FACTOR_DATE + timedelta(days=best)
    except OverflowError:
        raise ValueError(f"factor {factor} near {near} falls after {date.max}") from None


# --- barcode and line ---------------------------------------------------------------------


def barcode(*, bank_code: str, amount: int, due: date, free_field: str) -> str:
    """The 44-digit barcode of a boleto in reais paying `amount` centavos on `due`."""
    _require_digits(bank_code, "a bank code", length=3)
    _require_digits(free_field, "a free field", length=FREE_FIELD_LENGTH)
    if not 0 <= amount <= MAX_AMOUNT:
        raise ValueError(f"a boleto amount is 0 to {MAX_AMOUNT} centavos, not {amount}")
    without_digit = f"{bank_code}{CURRENCY_REAL}{due_date_factor(due):04d}{amount:010d}{free_field}"
    general = mod11_general_digit(without_digit)
    return f"{without_digit[:4]}{general}{without_digit[4:]}"


def check_barcode(code: str) -> None:
    """ValueError unless `code` is 44 digits whose general check digit (position 5) holds."""
    _require_digits(code, "a barcode", length=BARCODE_LENGTH)
    if int(code[4]) != mod11_general_digit(code[:4] + code[5:]):
        raise ValueError("the barcode's general check digit (position 5, mod 11) does not match")


def digitable_line(code: str, *, formatted: bool = True) -> str:
    """The linha digitável of a barcode: `AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEE…`
    when `formatted`, else the bare 47 digits."""
    check_barcode(code)
    fields = _line_fields(code)
    if not formatted:
        return "".join(fields)
    first, second, third, general, tail = fields
    return " ".join((_dotted(first, 5), _dotted(second, 5), _dotted(third, 5), general, tail))


def barcode_from_line(line: str) -> str:
    """The 44-digit barcode a linha digitável carries, with or without its dots and spaces;
    ValueError naming the check that failed (a field's mod-10 digit, or the general digit)."""
    digits = "".join(char for char in line if char not in ". ")
    _require_digits(digits, "a linha digitável (without dots and spaces)", length=LINE_LENGTH)
    fields = (digits[0:10], digits[10:21], digits[21:32])
    for number, field in enumerate(fields, start=1):
        if int(field[-1]) != mod10_digit(field[:-1]):
            raise ValueError(f"field {number} of the line fails its check digit (mod 10)")
    code = digits[0:4] + digits[32] + digits[33:47] + digits[4:9] + digits[10:20] + digits[21:31]
    if int(code[4]) != mod11_general_digit(code[:4] + code[5:]):
        raise ValueError("the line's general check digit (field 4, mod 11) does not match")
    return code


def _line_fields(code: str) -> tuple[str, str, str, str, str]:
    free = code[19:44]
    first = code[0:4] + free[0:5]
    second, third = free[5:15], free[15:25]
    return (
        first + str(mod10_digit(first)),
        second + str(mod10_digit(second)),
        third + str(mod10_digit(third)),
        code[4],
        code[5:19],  # factor and amount
    )


def _dotted(field: str, at: int) -> str:
    return f"{field[:at]}.{field[at:]}"


# --- free fields, one builder per bank ----------------------------------------------------


class FreeFieldBuilder(Protocol):
    """What a bank's free-field builder takes: the terms of the beneficiary's agreement with
    the bank (convênio, carteira, agência, conta) and the boleto's nosso número. A bank that
    needs none of agency or account ignores them."""

    def __call__(
        self,
        *,
        agreement: str,
        our_number: str,
        wallet: str,
        agency: str | None,
        account: str | None,
    ) -> str: ...


def banco_do_brasil_free_field(
    *,
    agreement: str,
    our_number: str,
    wallet: str,
    agency: str | None = None,
    account: str | None = None,
) -> str:
    """Banco do Brasil's 25-digit free field; the convênio's length picks the layout:

    - 8 digits: `000000` + convênio + nosso número (9) + carteira (2);
    - 7 digits: `000000` + convênio + nosso número (10) + carteira (2);
    - 6 digits: convênio + nosso número (5) + agência (4) + conta (8) + carteira (2).

    Nosso número, agência, conta and carteira are numbers: a shorter one is zero-padded on the
    left, as BB's layout (and its published example: nosso número 1234, conta 61900) does; a
    longer one is refused. Agência and conta are ignored by the 7- and 8-digit layouts.
    """
    _require_digits(agreement, "a Banco do Brasil convênio")
    carteira = _padded(wallet, 2, "carteira")
    if len(agreement) == 8:
        return f"000000{agreement}{_padded(our_number, 9, 'nosso número')}{carteira}"
    if len(agreement) == 7:
        return f"000000{agreement}{_padded(our_number, 10, 'nosso número')}{carteira}"
    if len(agreement) != 6:
        raise ValueError(
            f"a Banco do Brasil convênio has 6, 7 or 8 digits here, not {len(agreement)}"
        )
    if agency is None or account is None:
        raise ValueError("a Banco do Brasil convênio of 6 digits needs the agência and conta")
    return (
        agreement
        + _padded(our_number, 5, "nosso número")
        + _padded(agency, 4, "agência")
        + _padded(account, 8, "conta")
        + carteira
    )


def banco_do_brasil_our_number(*, agreement: str, our_number: str) -> str:
    """The nosso número as Banco do Brasil prints it: the convênio and then the number, padded
    as its free field carries them (17 digits with a convênio of 7 or 8, 11 with one of 6)."""
    widths = {8: 9, 7: 10, 6: 5}
    _require_digits(agreement, "a Banco do Brasil convênio")
    if len(agreement) not in widths:
        raise ValueError(
            f"a Banco do Brasil convênio has 6, 7 or 8 digits here, not {len(agreement)}"
        )
    return agreement + _padded(our_number, widths[len(agreement)], "nosso número")


def printed_our_number(bank_code: str, *, agreement: str, our_number: str) -> str:
    """The nosso número as `bank_code` prints it on a boleto (ValueError for a bank without a
    layout yet)."""
    if bank_code != BANCO_DO_BRASIL:
        raise ValueError(f"no boleto free-field layout for bank {bank_code!r} yet")
    return banco_do_brasil_our_number(agreement=agreement, our_number=our_number)


FREE_FIELD_BUILDERS: Mapping[str, FreeFieldBuilder] = {
    BANCO_DO_BRASIL: banco_do_brasil_free_field,
}


def free_field(
    bank_code: str,
    *,
    agreement: str,
    our_number: str,
    wallet: str,
    agency: str | None = None,
    account: str | None = None,
) -> str:
    """The free field of `bank_code`'s layout (ValueError for a bank without one yet)."""
    builder = FREE_FIELD_BUILDERS.get(bank_code)
    if builder is None:
        raise ValueError(f"no boleto free-field layout for bank {bank_code!r} yet")
    return builder(
        agreement=agreement, our_number=our_number, wallet=wallet, agency=agency, account=account
    )


# --- helpers ------------------------------------------------------------------------------


def _require_digits(text: str, what: str, *, length: int | None = None) -> None:
    # isascii: str.isdigit alone accepts other scripts' digits and superscripts.
    if not text or not (text.isascii() and text.isdigit()):
        raise ValueError(f"{what} must be ASCII digits only, not {text!r}")
    if length is not None and len(text) != length:
        raise ValueError(f"{what} must have {length} digits, not {len(text)}")


def _padded(number: str, width: int, what: str) -> str:
    _require_digits(number, f"the {what}")
    if len(number) > width:
        raise ValueError(f"the {what} has at most {width} digits here, not {len(number)}")
    return number.zfill(width)
