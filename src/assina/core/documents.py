"""Brazilian taxpayer documents: CPF (people) and CNPJ (companies), validated by check digits."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

_NON_DIGITS = re.compile(r"[.\-/\s]")


class DocumentKind(StrEnum):
    CPF = "cpf"
    CNPJ = "cnpj"


def only_digits(document: str) -> str:
    """Strip the usual punctuation (`.`, `-`, `/`, spaces); anything else is left for validation."""
    return _NON_DIGITS.sub("", document)


def _check_digit(digits: str, weights: list[int]) -> str:
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
    remainder = total % 11
    return "0" if remainder < 2 else str(11 - remainder)


def cpf_check_digits(first_nine: str) -> str:
    first = _check_digit(first_nine, list(range(10, 1, -1)))
    second = _check_digit(first_nine + first, list(range(11, 1, -1)))
    return first + second


def cnpj_check_digits(first_twelve: str) -> str:
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    first = _check_digit(first_twelve, weights)
    second = _check_digit(first_twelve + first, [6, *weights])
    return first + second


def is_valid_cpf(digits: str) -> bool:
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    if digits == digits[0] * 11:
        return False
    return cpf_check_digits(digits[:9]) == digits[9:]


def is_valid_cnpj(digits: str) -> bool:
    if len(digits) != 14 or not digits.isascii() or not digits.isdigit():
        return False
    if digits == digits[0] * 14:
        return False
    return cnpj_check_digits(digits[:12]) == digits[12:]


def normalize_document(document: str) -> str:
    """Return the CPF or CNPJ as digits only, or raise ValueError saying what is wrong."""
    digits = only_digits(document)
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("document must be a CPF (11 digits) or a CNPJ (14 digits)")
    kinds = {11: ("CPF", is_valid_cpf), 14: ("CNPJ", is_valid_cnpj)}
    if len(digits) not in kinds:
        raise ValueError("document must be a CPF (11 digits) or a CNPJ (14 digits)")
    kind, is_valid = kinds[len(digits)]
    # Such numbers (111.111.111-11) pass the check-digit computation but are never issued.
    if len(set(digits)) == 1:
        raise ValueError(f"invalid {kind}: all digits repeat")
    if not is_valid(digits):
        raise ValueError(f"invalid {kind}: check digits do not match")
    return digits


def document_kind(digits: str) -> DocumentKind:
    return DocumentKind.CPF if len(digits) == 11 else DocumentKind.CNPJ


def format_document(document: str | None) -> str | None:
    """A stored (digits-only) CPF or CNPJ with its usual punctuation."""
    if document is None:
        return None
    if len(document) == 11:
        return f"{document[:3]}.{document[3:6]}.{document[6:9]}-{document[9:]}"
    if len(document) == 14:
        return f"{document[:2]}.{document[2:5]}.{document[5:8]}/{document[8:12]}-{document[12:]}"
    return document


# A CPF or CNPJ in a request body: checked, and stored digits-only (customers, suppliers).
Document = Annotated[
    str,
    Field(
        min_length=11,
        max_length=18,
        description="CPF or CNPJ, with or without punctuation; stored digits-only.",
        examples=["529.982.247-25"],
    ),
    AfterValidator(normalize_document),
]
