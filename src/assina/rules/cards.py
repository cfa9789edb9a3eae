"""Card numbers: normalisation, the Luhn check, the brand by IIN range, expiry, and the sandbox's
test cards.

A card number is never stored. These rules run while one request holds it (the sandbox's card
form, a check before the provider tokenizes it); what assina keeps is the provider's token, the
brand, the last 4 digits and the expiry (product.md §7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

MIN_DIGITS = 12
MAX_DIGITS = 19  # ISO/IEC 7812: a primary account number has at most 19 digits


class CardBrand(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    ELO = "elo"
    HIPERCARD = "hipercard"
    DINERS = "diners"
    DISCOVER = "discover"
    UNKNOWN = "unknown"


def card_number_digits(raw: str) -> str:
    """The number's digits, without the spaces and hyphens people type (ValueError otherwise)."""
    digits = raw.replace(" ", "").replace("-", "")
    if not digits:
        raise ValueError("the card number is empty")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("a card number holds only digits, spaces and hyphens")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise ValueError(
            f"a card number has {MIN_DIGITS} to {MAX_DIGITS} digits, not {len(digits)}"
        )
    return digits


def luhn_valid(number: str) -> bool:
    """Whether the digits pass the Luhn (mod 10) check; False for anything but ASCII digits."""
    if not (number.isascii() and number.isdigit()):
        return False
    total = 0
    # From the right, every second digit is doubled; a two-digit product adds its digits (minus 9).
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


# --- brands by IIN (the first digits) ---------------------------------------------------------
# Each range is (first, last) prefixes of one length, inclusive. Order matters: the first brand
# with a matching range wins, so Elo and Hipercard, whose ranges sit inside Visa's "4",
# Discover's "65" and Diners' "38", come first.
_IinRange = tuple[str, str]

# Elo: the list in braintree/credit-card-type (src/lib/card-types.ts, the card detection behind
# Braintree's hosted fields); renatovico/bin-cc (the Brazilian "bin-cc" table) lists the same
# ranges. Its older, broader prefixes (4011, 4576, 5067, 636369), gathered from user input by its
# own account, are left out.
_ELO: tuple[_IinRange, ...] = (
    ("401178", "401179"),
    ("431274", "431274"),
    ("438935", "438935"),
    ("451416", "451416"),
    ("457393", "457393"),
    ("457631", "457632"),
    ("504175", "504175"),
    ("506699", "506778"),
    ("509000", "509999"),
    ("627780", "627780"),
    ("636297", "636297"),
    ("636368", "636368"),
    ("650031", "650033"),
    ("650035", "650051"),
    ("650405", "650439"),
    ("650485", "650538"),
    ("650541", "650598"),
    ("650700", "650718"),
    ("650720", "650727"),
    ("650901", "650978"),
    ("651652", "651679"),
    ("655000", "655019"),
    ("655021", "655058"),
)
# Hipercard: 606282 (braintree/credit-card-type; Marjoel/credit-card-bins, from acquirers' data);
# the 19-digit 3841x0 numbers of older Hipercards (bin-cc's table: 384100, 384140, 384160).
_HIPERCARD: tuple[_IinRange, ...] = (
    ("606282", "606282"),
    ("384100", "384100"),
    ("384140", "384140"),
    ("384160", "384160"),
)
# The international brands: braintree/credit-card-type again. Mastercard's 2-series (2221 to 2720)
# has been issued since 2017.
_AMEX: tuple[_IinRange, ...] = (("34", "34"), ("37", "37"))
_DINERS: tuple[_IinRange, ...] = (("300", "305"), ("36", "36"), ("38", "39"))
_DISCOVER: tuple[_IinRange, ...] = (("6011", "6011"), ("644", "649"), ("65", "65"))
_MASTERCARD: tuple[_IinRange, ...] = (("51", "55"), ("2221", "2720"))
_VISA: tuple[_IinRange, ...] = (("4", "4"),)

_BRAND_RANGES: tuple[tuple[CardBrand, tuple[_IinRange, ...]], ...] = (
    (CardBrand.HIPERCARD, _HIPERCARD),
    (CardBrand.ELO, _ELO),
    (CardBrand.AMEX, _AMEX),
    (CardBrand.DINERS, _DINERS),
    (CardBrand.DISCOVER, _DISCOVER),
    (CardBrand.MASTERCARD, _MASTERCARD),
    (CardBrand.VISA, _VISA),
)


def card_brand(number: str) -> CardBrand:
    """The brand of a number of digits (as `card_number_digits` returns), by its first digits;
    UNKNOWN for any other brand (JCB, UnionPay, Hiper, …) or anything but digits."""
    if not (number.isascii() and number.isdigit()):
        return CardBrand.UNKNOWN
    for brand, ranges in _BRAND_RANGES:
        if any(_in_range(number, first, last) for first, last in ranges):
            return brand
    return CardBrand.UNKNOWN


def _in_range(number: str, first: str, last: str) -> bool:
    # Prefixes of equal length compare as strings exactly as they do as numbers.
    prefix = number[: len(first)]
    return len(prefix) == len(first) and first <= prefix <= last


# --- expiry -------------------------------------------------------------------------------------


