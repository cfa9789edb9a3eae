"""Field checks of the Asaas v3 stand-in (tests/integration/asaas_standin.py).

Each check reads one field of a JSON body the way Asaas's reference defines it (docs/payments.md,
"Asaas API v3: the contract assina relies on", gives the source of each) and, when the field is
wrong, adds one item to the `{"errors": [{"code", "description"}]}` answer Asaas gives with 400.
Asaas names its validation codes `invalid_<field>` (`invalid_value`, `invalid_customer`,
`invalid_creditCard` in its documentation and in every client of it read); the descriptions are
ours, in Portuguese as Asaas writes them.

Two codes are the stand-in's own, never Asaas's, so that a test failing on them says so:
`standin_unknown_field` (a field the documentation does not define: a typo such as `remoteIP`
would be ignored by a lenient server and lost) and `standin_unsupported_field` (a documented field
assina does not use, such as `split`: the stand-in does not model it).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from assina.core.documents import is_valid_cnpj, is_valid_cpf

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
STANDIN_UNKNOWN_FIELD = "standin_unknown_field"
STANDIN_UNSUPPORTED_FIELD = "standin_unsupported_field"


@dataclass
class FieldErrors:
    """The errors of one request, in the order found; empty means the request is valid."""

    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, code: str, description: str) -> None:
        self.items.append({"code": code, "description": description})

    def __bool__(self) -> bool:
        return bool(self.items)

    def body(self) -> dict[str, list[dict[str, str]]]:
        return {"errors": self.items}


def only_known_fields(
    body: Mapping[str, Any],
    errors: FieldErrors,
    *,
    known: Iterable[str],
    unsupported: Iterable[str] = (),
    where: str = "",
) -> None:
    """Every field of `body` is one the documentation defines and the stand-in models."""
    known_set, unsupported_set = set(known), set(unsupported)
    for name in body:
        if name in unsupported_set:
            errors.add(
                STANDIN_UNSUPPORTED_FIELD,
                f"{where}{name}: documentado pelo Asaas, mas o stand-in não o simula",
            )
        elif name not in known_set:
            errors.add(STANDIN_UNKNOWN_FIELD, f"{where}{name}: campo não documentado pelo Asaas")


def required_text(
    body: Mapping[str, Any], name: str, errors: FieldErrors, *, code: str | None = None
) -> str | None:
    """A required string: present, a JSON string and not blank."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.add(code or f"invalid_{name}", f"O campo {name} deve ser informado.")
        return None
    return value


