"""Boleto numbers: the published FEBRABAN / Banco do Brasil vectors, the due-date factor and its
wrap, round trips through the linha digitável, and what its check digits catch (and miss)."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from assina.rules.boleto import (
    FREE_FIELD_BUILDERS,
    banco_do_brasil_free_field,
    barcode,
    barcode_from_line,
    check_barcode,
    digitable_line,
    due_date_factor,
    due_date_from_factor,
    free_field,
    mod10_digit,
    mod11_general_digit,
    printed_our_number,
)

# ../shared/data/test-vectors.md, "Boleto" (checked there against brcobranca's published specs):
# (free-field inputs, due date, amount, barcode, linha digitável)
VECTORS = [
    (
        {"agreement": "12387989", "our_number": "777700168", "wallet": "18"},
        date(2008, 2, 1),
        135_00,
        "00193376900000135000000001238798977770016818",
        "00190.00009 01238.798977 77700.168188 3 37690000013500",
    ),
    (
        {"agreement": "1238798", "our_number": "7777700168", "wallet": "18"},
        date(2008, 2, 3),
        723_56,
        "00195377100000723560000001238798777770016818",
        "00190.00009 01238.798779 77700.168188 5 37710000072356",
    ),
    (
        {
            "agreement": "123879",
            "our_number": "1234",
            "agency": "4042",
            "account": "61900",
            "wallet": "18",
        },
        date(2008, 2, 1),
        135_00,
        "00192376900000135001238790123440420006190018",
        "00191.23876 90123.440423 00061.900189 2 37690000013500",
    ),
]
LINE_FIELD_OF_POSITION = [1] * 10 + [2] * 11 + [3] * 11 + [4] + [5] * 14  # bare 47 digits
FIELD_5 = range(33, 47)  # due-date factor and amount: no mod-10 digit of their own
BLIND_REMAINDERS = {0, 1, 10}  # 11 - r is 11, 10 or 1: all three written as general digit 1

digit_strings = st.text("0123456789", min_size=1, max_size=60)
bank_codes = st.text("0123456789", min_size=3, max_size=3)
amounts = st.integers(0, 9_999_999_999)
due_dates = st.dates(date(2000, 7, 3), date(2100, 12, 31))
free_fields = st.text("0123456789", min_size=25, max_size=25)


def weighted_remainder(digits43: str) -> int:
    """The mod-11 remainder, written out again here (weights 2..9 from the right)."""
    weights = [2, 3, 4, 5, 6, 7, 8, 9] * 6
    return sum(int(d) * w for d, w in zip(reversed(digits43), weights, strict=False)) % 11


def without_general_digit(code: str) -> str:
    return code[:4] + code[5:]


# --- the published vectors ----------------------------------------------------------------


@pytest.mark.parametrize(("inputs", "due", "amount", "code", "line"), VECTORS)
def test_the_published_vectors_are_reproduced_exactly(
    inputs: dict[str, str], due: date, amount: int, code: str, line: str
) -> None:
    field = banco_do_brasil_free_field(**inputs)
    assert field == code[19:]
    assert free_field("001", **inputs) == field
    assert barcode(bank_code="001", amount=amount, due=due, free_field=field) == code
    assert digitable_line(code) == line
    assert digitable_line(code, formatted=False) == line.replace(".", "").replace(" ", "")
    assert barcode_from_line(line) == code
    assert barcode_from_line(line.replace(".", "").replace(" ", "")) == code
    check_barcode(code)


@pytest.mark.parametrize(("code", "line"), [(v[3], v[4]) for v in VECTORS])
def test_the_vectors_check_digits_one_by_one(code: str, line: str) -> None:
    fields = line.replace(".", "").split(" ")
    for field in fields[:3]:
        assert mod10_digit(field[:-1]) == int(field[-1])
    assert mod11_general_digit(without_general_digit(code)) == int(code[4])


def test_mod10_weights_from_the_right_and_products_above_nine_lose_nine() -> None:
    assert mod10_digit("0") == 0
    assert mod10_digit("1") == 8  # 1x2 = 2 -> 10 - 2
    assert mod10_digit("5") == 9  # 5x2 = 10 -> 1 -> 10 - 1
    assert mod10_digit("9") == 1  # 9x2 = 18 -> 9 -> 10 - 9
    assert mod10_digit("91") == 9  # 1x2 + 9x1 = 11 -> 10 - 1
    assert mod10_digit("55") == 4  # (5x2 = 10 -> 1) + 5x1 = 6 -> 10 - 6


def test_mod11_weights_2_to_9_from_the_right_and_its_three_ones() -> None:
    assert mod11_general_digit("0" * 42 + "1") == 9  # 1x2 = 2 -> 11 - 2
    assert mod11_general_digit("0" * 41 + "50") == 7  # 5x3 = 15, remainder 4 -> 11 - 4
    assert mod11_general_digit("0" * 35 + "1" + "0" * 7) == 2  # weight 9: 11 - 9
    assert mod11_general_digit("0" * 34 + "1" + "0" * 8) == 9  # weights start again at 2
    assert mod11_general_digit("0" * 43) == 1  # remainder 0: 11 becomes 1
    assert mod11_general_digit("0" * 42 + "6") == 1  # 6x2 = 12, remainder 1: 10 becomes 1
    assert mod11_general_digit("0" * 42 + "5") == 1  # 5x2 = 10, remainder 10: 11 - 10 = 1


# --- the due-date factor and its wrap -----------------------------------------------------


@pytest.mark.parametrize(
    ("due", "factor"),
    [
        (date(2000, 7, 3), 1000),
        (date(2008, 2, 1), 3769),  # the first vector
        (date(2025, 2, 21), 9999),
        (date(2025, 2, 22), 1000),  # the wrap
        (date(2025, 2, 23), 1001),
        (date(2049, 10, 13), 9999),  # 2025-02-22 + 8999 days
        (date(2049, 10, 14), 1000),  # the next wrap, 9000 days later
    ],
)
def test_the_factor_counts_days_and_wraps_every_9000(due: date, factor: int) -> None:
    assert due_date_factor(due) == factor


def test_before_2000_07_03_there_is_no_factor() -> None:
    with pytest.raises(ValueError, match="2000-07-03"):
        due_date_factor(date(2000, 7, 2))


@pytest.mark.parametrize(
    ("factor", "near", "due"),
    [
        (1001, date(2025, 3, 1), date(2025, 2, 23)),
        (1001, date(2000, 7, 10), date(2000, 7, 4)),
        (9999, date(2025, 3, 1), date(2025, 2, 21)),  # just before the wrap, not in 2049
        (1000, date(2025, 2, 20), date(2025, 2, 22)),  # just after it, not in 2000
        (9990, date(2025, 2, 25), date(2025, 2, 12)),
        (1010, date(2025, 2, 12), date(2025, 3, 4)),
        (3769, date(1990, 1, 1), date(2008, 2, 1)),  # a `near` before 2000 is fine
        (1000, date(2012, 10, 28), date(2025, 2, 22)),  # 4500 days either way: the later
        (1000, date(2012, 10, 27), date(2000, 7, 3)),
    ],
)
def test_a_factor_means_the_date_closest_to_near(factor: int, near: date, due: date) -> None:
    assert due_date_from_factor(factor, near) == due


def test_round_trips_around_the_2025_wrap() -> None:
    for offset in range(-60, 61):
        due = date(2025, 2, 22) + timedelta(days=offset)
        factor = due_date_factor(due)
        for near in (due, due - timedelta(days=4499), due + timedelta(days=4499)):
            assert due_date_from_factor(factor, near) == due, (due, near)


@given(due=due_dates, distance=st.integers(-4499, 4499))
def test_any_due_date_comes_back_from_its_factor_near_it(due: date, distance: int) -> None:
    assert due_date_from_factor(due_date_factor(due), due + timedelta(days=distance)) == due


@pytest.mark.parametrize("factor", [0, 999, 10000, -1])
def test_factors_outside_1000_to_9999_are_refused(factor: int) -> None:
    with pytest.raises(ValueError, match="factor"):
        due_date_from_factor(factor, date(2026, 1, 1))


def test_a_factor_past_the_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        due_date_from_factor(9999, date(9999, 12, 31))


# --- round trips and what the check digits catch ------------------------------------------


@given(bank=bank_codes, amount=amounts, due=due_dates, field=free_fields)
def test_any_barcode_comes_back_from_its_line(
    bank: str, amount: int, due: date, field: str
) -> None:
    code = barcode(bank_code=bank, amount=amount, due=due, free_field=field)
    assert len(code) == 44
    assert code[:4] == bank + "9"
    assert code[5:9] == f"{due_date_factor(due):04d}"
    assert code[9:19] == f"{amount:010d}"
    assert code[19:] == field
    assert int(code[4]) not in (0, 10)
    line = digitable_line(code)
    assert [len(part) for part in line.split(" ")] == [11, 12, 12, 1, 14]
    assert barcode_from_line(line) == code
    assert barcode_from_line(digitable_line(code, formatted=False)) == code


def expect_refused_or_blind_spot(code: str, line: str, position: int, digit: str) -> None:
    """A line with one digit changed is refused, naming the field whose check failed, unless
    the change is in field 5, the general digit is 1 and the changed barcode's remainder is
    again 0, 1 or 10 (the one blind spot: docs/payments.md)."""
    changed = line[:position] + digit + line[position + 1 :]
    changed_code = code[:5] + changed[33:47] + code[19:]
    blind = (
        position in FIELD_5
        and code[4] == "1"
        and weighted_remainder(without_general_digit(changed_code)) in BLIND_REMAINDERS
    )
    if blind:
        assert barcode_from_line(changed) == changed_code
        return
    field = LINE_FIELD_OF_POSITION[position]
    named = f"field {field} " if field <= 3 else "general check digit"
    with pytest.raises(ValueError, match=named):
        barcode_from_line(changed)


@given(
    bank=bank_codes,
    amount=amounts,
    due=due_dates,
    field=free_fields,
    position=st.integers(0, 46),
    shift=st.integers(1, 9),
)
def test_one_changed_digit_is_refused_but_for_the_blind_spot(
    bank: str, amount: int, due: date, field: str, position: int, shift: int
) -> None:
    code = barcode(bank_code=bank, amount=amount, due=due, free_field=field)
    line = digitable_line(code, formatted=False)
    digit = str((int(line[position]) + shift) % 10)
    expect_refused_or_blind_spot(code, line, position, digit)


@pytest.mark.parametrize(("code", "line"), [(v[3], v[4]) for v in VECTORS])
def test_every_single_change_of_the_vectors_is_refused(code: str, line: str) -> None:
    bare = line.replace(".", "").replace(" ", "")
    for position in range(47):
        for digit in "0123456789":
            if digit != bare[position]:
                expect_refused_or_blind_spot(code, bare, position, digit)


@given(
    bank=bank_codes,
    amount=amounts,
    due=due_dates,
    field=free_fields,
    position=st.sampled_from(FIELD_5),
    shift=st.integers(1, 9),
)
def test_in_field_5_of_a_line_with_general_digit_1_a_change_slips_through_exactly_when(
    bank: str, amount: int, due: date, field: str, position: int, shift: int
) -> None:
    code = barcode(bank_code=bank, amount=amount, due=due, free_field=field)
    assume(code[4] == "1")  # 3 remainders in 11 give 1
    line = digitable_line(code, formatted=False)
    digit = str((int(line[position]) + shift) % 10)
    expect_refused_or_blind_spot(code, line, position, digit)


def test_every_single_change_of_a_line_with_general_digit_1() -> None:
    code = barcode_from_line("00190.00009 01238.798977 77700.168188 1 37690000013501")
    line = digitable_line(code, formatted=False)
    slipped = []
    for position in range(47):
        for digit in "0123456789":
            if digit != line[position]:
                expect_refused_or_blind_spot(code, line, position, digit)
                changed = line[:position] + digit + line[position + 1 :]
                with suppress(ValueError):
                    slipped.append(barcode_from_line(changed))
    # only field 5 changes, 2 of every 9 or so: 14 positions x 9 digits = 126 tries
    assert 10 < len(slipped) < 60
    assert all(other[:5] + other[19:] == code[:5] + code[19:] for other in slipped)


@given(digits=digit_strings, position=st.integers(0, 59), shift=st.integers(1, 9))
def test_mod10_catches_every_single_substitution(digits: str, position: int, shift: int) -> None:
    # Weight 1 shifts the sum by the change itself, weight 2 by a permutation of 0..9 (0 2 4
    # 6 8 1 3 5 7 9): never by a multiple of 10. So fields 1-3 catch any one wrong digit.
    position %= len(digits)
    digit = str((int(digits[position]) + shift) % 10)
    changed = digits[:position] + digit + digits[position + 1 :]
    assert mod10_digit(changed) != mod10_digit(digits)


def test_the_blind_spot_a_mistyped_amount_that_checks() -> None:
    # The first vector's boleto for R$ 135,01, 135,05 and 135,08. The last amount digit weighs
    # 3, so 1 -> 5 adds 4x3 = 12 = 1 (mod 11) to the sum and 1 -> 8 adds 7x3 = 21 = 10: the
    # remainders are 0, 1 and 10, all written as general digit 1. Each line checks, so typing
    # one's last digit as another's is not caught, and the payer pays the wrong amount.
    lines = [
        "00190.00009 01238.798977 77700.168188 1 37690000013501",
        "00190.00009 01238.798977 77700.168188 1 37690000013505",
        "00190.00009 01238.798977 77700.168188 1 37690000013508",
    ]
    codes = [barcode_from_line(line) for line in lines]
    assert [weighted_remainder(without_general_digit(c)) for c in codes] == [0, 1, 10]
    assert [int(c[9:19]) for c in codes] == [135_01, 135_05, 135_08]
    assert {c[4] for c in codes} == {"1"}
    # any other last digit moves the remainder out of {0, 1, 10}: caught
    for digit in "0234679":
        with pytest.raises(ValueError, match="general check digit"):
            barcode_from_line(lines[0][:-1] + digit)


# --- Banco do Brasil's free fields --------------------------------------------------------


def test_bb_pads_short_numbers_with_zeros() -> None:
    assert (
        banco_do_brasil_free_field(agreement="12387989", our_number="42", wallet="8")
        == "000000" + "12387989" + "000000042" + "08"
    )
    assert (
        banco_do_brasil_free_field(agreement="1238798", our_number="42", wallet="17")
        == "000000" + "1238798" + "0000000042" + "17"
    )
    assert (
        banco_do_brasil_free_field(
            agreement="123879", our_number="7", agency="42", account="1", wallet="18"
        )
        == "123879" + "00007" + "0042" + "00000001" + "18"
    )


def test_bb_layouts_of_7_and_8_digits_ignore_agency_and_account() -> None:
    plain = banco_do_brasil_free_field(agreement="1238798", our_number="1", wallet="18")
    given_too = banco_do_brasil_free_field(
        agreement="1238798", our_number="1", wallet="18", agency="4042", account="61900"
    )
    assert plain == given_too


@pytest.mark.parametrize(
    "inputs",
    [
        {"agreement": "12387989", "our_number": "1234567890", "wallet": "18"},  # 9 at most
        {"agreement": "1238798", "our_number": "12345678901", "wallet": "18"},  # 10 at most
        {"agreement": "123879", "our_number": "123456", "agency": "1", "account": "1"},
        {"agreement": "123879", "our_number": "1", "agency": "12345", "account": "1"},
        {"agreement": "123879", "our_number": "1", "agency": "1", "account": "123456789"},
        {"agreement": "123879", "our_number": "1", "wallet": "18"},  # no agency, no account
        {"agreement": "123879", "our_number": "1", "wallet": "18", "agency": "4042"},
        {"agreement": "12345", "our_number": "1", "wallet": "18"},  # 4 and 5: not built
        {"agreement": "123456789", "our_number": "1", "wallet": "18"},
        {"agreement": "", "our_number": "1", "wallet": "18"},
        {"agreement": "1238798", "our_number": "", "wallet": "18"},
        {"agreement": "1238798", "our_number": "12a", "wallet": "18"},
        {"agreement": "1238798", "our_number": "-12", "wallet": "18"},
        {"agreement": "1238798", "our_number": "1", "wallet": "180"},
        {"agreement": "1238798", "our_number": "1", "wallet": ""},
        {"agreement": "12387 9", "our_number": "1", "wallet": "18"},
    ],
)
def test_bb_refuses_what_does_not_fit(inputs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        banco_do_brasil_free_field(**{"wallet": "18", **inputs})


def test_free_fields_are_looked_up_by_bank() -> None:
    assert set(FREE_FIELD_BUILDERS) == {"001"}
    with pytest.raises(ValueError, match="237"):
        free_field("237", agreement="1238798", our_number="1", wallet="09")


# --- bad input ----------------------------------------------------------------------------

GOOD = {"bank_code": "001", "amount": 100, "due": date(2026, 1, 10), "free_field": "0" * 25}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bank_code": "01"}, "bank code"),
        ({"bank_code": "0010"}, "bank code"),
        ({"bank_code": "0a1"}, "bank code"),
        (
            {"bank_code": "\u0660\u0660\u0661"},
            "bank code",
        ),  # Arabic-Indic digits: isdigit, not ASCII
        ({"free_field": "0" * 24}, "free field"),
        ({"free_field": "0" * 26}, "free field"),
        ({"free_field": "0" * 24 + "x"}, "free field"),
        ({"amount": -1}, "amount"),
        ({"amount": 10_000_000_000}, "amount"),
        ({"due": date(2000, 7, 2)}, "2000-07-03"),
    ],
)
def test_barcode_refuses_bad_input(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        barcode(**{**GOOD, **changes})  # type: ignore[arg-type]


def test_the_largest_amount_fits() -> None:
    code = barcode(**{**GOOD, "amount": 9_999_999_999})  # type: ignore[arg-type]
    assert code[9:19] == "9999999999"


@pytest.mark.parametrize(
    "code",
    [
        VECTORS[0][3][:-1],
        VECTORS[0][3] + "0",
        VECTORS[0][3][:4] + "4" + VECTORS[0][3][5:],  # general digit 3 changed
        VECTORS[0][3][:10] + "x" + VECTORS[0][3][11:],
        "",
    ],
)
def test_bad_barcodes_are_refused(code: str) -> None:
    with pytest.raises(ValueError):
        check_barcode(code)
    with pytest.raises(ValueError):
        digitable_line(code)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (VECTORS[0][4][:-1], "47 digits"),
        (VECTORS[0][4] + "0", "47 digits"),
        (VECTORS[0][4].replace(" ", "-"), "ASCII digits"),
        ("", "ASCII digits"),
        ("00190.00008 01238.798977 77700.168188 3 37690000013500", "field 1 "),
        ("00190.00009 01238.798978 77700.168188 3 37690000013500", "field 2 "),
        ("00190.00009 01238.798977 77700.168189 3 37690000013500", "field 3 "),
        ("00190.00009 01238.798977 77700.168188 4 37690000013500", "general check digit"),
        ("00190.00009 01238.798977 77700.168188 3 37690000013501", "general check digit"),
    ],
)
def test_bad_lines_are_refused_naming_the_check(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        barcode_from_line(line)


# --- the nosso número as printed ---------------------------------------------------------------


@pytest.mark.parametrize(("inputs", "_due", "_amount", "code", "_line"), VECTORS)
def test_the_printed_nosso_numero_is_the_one_the_free_field_carries(
    inputs: dict[str, str], _due: date, _amount: int, code: str, _line: str
) -> None:
    printed = printed_our_number(
        "001", agreement=inputs["agreement"], our_number=inputs["our_number"]
    )
    # 8 and 7 digits: 000000 + convênio + number + carteira; 6: convênio + number + …
    assert printed == (code[19:30] if len(inputs["agreement"]) == 6 else code[25:42])


def test_the_printed_nosso_numero_is_padded_and_refuses_what_the_layout_cannot_hold() -> None:
    assert printed_our_number("001", agreement="1234567", our_number="42") == "12345670000000042"
    assert printed_our_number("001", agreement="12345678", our_number="42") == "12345678000000042"
    assert printed_our_number("001", agreement="123456", our_number="42") == "12345600042"
    with pytest.raises(ValueError, match="at most 5 digits"):
        printed_our_number("001", agreement="123456", our_number="100000")
    with pytest.raises(ValueError, match="6, 7 or 8 digits"):
        printed_our_number("001", agreement="12345", our_number="1")
    with pytest.raises(ValueError, match="no boleto free-field layout"):
        printed_our_number("237", agreement="1234567", our_number="1")
