"""Card rules: normalisation, Luhn, brands by IIN range, expiry, and the sandbox's test cards.

The numbers are public test cards; each list names where it comes from.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.rules.cards import (
    DECLINE_MESSAGES,
    SANDBOX_CARDS,
    CardBrand,
    ChargeOutcome,
    DeclineCode,
    SandboxCard,
    attempt_days,
    card_attempt_due,
    card_brand,
    card_expired,
    card_number_digits,
    last4,
    luhn_valid,
    sandbox_card,
)

# Public test cards, by brand.
# Stripe's test cards (docs.stripe.com/testing, "Cards by brand").
STRIPE = {
    "4242424242424242": CardBrand.VISA,
    "4012888888881881": CardBrand.VISA,
    "4000056655665556": CardBrand.VISA,
    "5555555555554444": CardBrand.MASTERCARD,
    "2223003122003222": CardBrand.MASTERCARD,
    "5200828282828210": CardBrand.MASTERCARD,
    "5105105105105100": CardBrand.MASTERCARD,
    "378282246310005": CardBrand.AMEX,
    "371449635398431": CardBrand.AMEX,
    "6011111111111117": CardBrand.DISCOVER,
    "6011000990139424": CardBrand.DISCOVER,
    "6011981111111113": CardBrand.DISCOVER,
    "3056930009020004": CardBrand.DINERS,
    "36227206271667": CardBrand.DINERS,
}
# Other public lists of test cards, each number's source beside it (EBANX's list as republished
# in 2015 gists).
OTHERS = {
    "4111111111111111": CardBrand.VISA,  # Adyen, Rapyd, Omise
    "30569309025904": CardBrand.DINERS,  # Stripe's older list, EBANX
    "38520000023237": CardBrand.DINERS,  # Stripe's older list, EBANX
    "6362970000457013": CardBrand.ELO,  # EBANX
    "6062825624254001": CardBrand.HIPERCARD,  # EBANX
    "5067766783888311": CardBrand.ELO,  # Mercado Pago Brasil (debit)
    "6447032400000000001": CardBrand.DISCOVER,  # Omise (19 digits)
    "4222222222222": CardBrand.VISA,  # 13 digits: PayPal Payflow's test numbers
}
KNOWN_VALID = {**STRIPE, **OTHERS}


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("4111 1111 1111 1111", "4111111111111111"),
        ("4111-1111-1111-1111", "4111111111111111"),
        ("  3782 822463 10005 ", "378282246310005"),
        ("4111111111111111", "4111111111111111"),
        ("1" * 12, "1" * 12),
        ("1" * 19, "1" * 19),
    ],
)
def test_spaces_and_hyphens_are_stripped(raw: str, digits: str) -> None:
    assert card_number_digits(raw) == digits


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "1" * 11,
        "1" * 20,
        "4111 1111 1111 111x",
        "4111.1111.1111.1111",
        "4111\t1111\t1111\t1111",
        "\uff14\uff11" * 8,  # fullwidth digits are digits to Python, not to us
        "\u0664\u0661" * 8,  # so are Arabic-Indic ones
        "+4111111111111111",
    ],
)
def test_anything_else_is_refused_with_a_message(raw: str) -> None:
    with pytest.raises(ValueError, match="card number"):
        card_number_digits(raw)


# --- Luhn ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", sorted(KNOWN_VALID))
def test_public_test_cards_pass_luhn(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424241",  # Stripe's "incorrect number" card
        "4111111111111112",
        "5555555555554443",
        "378282246310006",
        "79927398710",  # the textbook example, last digit off (79927398713 is valid)
    ],
)
def test_a_changed_check_digit_fails_luhn(number: str) -> None:
    assert not luhn_valid(number)


def test_the_textbook_example() -> None:
    assert luhn_valid("79927398713")
    assert luhn_valid("0")
    assert not luhn_valid("1")


@given(
    number=st.sampled_from(sorted(KNOWN_VALID)),
    position=st.integers(0, 18),
    shift=st.integers(1, 9),
)
def test_every_single_digit_change_breaks_luhn(number: str, position: int, shift: int) -> None:
    position %= len(number)
    changed_digit = (int(number[position]) + shift) % 10
    changed = number[:position] + str(changed_digit) + number[position + 1 :]
    assert not luhn_valid(changed)


@pytest.mark.parametrize("number", ["", "4111 1111 1111 1111", "411111111111111a", "\u0664\u0662"])
def test_luhn_is_false_for_anything_but_ascii_digits(number: str) -> None:
    assert not luhn_valid(number)


# --- brands --------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "brand"), sorted(KNOWN_VALID.items()))
def test_the_brand_of_public_test_cards(number: str, brand: CardBrand) -> None:
    assert card_brand(number) == brand


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        # Elo inside Visa's "4": the listed prefixes are Elo, their neighbours Visa.
        ("4011780000000000", CardBrand.ELO),
        ("4011790000000000", CardBrand.ELO),
        ("4011770000000000", CardBrand.VISA),
        ("4011800000000000", CardBrand.VISA),
        ("4389350000000000", CardBrand.ELO),
        ("4576310000000000", CardBrand.ELO),
        ("4576330000000000", CardBrand.VISA),
        # Elo in the 50s, outside Mastercard's 51 to 55.
        ("5041750000000000", CardBrand.ELO),
        ("5066990000000000", CardBrand.ELO),
        ("5067780000000000", CardBrand.ELO),
        ("5067790000000000", CardBrand.UNKNOWN),
        ("5099990000000000", CardBrand.ELO),
        # Elo inside Discover's "65", with Discover's gaps between the ranges.
        ("6500310000000000", CardBrand.ELO),
        ("6500330000000000", CardBrand.ELO),
        ("6500340000000000", CardBrand.DISCOVER),
        ("6500350000000000", CardBrand.ELO),
        ("6550580000000000", CardBrand.ELO),
        ("6550200000000000", CardBrand.DISCOVER),
        ("6516520000000000", CardBrand.ELO),
        ("6363680000000000", CardBrand.ELO),
        # Hipercard, and its older 19-digit numbers inside Diners' "38".
        ("6062820000000000", CardBrand.HIPERCARD),
        ("3841000000000000000", CardBrand.HIPERCARD),
        ("3841400000000000000", CardBrand.HIPERCARD),
        ("3841600000000000000", CardBrand.HIPERCARD),
        ("3841200000000000000", CardBrand.DINERS),
        ("6062830000000000", CardBrand.UNKNOWN),
        # Mastercard's edges, 2-series included.
        ("2221000000000000", CardBrand.MASTERCARD),
        ("2720990000000000", CardBrand.MASTERCARD),
        ("2220990000000000", CardBrand.UNKNOWN),
        ("2721000000000000", CardBrand.UNKNOWN),
        ("5100000000000000", CardBrand.MASTERCARD),
        ("5599990000000000", CardBrand.MASTERCARD),
        ("5600000000000000", CardBrand.UNKNOWN),
        # Diners, Discover and Amex edges.
        ("30000000000000", CardBrand.DINERS),
        ("30500000000000", CardBrand.DINERS),
        ("30600000000000", CardBrand.UNKNOWN),
        ("39000000000000", CardBrand.DINERS),
        ("6440000000000000", CardBrand.DISCOVER),
        ("6430000000000000", CardBrand.UNKNOWN),
        ("340000000000000", CardBrand.AMEX),
        ("350000000000000", CardBrand.UNKNOWN),  # JCB: not a brand assina names
        ("6200000000000000", CardBrand.UNKNOWN),  # UnionPay
    ],
)
def test_brand_ranges_and_their_edges(number: str, brand: CardBrand) -> None:
    assert card_brand(number) == brand


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("", CardBrand.UNKNOWN),
        ("abc", CardBrand.UNKNOWN),
        ("4111 1111 1111 1111", CardBrand.UNKNOWN),  # digits only: normalise first
        ("4", CardBrand.VISA),  # a prefix tells what it can
        ("40117", CardBrand.VISA),
        ("401178", CardBrand.ELO),
    ],
)
def test_short_or_non_digit_input(number: str, brand: CardBrand) -> None:
    assert card_brand(number) == brand


# --- expiry --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "year", "today", "expired"),
    [
        (4, 2027, date(2027, 4, 30), False),  # the last day of its month: still valid
        (4, 2027, date(2027, 5, 1), True),  # the first day of the next month: expired
        (4, 2027, date(2027, 4, 1), False),
        (2, 2028, date(2028, 2, 29), False),  # a leap year's last day of February
        (2, 2028, date(2028, 3, 1), True),
        (12, 2027, date(2027, 12, 31), False),  # December runs to the end of the year
        (12, 2027, date(2028, 1, 1), True),
        (1, 2028, date(2027, 12, 31), False),
        (6, 2030, date(2026, 12, 6), False),
        (11, 2026, date(2026, 12, 6), True),
        (12, 2025, date(2026, 1, 15), True),
    ],
)
def test_a_card_is_valid_through_the_last_day_of_its_month(
    month: int, year: int, today: date, expired: bool
) -> None:
    assert card_expired(month, year, today) is expired


@pytest.mark.parametrize(
    ("month", "year", "message"),
    [
        (4, 27, "4 digits"),
        (4, 999, "4 digits"),
        (4, 10000, "4 digits"),
        (0, 2027, "month"),
        (13, 2027, "month"),
        (-1, 2027, "month"),
    ],
)
def test_bad_expiry_is_refused(month: int, year: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        card_expired(month, year, date(2026, 12, 6))


# --- last 4 --------------------------------------------------------------------------------


def test_last4() -> None:
    assert last4("4111111111111111") == "1111"
    assert last4("3782 822463 10005") == "0005"
    assert last4("6011-0009-9013-9424") == "9424"
    with pytest.raises(ValueError):
        last4("1234")


# --- the sandbox's test cards --------------------------------------------------------------

# product.md §7, as a table: number -> (tokenizes, charge outcome, decline code).
SANDBOX_TABLE = {
    "4111111111111111": (True, "approved", None),
    "4000000000000002": (False, "declined", "generic_decline"),
    "4000000000009995": (False, "declined", "insufficient_funds"),
    "4000000000000069": (False, "declined", "expired_card"),
    "4000000000000341": (True, "declined", "generic_decline"),
    "4000000000000259": (True, "processing", None),
}


def test_the_sandbox_table_is_exactly_product_md() -> None:
    assert set(SANDBOX_CARDS) == set(SANDBOX_TABLE)


@pytest.mark.parametrize(("number", "expected"), sorted(SANDBOX_TABLE.items()))
def test_each_sandbox_card(number: str, expected: tuple[bool, str, str | None]) -> None:
    card = sandbox_card(number)
    assert (card.tokenizes, card.charge.value, card.decline_code) == expected
    assert luhn_valid(number)
    assert card_brand(number) == CardBrand.VISA


def test_sandbox_numbers_may_be_typed_with_spaces() -> None:
    assert sandbox_card("4000 0000 0000 9995").decline_code == "insufficient_funds"


@pytest.mark.parametrize(
    "number", ["4242424242424242", "5555555555554444", "6362970000457013", "6062825624254001"]
)
def test_any_other_luhn_valid_number_is_approved(number: str) -> None:
    card = sandbox_card(number)
    assert card.tokenizes
    assert card.charge is ChargeOutcome.APPROVED
    assert card.decline_code is None


@pytest.mark.parametrize("number", ["4242424242424241", "4000000000000003", "12", "x" * 16])
def test_the_sandbox_refuses_invalid_numbers(number: str) -> None:
    with pytest.raises(ValueError):
        sandbox_card(number)


def test_the_sandbox_table_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        SANDBOX_CARDS["4242424242424242"] = SANDBOX_CARDS["4111111111111111"]  # type: ignore[index]


def test_every_decline_code_has_a_portuguese_message() -> None:
    assert set(DECLINE_MESSAGES) == set(DeclineCode)
    assert DECLINE_MESSAGES[DeclineCode.GENERIC_DECLINE].startswith("Cartão recusado pelo emissor")
    for message in DECLINE_MESSAGES.values():
        assert message.startswith("Cartão recusado")
        assert message.endswith(".")


def test_a_behaviour_is_consistent() -> None:
    with pytest.raises(ValueError):
        SandboxCard(tokenizes=True, charge=ChargeOutcome.DECLINED)
    with pytest.raises(ValueError):
        SandboxCard(
            tokenizes=True,
            charge=ChargeOutcome.APPROVED,
            decline_code=DeclineCode.GENERIC_DECLINE,
        )
    with pytest.raises(ValueError):
        SandboxCard(tokenizes=False, charge=ChargeOutcome.PROCESSING)


# --- when a card charge is tried --------------------------------------------------------------


@given(
    due=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    retry=st.lists(st.integers(1, 30), max_size=6, unique=True).map(sorted),
    offset=st.integers(-10, 60),
    made=st.integers(0, 8),
)
def test_an_attempt_is_due_while_fewer_were_made_than_the_days_so_far(
    due: date, retry: list[int], offset: int, made: int
) -> None:
    today = due + timedelta(days=offset)
    days_so_far = sum(1 for day in [0, *retry] if day <= offset)
    assert card_attempt_due(due, today, retry, made) == (made < days_so_far)


def test_the_default_retry_days_try_on_the_due_date_and_1_3_5_days_after() -> None:
    due = date(2026, 3, 10)
    tried: list[date] = []
    for offset in range(0, 10):
        today = due + timedelta(days=offset)
        if card_attempt_due(due, today, [1, 3, 5], len(tried)):
            tried.append(today)
    assert tried == [date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 13), date(2026, 3, 15)]
    assert attempt_days(due, [1, 3, 5])[-1] == date(2026, 3, 15)
    assert not card_attempt_due(due, due - timedelta(days=1), [1, 3, 5], 0)
