"""A charge's boleto when assina numbers it itself (the tenant's boleto provider is the
sandbox): a nosso número from the tenant's sequence, then the linha digitável and the barcode
from `rules.boleto`; and the printable boleto of such a charge (`boleto_document`).

A charge has boleto numbers while its payment method is boleto, it is a positive amount of
reais the barcode's 10-digit amount field holds, and the tenant has a bank agreement to number
under (`payment_settings.service.boleto_terms`). Its nosso número, once taken, stays with it
for its whole life: a new amount or due date rebuilds the line and barcode with the same one,
and a charge switched away from boleto and back again gets its old number back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.service import billing_rules
from assina.charges.models import Charge, ChargeRow
from assina.contracts.models import PaymentMethod
from assina.core.clock import local_date
from assina.core.documents import format_document
from assina.core.errors import conflict
from assina.customers.models import Customer
from assina.payment_settings.schemas import BankAgreement
from assina.payment_settings.service import boleto_terms
from assina.rules.boleto import (
    BANK_NAMES,
    MAX_AMOUNT,
    barcode,
    digitable_line,
    free_field,
    printed_our_number,
)
from assina.rules.boleto_pdf import BoletoDocument, BoletoParty, late_fee_instruction
from assina.tenants.counters import Counter, next_value, reserve_values
from assina.tenants.models import Tenant

BOLETO_CURRENCY = "BRL"  # a boleto is in reais (the barcode's currency digit 9)


@dataclass(frozen=True)
class BoletoNumbers:
    line: str  # formatted: "00190.00009 01234.567004 00000.001172 2 13530000010000"
    barcode: str  # the 44 digits


def takes_boleto(payment_method: PaymentMethod | str, amount: int, currency: str) -> bool:
    """Whether a charge is one to number a boleto for (given a bank agreement)."""
    return (
        payment_method == PaymentMethod.BOLETO
        and currency == BOLETO_CURRENCY
        and 0 < amount <= MAX_AMOUNT
    )


def boleto_numbers(
    terms: BankAgreement, our_number: str, amount: int, due: date
) -> BoletoNumbers | None:
    """The line and barcode of nosso número `our_number` paying `amount` centavos on `due`;
    None when the bank's layout cannot hold them (a nosso número past its width, a due date
    before the first factor)."""
    try:
        free = free_field(
            terms.code,
            agreement=terms.agreement,
            our_number=our_number,
            wallet=terms.wallet,
            agency=terms.agency,
            account=terms.account,
        )
        code = barcode(bank_code=terms.code, amount=amount, due=due, free_field=free)
    except ValueError:
        return None
    return BoletoNumbers(digitable_line(code), code)


async def number_boletos(session: AsyncSession, tenant_id: str, rows: Sequence[ChargeRow]) -> None:
    """Give the new charges that take a boleto their nosso número and numbers, in place: one
    statement reserves the batch's numbers (the calendar issues thousands at once), in the
    rows' order, gap-free like charge numbers."""
    wanted = [
        row for row in rows if takes_boleto(row["payment_method"], row["amount"], row["currency"])
    ]
    if not wanted:
        return
    terms = await boleto_terms(session, tenant_id)
    if terms is None:
        return
    first = await reserve_values(session, tenant_id, Counter.BOLETO_NUMBER, len(wanted))
    for offset, row in enumerate(wanted):
        our_number = str(first + offset)
        numbers = boleto_numbers(terms, our_number, row["amount"], row["due_date"])
        row["boleto_our_number"] = our_number
        row["boleto_line"] = numbers.line if numbers else None
        row["boleto_barcode"] = numbers.barcode if numbers else None


async def renumber_boleto(session: AsyncSession, tenant_id: str, charge: Charge) -> None:
    """After a PATCH changed the amount, due date or payment method: the numbers for what the
    charge now is, with its nosso número (a new one from the sequence if it never had one);
    none while it does not take a boleto, its nosso número kept."""
    charge.boleto_line = charge.boleto_barcode = None
    if not takes_boleto(charge.payment_method, charge.amount, charge.currency):
        return
    terms = await boleto_terms(session, tenant_id)
    if terms is None:
        return
    if charge.boleto_our_number is None:
        number = await next_value(session, tenant_id, Counter.BOLETO_NUMBER)
        charge.boleto_our_number = str(number)
    numbers = boleto_numbers(terms, charge.boleto_our_number, charge.amount, charge.due_date)
    if numbers is not None:
        charge.boleto_line, charge.boleto_barcode = numbers.line, numbers.barcode


