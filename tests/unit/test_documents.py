"""CPF and CNPJ: the public vectors, and properties over generated documents.

The reference check-digit computation below is written from the public definition (mod 11,
weights 2..9 cycling from the right for CNPJ, 2..10/11 for CPF; remainder < 2 gives 0), not
copied from `assina.core.documents`, so that the two can disagree.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assina.core.documents import (
    DocumentKind,
    document_kind,
    is_valid_cnpj,
    is_valid_cpf,
    normalize_document,
    only_digits,
)

# From /work/shared/data/test-vectors.md.
VALID = [
    ("529.982.247-25", "52998224725"),
    ("111.444.777-35", "11144477735"),
    ("123.456.789-09", "12345678909"),
    ("11.222.333/0001-81", "11222333000181"),
    ("45.059.493/0001-73", "45059493000173"),
]
INVALID = ["123.456.789-00", "11.222.333/0001-80"]
REPEATED = ["111.111.111-11", "00.000.000/0000-00", "99999999999999"]


# --- an independent reference ------------------------------------------------------------


def _remainder(digits: str, weights: list[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11


def _digit(remainder: int) -> int:
    return 0 if remainder < 2 else 11 - remainder


def _weights(kind: str, count: int) -> list[int]:
    if kind == "cpf":
        return list(range(count + 1, 1, -1))
    # CNPJ: 2..9 cycling, from the rightmost digit.
    return [2 + (i % 8) for i in range(count)][::-1]


def reference_remainders(kind: str, document: str) -> tuple[int, int]:
    """The two mod-11 remainders that yield the check digits of a CPF or CNPJ."""
    body_length = 9 if kind == "cpf" else 12
    body = document[:body_length]
    first = _remainder(body, _weights(kind, body_length))
    second = _remainder(body + str(_digit(first)), _weights(kind, body_length + 1))
    return first, second


def reference_valid(kind: str, document: str) -> bool:
    length = 11 if kind == "cpf" else 14
    if len(document) != length or not document.isdigit() or len(set(document)) == 1:
        return False
    first, second = reference_remainders(kind, document)
    return document[-2:] == f"{_digit(first)}{_digit(second)}"


def complete(kind: str, body: str) -> str:
    first = _digit(_remainder(body, _weights(kind, len(body))))
    second = _digit(_remainder(body + str(first), _weights(kind, len(body) + 1)))
    return f"{body}{first}{second}"


def test_reference_agrees_with_the_public_vectors() -> None:
    for formatted, digits in VALID:
        kind = "cpf" if len(digits) == 11 else "cnpj"
        assert reference_valid(kind, digits), formatted
    for formatted in INVALID + REPEATED:
        digits = only_digits(formatted)
        kind = "cpf" if len(digits) == 11 else "cnpj"
        assert not reference_valid(kind, digits), formatted


# --- the public vectors ------------------------------------------------------------------


@pytest.mark.parametrize(("formatted", "digits"), VALID)
def test_valid_vectors_normalize_to_digits(formatted: str, digits: str) -> None:
    assert normalize_document(formatted) == digits
    assert normalize_document(digits) == digits


@pytest.mark.parametrize(("formatted", "digits"), VALID)
def test_valid_vectors_have_their_kind(formatted: str, digits: str) -> None:
    expected = DocumentKind.CPF if len(digits) == 11 else DocumentKind.CNPJ
    assert document_kind(normalize_document(formatted)) is expected
    checker = is_valid_cpf if expected is DocumentKind.CPF else is_valid_cnpj
    assert checker(digits)


@pytest.mark.parametrize("formatted", INVALID)
def test_invalid_vectors_are_refused(formatted: str) -> None:
    with pytest.raises(ValueError, match="check digits"):
        normalize_document(formatted)


@pytest.mark.parametrize("formatted", REPEATED)
def test_repeated_digits_are_refused_as_such(formatted: str) -> None:
    kind = "CPF" if len(only_digits(formatted)) == 11 else "CNPJ"
    with pytest.raises(ValueError, match=f"^invalid {kind}: all digits repeat$"):
        normalize_document(formatted)


@pytest.mark.parametrize("digit", "0123456789")
def test_repeated_digits_are_refused_although_they_compute(digit: str) -> None:
    cpf, cnpj = digit * 11, digit * 14
    # A CPF of one repeated digit always computes: only the repeated-digit rule refuses it.
    assert complete("cpf", cpf[:9]) == cpf
    assert not is_valid_cpf(cpf)
    if digit == "0":  # the one repeated-digit CNPJ whose check digits compute
        assert complete("cnpj", cnpj[:12]) == cnpj
    assert not is_valid_cnpj(cnpj)
    for document in (cpf, cnpj):
        with pytest.raises(ValueError, match="all digits repeat"):
            normalize_document(document)


@pytest.mark.parametrize(
    "document",
    [
        "",
        "5299822472",  # 10 digits
        "529982247250",  # 12 digits
        "1122233300018",  # 13 digits
        "112223330001810",  # 15 digits
        "529.982.247-2X",
        "529,982,247-25",  # commas are not document punctuation
        "529_982_247_25",
        "+52998224725",
        "٥٢٩٩٨٢٢٤٧٢٥",  # Arabic-Indic digits: isdigit() but not ASCII
        "".join(chr(0xFF10 + int(d)) for d in "52998224725"),  # full-width digits
        "5299822472²",  # superscript two: isdigit() but not a digit of a document
        "..........",
    ],
)
def test_malformed_documents_are_refused(document: str) -> None:
    with pytest.raises(ValueError):
        normalize_document(document)


def test_check_digit_functions_reject_non_digits() -> None:
    assert not is_valid_cpf("5299822472a")
    assert not is_valid_cpf("٥٢٩٩٨٢٢٤٧٢٥")
    assert not is_valid_cnpj("1122233300018a")
    assert not is_valid_cpf("11222333000181")  # a CNPJ is not a CPF
    assert not is_valid_cnpj("52998224725")  # nor the other way round


def test_a_single_digit_change_can_still_compute() -> None:
    """The mod-11 scheme maps remainders 0 and 1 to the same check digit, so some single-digit
    changes produce another valid number. Such a number is a different, valid document: the
    validation must accept it (it cannot know), and the tests below only demand refusal where
    the check digits can tell."""
    assert is_valid_cpf("17726664401")
    assert normalize_document("077.266.644-01") == "07726664401"
    assert is_valid_cnpj("68265084455800")
    assert is_valid_cnpj("68265084655800")


# --- properties --------------------------------------------------------------------------

digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=1)


def _documents(kind: str) -> st.SearchStrategy[str]:
    body_length = 9 if kind == "cpf" else 12
    return (
        st.text(alphabet="0123456789", min_size=body_length, max_size=body_length)
        .map(lambda body: complete(kind, body))
        .filter(lambda document: len(set(document)) > 1)
    )


cpfs = _documents("cpf")
cnpjs = _documents("cnpj")
any_document = st.one_of(cpfs.map(lambda d: ("cpf", d)), cnpjs.map(lambda d: ("cnpj", d)))
separators = st.text(alphabet=".-/ ", max_size=3)


def _canonical(kind: str, digits: str) -> str:
    if kind == "cpf":
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


@settings(max_examples=200)
@given(any_document)
def test_generated_documents_are_valid_and_come_back_as_digits(case: tuple[str, str]) -> None:
    kind, digits = case
    assert normalize_document(digits) == digits
    assert normalize_document(_canonical(kind, digits)) == digits
    assert document_kind(digits) == (DocumentKind.CPF if kind == "cpf" else DocumentKind.CNPJ)


@settings(max_examples=200)
@given(any_document, st.data())
def test_any_punctuation_is_stripped(case: tuple[str, str], data: st.DataObject) -> None:
    _kind, digits = case
    gaps = data.draw(st.lists(separators, min_size=len(digits) + 1, max_size=len(digits) + 1))
    punctuated = gaps[0] + "".join(d + gap for d, gap in zip(digits, gaps[1:], strict=True))
    result = normalize_document(punctuated)
    assert result == digits
    assert result.isascii() and result.isdigit()


@settings(max_examples=200)
@given(any_document, st.data())
def test_changing_a_check_digit_always_fails(case: tuple[str, str], data: st.DataObject) -> None:
    _kind, digits = case
    position = data.draw(st.sampled_from([len(digits) - 2, len(digits) - 1]))
    replacement = data.draw(digit_strings.filter(lambda d: d != digits[position]))
    changed = digits[:position] + replacement + digits[position + 1 :]
    with pytest.raises(ValueError):
        normalize_document(changed)


@settings(max_examples=200)
@given(any_document, st.data())
def test_a_single_digit_change_fails_unless_the_check_digits_cannot_tell(
    case: tuple[str, str], data: st.DataObject
) -> None:
    """Any single-digit change fails, except when the mod-11 remainders behind both check
    digits either did not move or moved between 0 and 1 (which give the same digit)."""
    kind, digits = case
    position = data.draw(st.integers(0, len(digits) - 1))
    replacement = data.draw(digit_strings.filter(lambda d: d != digits[position]))
    changed = digits[:position] + replacement + digits[position + 1 :]

    expected_valid = reference_valid(kind, changed)
    try:
        normalize_document(changed)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == expected_valid
    if accepted:
        assert position < len(digits) - 2, "a changed check digit can never compute"
        for before, after in zip(
            reference_remainders(kind, digits), reference_remainders(kind, changed), strict=True
        ):
            assert before == after or {before, after} == {0, 1}


@settings(max_examples=200)
@given(any_document)
def test_every_single_digit_change_is_checked_exhaustively(case: tuple[str, str]) -> None:
    """All 9 x length neighbours of a valid document: accepted exactly when the reference
    says they compute, and never more than the 0/1 remainder collision allows."""
    kind, digits = case
    checker = is_valid_cpf if kind == "cpf" else is_valid_cnpj
    accepted = 0
    for position, original in enumerate(digits):
        for replacement in "0123456789":
            if replacement == original:
                continue
            changed = digits[:position] + replacement + digits[position + 1 :]
            assert checker(changed) == reference_valid(kind, changed), changed
            accepted += checker(changed)
    # For each body position at most one replacement keeps both check digits.
    assert accepted <= len(digits) - 2