def card_expired(exp_month: int, exp_year: int, today: date) -> bool:
    """Whether the card has expired by `today`: it is valid through the last day of its expiry
    month. The year has 4 digits (2031, not 31) and the month is 1 to 12 (ValueError)."""
    if not 1 <= exp_month <= 12:
        raise ValueError(f"the expiry month is 1 to 12, not {exp_month}")
    if not 1000 <= exp_year <= 9999:
        raise ValueError(f"the expiry year has 4 digits (2031, not 31), not {exp_year}")
    return (today.year, today.month) > (exp_year, exp_month)


def last4(number: str) -> str:
    """The last 4 digits, which is all of the number assina keeps."""
    return card_number_digits(number)[-4:]


# --- the sandbox's test cards (product.md §7) --------------------------------------------------


class DeclineCode(StrEnum):
    """Why a card was declined; the codes are Stripe's (its decline codes), so integrations that
    know them need no table of ours."""

    GENERIC_DECLINE = "generic_decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"


# What the tenant's customer reads (card.declined's `message`, the payment page).
DECLINE_MESSAGES: Mapping[DeclineCode, str] = MappingProxyType(
    {
        DeclineCode.GENERIC_DECLINE: (
            "Cartão recusado pelo emissor. Use outro cartão ou fale com o seu banco."
        ),
        DeclineCode.INSUFFICIENT_FUNDS: "Cartão recusado por saldo ou limite insuficiente.",
        DeclineCode.EXPIRED_CARD: "Cartão recusado: o cartão está vencido.",
    }
)


class ChargeOutcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    # The provider answers "processing" now and approves it later by a notification.
    PROCESSING = "processing"


@dataclass(frozen=True, slots=True)
class SandboxCard:
    """What the sandbox card gateway does with a number."""

    # Whether saving the card (tokenizing it) succeeds; when it does not, saving is refused
    # with `decline_code`, like Stripe's test cards that are declined when attached.
    tokenizes: bool
    # What every charge on it does (a saved card's, or a one-off payment with the number).
    charge: ChargeOutcome
    decline_code: DeclineCode | None = None

    def __post_init__(self) -> None:
        declined = self.charge is ChargeOutcome.DECLINED
        if declined != (self.decline_code is not None):
            raise ValueError("a declined card has a decline code, and only a declined one")
        if not self.tokenizes and not declined:
            raise ValueError("only a declined card fails to tokenize")


APPROVED_CARD = SandboxCard(tokenizes=True, charge=ChargeOutcome.APPROVED)

# Stripe's test numbers, with the behaviour Stripe gives them, except 4000000000000259: assina
# uses it for a charge that answers "processing" (Stripe's is a disputed charge).
SANDBOX_CARDS: Mapping[str, SandboxCard] = MappingProxyType(
    {
        "4111111111111111": APPROVED_CARD,
        "4000000000000002": SandboxCard(
            tokenizes=False,
            charge=ChargeOutcome.DECLINED,
            decline_code=DeclineCode.GENERIC_DECLINE,
        ),
        "4000000000009995": SandboxCard(
            tokenizes=False,
            charge=ChargeOutcome.DECLINED,
            decline_code=DeclineCode.INSUFFICIENT_FUNDS,
        ),
        "4000000000000069": SandboxCard(
            tokenizes=False,
            charge=ChargeOutcome.DECLINED,
            decline_code=DeclineCode.EXPIRED_CARD,
        ),
        # Stripe: attaching it to a customer succeeds, every charge then fails with
        # `card_declined` ("Your card was declined."), whose decline code without a more
        # specific reason is generic_decline.
        "4000000000000341": SandboxCard(
            tokenizes=True,
            charge=ChargeOutcome.DECLINED,
            decline_code=DeclineCode.GENERIC_DECLINE,
        ),
        "4000000000000259": SandboxCard(tokenizes=True, charge=ChargeOutcome.PROCESSING),
    }
)


def sandbox_card(number: str) -> SandboxCard:
    """What the sandbox does with a card number (spaces and hyphens allowed): the table's entry,
    or approval for any other Luhn-valid number. ValueError for a malformed or Luhn-invalid
    number, which the sandbox refuses like a real gateway."""
    digits = card_number_digits(number)
    if not luhn_valid(digits):
        raise ValueError("the card number is not valid (its check digit does not match)")
    return SANDBOX_CARDS.get(digits, APPROVED_CARD)


# --- when a card charge is tried (product.md §5, §7) -----------------------------------------


def attempt_days(due_date: date, retry_days: Sequence[int]) -> list[date]:
    """The days a card charge is tried: its due date, then each retry day after it."""
    return [due_date, *(due_date + timedelta(days=days) for days in retry_days)]


def card_attempt_due(
    due_date: date, today: date, retry_days: Sequence[int], attempts_made: int
) -> bool:
    """Whether a calendar pass on `today` tries the charge once more: fewer attempts were made
    than the days up to today call for. A pass that missed days tries once, not once per
    missed day; the days left keep their dates."""
    scheduled = [day for day in attempt_days(due_date, retry_days) if day <= today]
    return attempts_made < len(scheduled)
