"""Money: integer minor units plus an ISO 4217 currency code. Never floats."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import AfterValidator, Field

DEFAULT_CURRENCY = "BRL"

# Currencies a tenant may bill in, with their minor-unit exponent (ISO 4217).
MINOR_UNIT_EXPONENT: dict[str, int] = {
    "BRL": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "ARS": 2,
    "CLP": 0,
    "COP": 2,
    "MXN": 2,
    "PEN": 2,
    "PYG": 0,
    "UYU": 2,
    "CAD": 2,
    "CHF": 2,
    "JPY": 0,
}

MAX_AMOUNT = 10**15  # far above any real charge; keeps every amount inside a signed 64-bit column


def _known_currency(code: str) -> str:
    code = code.upper()
    if code not in MINOR_UNIT_EXPONENT:
        raise ValueError(f"unsupported currency {code!r}; use one of {sorted(MINOR_UNIT_EXPONENT)}")
    return code


def _any_case(code: str) -> str:
    return "".join(f"[{letter}{letter.lower()}]" for letter in code)


# _known_currency's rule for the OpenAPI document: a supported code, in any case.
CURRENCY_PATTERN = "^(" + "|".join(_any_case(code) for code in sorted(MINOR_UNIT_EXPONENT)) + ")$"

Currency = Annotated[
    str,
    Field(
        min_length=3,
        max_length=3,
        description=f"ISO 4217 code, one of {', '.join(sorted(MINOR_UNIT_EXPONENT))}",
        examples=["BRL"],
        json_schema_extra={"pattern": CURRENCY_PATTERN},
    ),
    AfterValidator(_known_currency),
]

Amount = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        le=MAX_AMOUNT,
        description="Integer minor units (centavos for BRL).",
        examples=[9990],
    ),
]


def round_minor(value: Fraction | Decimal) -> int:
    """Round an exact amount of minor units to an int, half to even: the one rounding rule.

    Decimals are converted to Fractions first, so nothing is lost before the single rounding.
    """
    if isinstance(value, float):  # a float has already lost exactness; refuse it loudly
        raise TypeError("round_minor takes a Fraction or a Decimal, never a float")
    return round(Fraction(value))  # round(Fraction) rounds half to even