# --- the printable boleto ----------------------------------------------------------------------


async def boleto_document(session: AsyncSession, tenant_id: str, charge: Charge) -> BoletoDocument:
    """What the charge's printed boleto shows (GET /v1/charges/{id}/boleto.pdf): the tenant as
    beneficiary, the customer as payer, the tenant's late fees as instruction, and the PIX QR
    of the same charge when it has a PIX code. 409 `no-boleto` when it has no boleto numbers."""
    if charge.boleto_barcode is None or charge.boleto_line is None:
        raise conflict(
            f"Charge {charge.id!r} has no boleto: a boleto charge in reais has one when the "
            "tenant's boleto provider is the sandbox.",
            "no-boleto",
        )
    tenant = await session.get_one(Tenant, tenant_id)
    customer = await session.get_one(Customer, charge.customer_id)  # the tenant's, by issue
    rules = await billing_rules(session, tenant_id)
    terms = _issued_under(await boleto_terms(session, tenant_id), charge)
    late_fees = late_fee_instruction(rules.fine_percent, rules.monthly_interest_percent)
    bank_code = charge.boleto_barcode[:3]
    return BoletoDocument(
        bank_code=bank_code,
        bank_name=BANK_NAMES.get(bank_code, bank_code),
        digitable_line=charge.boleto_line,
        barcode=charge.boleto_barcode,
        beneficiary=BoletoParty(name=tenant.name, document=None),
        agency_code=_agency_code(terms),
        payer=BoletoParty(
            name=customer.name,
            document=format_document(customer.document),
            address=address_line(customer.address),
        ),
        our_number=_our_number_shown(terms, charge.boleto_our_number or ""),
        document_number=str(charge.number),
        issue_date=local_date(charge.created_at, tenant.time_zone),
        due_date=charge.due_date,
        amount=charge.amount,
        instructions=(late_fees,) if late_fees else (),
        pix_code=charge.pix_code,
    )


def _issued_under(terms: BankAgreement | None, charge: Charge) -> BankAgreement | None:
    """`terms` when the charge's barcode carries them (the tenant has not changed its bank
    agreement since): then the agreement's numbers are printed beside the barcode's."""
    if terms is None or charge.boleto_our_number is None or charge.boleto_barcode is None:
        return None
    numbers = boleto_numbers(terms, charge.boleto_our_number, charge.amount, charge.due_date)
    if numbers is None or numbers.barcode != charge.boleto_barcode:
        return None
    return terms


def _agency_code(terms: BankAgreement | None) -> str:
    """Agência / código do beneficiário: agência and conta when the agreement has them, else
    the convênio (the beneficiary's code at the bank)."""
    if terms is None:
        return ""
    if terms.agency and terms.account:
        return f"{terms.agency} / {terms.account}"
    return terms.agreement


def _our_number_shown(terms: BankAgreement | None, our_number: str) -> str:
    if terms is None:
        return our_number
    try:
        return printed_our_number(terms.code, agreement=terms.agreement, our_number=our_number)
    except ValueError:
        return our_number


def address_line(address: Mapping[str, Any] | None) -> str | None:
    """A stored customer address on one line, as a boleto prints it: "Rua A, 10, ap. 2 -
    Centro - São Paulo/SP - CEP 01001-000"; None without one."""
    if not address:
        return None
    street = ", ".join(
        str(address[key]) for key in ("street", "number", "complement") if address.get(key)
    )
    city = "/".join(str(address[key]) for key in ("city", "state") if address.get(key))
    postal_code = address.get("postal_code")
    if postal_code and address.get("country", "BR") == "BR" and len(str(postal_code)) == 8:
        postal_code = f"{str(postal_code)[:5]}-{str(postal_code)[5:]}"
    parts = [street, str(address.get("district") or ""), city]
    if postal_code:
        parts.append(f"CEP {postal_code}")
    line = " - ".join(part for part in parts if part)
    return line or None