def optional_text(
    body: Mapping[str, Any], name: str, errors: FieldErrors, *, max_length: int | None = None
) -> str | None:
    """An optional string (null allowed), at most `max_length` characters."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(f"invalid_{name}", f"O campo {name} deve ser um texto.")
        return None
    if max_length is not None and len(value) > max_length:
        errors.add(f"invalid_{name}", f"O campo {name} aceita no máximo {max_length} caracteres.")
        return None
    return value


def optional_bool(body: Mapping[str, Any], name: str, errors: FieldErrors) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        errors.add(f"invalid_{name}", f"O campo {name} deve ser true ou false.")
        return None
    return value


def optional_int(
    body: Mapping[str, Any], name: str, errors: FieldErrors, *, minimum: int = 0
) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        errors.add(f"invalid_{name}", f"O campo {name} deve ser um inteiro a partir de {minimum}.")
        return None
    return value


def money(body: Mapping[str, Any], name: str, errors: FieldErrors, *, required: bool) -> int | None:
    """A value in reais as a JSON number (129.9), returned in centavos. Zero, negative and more
    than two decimal places are refused: the last is stricter than Asaas documents (it would
    round), so that an adapter sending a float error such as 10.000000001 is caught."""
    value = body.get(name)
    if value is None:
        if required:
            errors.add(f"invalid_{name}", f"O campo {name} deve ser informado.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(f"invalid_{name}", f"O campo {name} deve ser um número.")
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors.add(f"invalid_{name}", f"O campo {name} deve ser um número.")
        return None
    centavos = amount * 100
    if amount <= 0 or centavos != centavos.to_integral_value():
        errors.add(
            f"invalid_{name}", f"O campo {name} deve ser positivo, com no máximo 2 casas decimais."
        )
        return None
    return int(centavos)


def calendar_date(
    body: Mapping[str, Any], name: str, errors: FieldErrors, *, required: bool
) -> date | None:
    """A date as `YYYY-MM-DD` (the reference's `format: date`)."""
    value = body.get(name)
    if value is None:
        if required:
            errors.add(f"invalid_{name}", f"O campo {name} deve ser informado.")
        return None
    parsed = parse_date(value)
    if parsed is None:
        errors.add(f"invalid_{name}", f"O campo {name} deve ser uma data no formato AAAA-MM-DD.")
    return parsed


def parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not DATE_FORMAT.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def one_of(
    body: Mapping[str, Any], name: str, allowed: Iterable[str], errors: FieldErrors
) -> str | None:
    """A required enum value."""
    value = body.get(name)
    choices = tuple(allowed)
    if value not in choices:
        errors.add(f"invalid_{name}", f"O campo {name} deve ser um de: {', '.join(choices)}.")
        return None
    assert isinstance(value, str)
    return value


def cpf_cnpj(
    body: Mapping[str, Any], name: str, errors: FieldErrors, *, code: str | None = None
) -> str | None:
    """A CPF (11 digits) or CNPJ (14 digits) whose check digits hold. The documentation's
    examples send digits only; punctuation is refused, which may be stricter than Asaas."""
    value = body.get(name)
    valid = isinstance(value, str) and (is_valid_cpf(value) or is_valid_cnpj(value))
    if not valid:
        errors.add(code or f"invalid_{name}", f"O CPF/CNPJ informado em {name} é inválido.")
        return None
    assert isinstance(value, str)
    return value


def email(
    body: Mapping[str, Any], name: str, errors: FieldErrors, *, required: bool, code: str
) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not EMAIL_SHAPE.fullmatch(value):
        errors.add(code, f"O e-mail informado em {name} é inválido.")
        return None
    return value


def remote_ip(body: Mapping[str, Any], errors: FieldErrors) -> str | None:
    """`remoteIp`: the buyer's IP (IPv4 or IPv6), required wherever card data is sent."""
    value = body.get("remoteIp")
    try:
        ipaddress.ip_address(value if isinstance(value, str) else "")
    except ValueError:
        errors.add("invalid_remoteIp", "O IP do comprador (remoteIp) deve ser informado.")
        return None
    assert isinstance(value, str)
    return value


def json_object(
    body: Mapping[str, Any], name: str, errors: FieldErrors
) -> Mapping[str, Any] | None:
    value = body.get(name)
    if not isinstance(value, dict):
        errors.add(f"invalid_{name}", f"O objeto {name} deve ser informado.")
        return None
    return value


# --- card data ----------------------------------------------------------------------------

CARD_FIELDS = ("holderName", "number", "expiryMonth", "expiryYear", "ccv")
HOLDER_REQUIRED = ("name", "email", "cpfCnpj", "postalCode", "addressNumber", "phone")
HOLDER_OPTIONAL = ("addressComplement", "mobilePhone")


@dataclass(frozen=True)
class CardData:
    """What a request said about a card; the number never leaves the stand-in's memory."""

    holder_name: str
    number: str
    expiry_month: int
    expiry_year: int


def credit_card(body: Mapping[str, Any], errors: FieldErrors) -> CardData | None:
    """`creditCard`: every field a string; expiry month two digits (`"05"`, as the
    reference's example), year four, ccv three or four digits, the number digits only. The
    number's check digit (Luhn) is checked by the caller, which answers as a refused card."""
    card = json_object(body, "creditCard", errors)
    if card is None:
        return None
    before = len(errors.items)
    only_known_fields(card, errors, known=CARD_FIELDS, where="creditCard.")
    values = {name: card.get(name) for name in CARD_FIELDS}
    shapes = {
        "number": r"\d{12,19}",
        "expiryMonth": r"0[1-9]|1[0-2]",
        "expiryYear": r"\d{4}",
        "ccv": r"\d{3,4}",
    }
    for name in CARD_FIELDS:
        value = values[name]
        shape = shapes.get(name, r".*\S.*")
        if not isinstance(value, str) or not re.fullmatch(shape, value):
            errors.add("invalid_creditCard", f"O campo creditCard.{name} é inválido.")
    if len(errors.items) > before:
        return None
    return CardData(
        holder_name=str(values["holderName"]),
        number=str(values["number"]),
        expiry_month=int(str(values["expiryMonth"])),
        expiry_year=int(str(values["expiryYear"])),
    )


def card_holder_info(body: Mapping[str, Any], errors: FieldErrors) -> bool:
    """`creditCardHolderInfo`: the six required fields (the reference's schema) and the two
    optional ones; the CPF/CNPJ and e-mail must be valid."""
    holder = json_object(body, "creditCardHolderInfo", errors)
    if holder is None:
        return False
    before = len(errors.items)
    code = "invalid_creditCardHolderInfo"
    only_known_fields(
        holder, errors, known=HOLDER_REQUIRED + HOLDER_OPTIONAL, where="creditCardHolderInfo."
    )
    for name in ("name", "postalCode", "addressNumber", "phone"):
        required_text(holder, name, errors, code=code)
    cpf_cnpj(holder, "cpfCnpj", errors, code=code)
    email(holder, "email", errors, required=True, code=code)
    for name in HOLDER_OPTIONAL:
        if holder.get(name) is not None and not isinstance(holder.get(name), str):
            errors.add(code, f"O campo creditCardHolderInfo.{name} deve ser um texto.")
    return len(errors.items) == before
