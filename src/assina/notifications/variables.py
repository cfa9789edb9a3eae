"""The variables a template may use, per kind, and how they are built from real objects or
sample data. docs/emails.md lists the same (a test keeps the two in step).

Every kind has `company`, `customer` and `today`; the charge kinds add `charge`, the contract
kinds `contract`, and some kinds one number each (`days_until_due`, `days_overdue`,
`days_left`), which a caller may pass in `extra` and which is computed otherwise.
`trial_ending` adds `first_charge`: the charge already issued for the first paid period (the
caller passes it as `charge`), empty values when none was; `card_declined` adds `decline`
(the attempt, the card and the gateway's message: the caller passes it in `extra`). The
fiscal kind (`fiscal_invoice`) has `invoice`, the nota fiscal, and its charge's number and
description. Money and dates arrive already written for the tenant's locale.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from assina.charges.links import payment_url
from assina.charges.models import Charge, ChargeStatus
from assina.contracts.models import Contract, ContractStatus, PaymentMethod
from assina.core.clock import local_date
from assina.core.documents import format_document
from assina.customers.models import Customer
from assina.fiscal.danfse import consultation_url
from assina.fiscal.models import FiscalInvoice, FiscalInvoiceStatus
from assina.fiscal_settings.models import FiscalProvider
from assina.notifications.formatting import (
    format_date,
    format_money,
    format_recurrence,
)
from assina.notifications.models import EmailKind, Locale
from assina.rules.pix import pix_code

Variables = dict[str, Any]

COMMON_VARIABLES: tuple[tuple[str, str], ...] = (
    ("company.name", "The company's (tenant's) name"),
    ("customer.name", "The customer's name"),
    ("customer.email", "The customer's e-mail address"),
    ("customer.document", "CPF or CNPJ with punctuation (empty when none)"),
    ("customer.number", "The customer's number"),
    ("today", "Today's date in the tenant's time zone"),
)
CHARGE_VARIABLES: tuple[tuple[str, str], ...] = (
    ("charge.number", "The charge's number"),
    ("charge.amount", "Amount, e.g. R$ 1.234,56"),
    ("charge.currency", "ISO 4217 code, e.g. BRL"),
    ("charge.due_date", "Due date, e.g. 10/02/2026"),
    ("charge.description", "The lines' descriptions, separated by commas"),
    ("charge.lines", "List of {description, quantity, amount, total} (amounts written out)"),
    ("charge.payment_method", "boleto, pix or card"),
    ("charge.pix_code", "PIX copia e cola (empty when none)"),
    ("charge.boleto_line", "Boleto's linha digitável (empty when none)"),
    (
        "charge.payment_url",
        "The customer's payment page (PIX, boleto, card), empty once the charge is not open",
    ),
    ("charge.settled_amount", "Amount received (the amount until settled)"),
    ("charge.settled_at", "Settlement date (empty until settled)"),
    ("charge.fine_amount", "Fine charged on late settlement"),
    ("charge.interest_amount", "Interest charged on late settlement"),
)
CONTRACT_VARIABLES: tuple[tuple[str, str], ...] = (
    ("contract.number", "The contract's number"),
    ("contract.description", "The items' descriptions (product names), separated by commas"),
    ("contract.products", "List of the items' descriptions"),
    ("contract.amount", "Amount of each period, e.g. R$ 99,90"),
    ("contract.recurrence", "e.g. por mês, a cada 3 meses / per month"),
    ("contract.start_date", "Start date"),
    ("contract.trial_end", "The first paid day, when the trial is over (empty when none)"),
    ("contract.status", "trialing, active, suspended or cancelled"),
    ("contract.cancel_reason", "Why it was cancelled (empty when unknown)"),
)
FISCAL_VARIABLES: tuple[tuple[str, str], ...] = (
    ("invoice.nfse_number", "The nota fiscal's number, as the issuer (the municipality) gave it"),
    ("invoice.number", "assina's number of the invoice (per company, without gaps)"),
    ("invoice.verification_code", "The verification code (empty when the issuer gave none)"),
    ("invoice.access_key", "The access key, 50 digits (empty when the issuer gave none)"),
    ("invoice.amount", "Amount, e.g. R$ 1.234,56"),
    ("invoice.issued_at", "The issue date, e.g. 10/02/2026"),
    ("invoice.service_description", "What was provided, as the invoice says it"),
    (
        "invoice.consultation_url",
        "The national portal's public consultation of the access key (empty without one)",
    ),
    ("charge.number", "The invoiced charge's number"),
    ("charge.description", "The charge's lines' descriptions, separated by commas"),
)
# Per kind: numbers a caller may pass in `extra` (computed from today otherwise).
EXTRA_VARIABLES: dict[EmailKind, tuple[tuple[str, str], ...]] = {
    EmailKind.REMINDER: (("days_until_due", "Days from today to the due date"),),
    EmailKind.OVERDUE: (("days_overdue", "Days since the due date"),),
    EmailKind.TRIAL_ENDING: (("days_left", "Days from today to trial_end, the first paid day"),),
}
# Per kind: objects beyond the kind's own (always set; their values empty when there is none).
KIND_VARIABLES: dict[EmailKind, tuple[tuple[str, str], ...]] = {
    EmailKind.TRIAL_ENDING: (
        ("first_charge.number", "The first paid period's charge, if issued: its number"),
        ("first_charge.amount", "Its amount, e.g. R$ 99,90 (empty when not issued yet)"),
        ("first_charge.due_date", "Its due date, e.g. 10/02/2026 (empty when not issued yet)"),
    ),
    EmailKind.CARD_DECLINED: (
        ("decline.message", "Why the card was declined, as the gateway says it to the payer"),
        ("decline.attempt", "Which try of the charge it was: 1 on the first"),
        ("decline.card_brand", "The card's brand, e.g. visa"),
        ("decline.card_last4", "The card's last 4 digits"),
    ),
}
EMPTY_DECLINE: dict[str, Any] = {"message": "", "attempt": "", "card_brand": "", "card_last4": ""}
# Per kind: the object a caller passes whole in `extra`, and its values when it does not.
EXTRA_OBJECTS: dict[EmailKind, tuple[str, Mapping[str, Any]]] = {
    EmailKind.CARD_DECLINED: ("decline", EMPTY_DECLINE)
}
SAMPLE_DECLINE: dict[str, Any] = {
    "message": "Cartão recusado por saldo ou limite insuficiente.",
    "attempt": 2,
    "card_brand": "visa",
    "card_last4": "0341",
}
CHARGE_KINDS = frozenset(
    {
        EmailKind.CHARGE_CREATED,
        EmailKind.REMINDER,
        EmailKind.OVERDUE,
        EmailKind.RECEIPT,
        EmailKind.CARD_DECLINED,
    }
)
FISCAL_KINDS = frozenset({EmailKind.FISCAL_INVOICE})
KIND_DESCRIPTIONS: dict[EmailKind, str] = {
    EmailKind.CHARGE_CREATED: "A new charge was issued",
    EmailKind.REMINDER: "A charge falls due soon",
    EmailKind.OVERDUE: "A charge is past its due date",
    EmailKind.SUSPENSION: "A contract was suspended for non-payment",
    EmailKind.CANCELLATION: "A contract was cancelled",
    EmailKind.RECEIPT: "A charge was paid",
    EmailKind.TRIAL_ENDING: "A contract's trial ends soon",
    EmailKind.CARD_DECLINED: "A card payment of a charge was declined",
    EmailKind.FISCAL_INVOICE: "A nota fiscal (NFS-e) of a charge was issued",
}


def documented(kind: EmailKind) -> tuple[tuple[str, str], ...]:
    """(name, description) of every variable of the kind."""
    if kind in CHARGE_KINDS:
        own = CHARGE_VARIABLES
    elif kind in FISCAL_KINDS:
        own = FISCAL_VARIABLES
    else:
        own = CONTRACT_VARIABLES
    return COMMON_VARIABLES + own + KIND_VARIABLES.get(kind, ()) + EXTRA_VARIABLES.get(kind, ())


@functools.cache
def allowed_names(kind: EmailKind) -> dict[str, frozenset[str]]:
    """Top-level names → their attributes (empty for plain values): what validation allows.
    Cached (a pass builds the variables of thousands of e-mails): do not change the answer."""
    fields: dict[str, set[str]] = {}
    for name, _ in documented(kind):
        top, _, attribute = name.partition(".")
        fields.setdefault(top, set())
        if attribute:
            fields[top].add(attribute)
    return {top: frozenset(attributes) for top, attributes in fields.items()}


@functools.cache
def extra_names(kind: EmailKind) -> frozenset[str]:
    """The names a caller may pass in `extra` for the kind."""
    names = {name for name, _ in EXTRA_VARIABLES.get(kind, ())}
    if kind in EXTRA_OBJECTS:
        names.add(EXTRA_OBJECTS[kind][0])
    return frozenset(names)


def check_extra(kind: EmailKind, extra: Mapping[str, Any] | None) -> None:
    """ValueError when `extra` names a variable the kind does not have."""
    unknown = set(extra or {}) - extra_names(kind)
    if unknown:
        raise ValueError(f"unknown extra variables for {kind}: {sorted(unknown)}")


# --- building the variables ---------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """What the tenant decides about how values read."""

    locale: Locale
    time_zone: str
    company_name: str

    def today(self, now: datetime) -> date:
        return local_date(now, self.time_zone)

    def money(self, amount: int, currency: str) -> str:
        return format_money(amount, currency, self.locale)

    def day(self, value: date | None) -> str:
        return format_date(value, self.locale) if value is not None else ""


def customer_variables(customer: Customer) -> Variables:
    return {
        "name": customer.name,
        "email": customer.email or "",
        "document": format_document(customer.document) or "",
        "number": customer.number,
    }


def charge_variables(charge: Charge, setting: Setting) -> Variables:
    currency = charge.currency
    lines: list[dict[str, Any]] = [
        {
            "description": str(line.get("description") or ""),
            "quantity": int(line["quantity"]),
            "amount": setting.money(int(line["amount"]), currency),
            "total": setting.money(int(line["quantity"]) * int(line["amount"]), currency),
        }
        for line in charge.items
    ]
    settled_on = (
        local_date(charge.settled_at, setting.time_zone) if charge.settled_at is not None else None
    )
    settled = charge.settled_amount if charge.settled_amount is not None else charge.amount
    return {
        "number": charge.number,
        "amount": setting.money(charge.amount, currency),
        "currency": currency,
        "due_date": setting.day(charge.due_date),
        "description": ", ".join(str(line["description"]) for line in lines if line["description"]),
        "lines": lines,
        "payment_method": charge.payment_method.value,
        "pix_code": charge.pix_code or "",
        "boleto_line": charge.boleto_line or "",
        "payment_url": payment_url(charge.id, charge.status) or "",
        "settled_amount": setting.money(settled, currency),
        "settled_at": setting.day(settled_on),
        "fine_amount": setting.money(charge.fine_amount or 0, currency),
        "interest_amount": setting.money(charge.interest_amount or 0, currency),
    }


def contract_variables(contract: Contract, setting: Setting) -> Variables:
    products = [str(item.get("description") or "") for item in contract.items]
    return {
        "number": contract.number,
        "description": ", ".join(name for name in products if name),
        "products": products,
        "amount": setting.money(contract.amount, contract.currency),
        "recurrence": format_recurrence(contract.interval, contract.interval_count, setting.locale),
        "start_date": setting.day(contract.start_date),
        "trial_end": setting.day(contract.trial_end),
        "status": contract.status.value,
        "cancel_reason": contract.cancel_reason or "",
    }


def first_charge_variables(charge: Charge | None, setting: Setting) -> Variables:
    """`trial_ending`'s `first_charge`: number, amount and due date, empty when none."""
    if charge is None:
        return {"number": "", "amount": "", "due_date": ""}
    return {
        "number": charge.number,
        "amount": setting.money(charge.amount, charge.currency),
        "due_date": setting.day(charge.due_date),
    }


def invoice_variables(invoice: FiscalInvoice, setting: Setting) -> Variables:
    """`fiscal_invoice`'s `invoice`: the numbers, codes, amount and date of the nota fiscal."""
    issued_on = (
        local_date(invoice.issued_at, setting.time_zone) if invoice.issued_at is not None else None
    )
    return {
        "nfse_number": invoice.nfse_number or "",
        "number": invoice.number,
        "verification_code": invoice.verification_code or "",
        "access_key": invoice.access_key or "",
        "amount": setting.money(invoice.amount, invoice.currency),
        "issued_at": setting.day(issued_on),
        "service_description": invoice.service_description,
        "consultation_url": consultation_url(invoice.access_key) if invoice.access_key else "",
    }


def build_variables(
    kind: EmailKind,
    setting: Setting,
    now: datetime,
    customer: Customer,
    charge: Charge | None,
    contract: Contract | None,
    extra: Mapping[str, Any] | None = None,
    *,
    fiscal_invoice: FiscalInvoice | None = None,
) -> Variables:
    """The variables of one e-mail. A charge kind needs `charge`, a contract kind `contract`,
    the fiscal kind `fiscal_invoice` and its `charge` (ValueError otherwise: a caller's
    mistake); `extra` may set the kind's numbers only. For `trial_ending`, `charge` is the
    first paid period's charge, if it was issued."""
    today = setting.today(now)
    variables: Variables = {
        "company": {"name": setting.company_name},
        "customer": customer_variables(customer),
        "today": setting.day(today),
    }
    if kind in FISCAL_KINDS:
        if fiscal_invoice is None or charge is None:
            raise ValueError(f"a {kind} e-mail needs a fiscal invoice and its charge")
        variables["invoice"] = invoice_variables(fiscal_invoice, setting)
        whole = charge_variables(charge, setting)
        variables["charge"] = {"number": whole["number"], "description": whole["description"]}
    elif kind in CHARGE_KINDS:
        if charge is None:
            raise ValueError(f"a {kind} e-mail needs a charge")
        variables["charge"] = charge_variables(charge, setting)
        days_to_due = (charge.due_date - today).days
        variables |= {"days_until_due": max(days_to_due, 0), "days_overdue": max(-days_to_due, 0)}
    else:
        if contract is None:
            raise ValueError(f"a {kind} e-mail needs a contract")
        variables["contract"] = contract_variables(contract, setting)
        variables["first_charge"] = first_charge_variables(charge, setting)
        trial_end = contract.trial_end or today
        variables["days_left"] = max((trial_end - today).days, 0)
    if kind in EXTRA_OBJECTS:
        name, empty = EXTRA_OBJECTS[kind]
        variables[name] = dict(empty)
    check_extra(kind, extra)
    variables |= dict(extra or {})
    allowed = allowed_names(kind)
    return {name: value for name, value in variables.items() if name in allowed}


# --- sample data, for previews and for validating a template --------------------------------


def sample_customer() -> Customer:
    return Customer(
        id="cus_SAMPLE",
        number=42,
        name="Maria da Conceição Souza",
        email="maria.souza@example.com",
        document="52998224725",
    )


def sample_charge(customer_id: str, today: date) -> Charge:
    return Charge(
        id="chg_SAMPLE",
        number=1234,
        customer_id=customer_id,
        contract_id=None,
        items=[
            {"product_id": None, "description": "Mensalidade", "quantity": 1, "amount": 119990},
            {"product_id": None, "description": "Material didático", "quantity": 2, "amount": 5733},
        ],
        amount=131456,
        currency="BRL",
        due_date=today + timedelta(days=10),
        status=ChargeStatus.OPEN,
        payment_method=PaymentMethod.PIX,
        settled_at=None,
        settled_amount=None,
        fine_amount=0,
        interest_amount=0,
        pix_code=pix_code(
            key="pix@example.com",
            merchant_name="Escola Exemplo",
            merchant_city="Sao Paulo",
            amount=131456,
            txid="ASSINA1234",
        ),
        boleto_line=None,
    )


def sample_contract(customer_id: str, today: date) -> Contract:
    return Contract(
        id="ctr_SAMPLE",
        number=87,
        customer_id=customer_id,
        items=[{"product_id": "prd_SAMPLE", "description": "Plano Essencial", "quantity": 1}],
        amount=9990,
        currency="BRL",
        status=ContractStatus.TRIALING,
        interval="month",
        interval_count=1,
        start_date=today - timedelta(days=27),
        trial_end=today + timedelta(days=3),
        cancel_reason=None,
    )


def sample_first_charge(contract: Contract) -> Charge:
    """A trial's sample: the charge of its first paid period, issued already."""
    due_date = contract.trial_end or contract.start_date
    charge = sample_charge(contract.customer_id, due_date - timedelta(days=10))
    charge.number = 1235
    charge.contract_id = contract.id
    charge.items = [
        {
            "product_id": None,
            "description": "Plano Essencial",
            "quantity": 1,
            "amount": contract.amount,
        }
    ]
    charge.amount = contract.amount
    return charge


def sample_settled(charge: Charge, now: datetime) -> Charge:
    """A receipt's sample: the sample charge, paid today."""
    charge.status = ChargeStatus.SETTLED
    charge.settled_at = now.astimezone(UTC)
    charge.settled_amount = charge.amount
    return charge


def sample_objects(
    kind: EmailKind, now: datetime, today: date
) -> tuple[Customer, Charge | None, Contract | None]:
    """Sample data that reads like a real e-mail of this kind."""
    customer = sample_customer()
    charge = contract = None
    if kind in FISCAL_KINDS:
        charge = sample_settled(sample_charge(customer.id, today), now)
    elif kind in CHARGE_KINDS:
        charge = sample_charge(customer.id, today)
        if kind == EmailKind.REMINDER:
            charge.due_date = today + timedelta(days=3)
        elif kind == EmailKind.OVERDUE:
            charge.due_date = today - timedelta(days=5)
        elif kind == EmailKind.RECEIPT:
            sample_settled(charge, now)
        elif kind == EmailKind.CARD_DECLINED:
            charge.payment_method = PaymentMethod.CARD
            charge.pix_code = None
    else:
        contract = sample_contract(customer.id, today)
        if kind == EmailKind.SUSPENSION:
            contract.status = ContractStatus.SUSPENDED
        elif kind == EmailKind.CANCELLATION:
            contract.status = ContractStatus.CANCELLED
            contract.cancel_reason = "Pedido do cliente"
        elif kind == EmailKind.TRIAL_ENDING:
            charge = sample_first_charge(contract)
    return customer, charge, contract


def sample_fiscal_invoice(customer_id: str, charge: Charge, now: datetime) -> FiscalInvoice:
    """A nota fiscal of the charge, issued now by the sandbox issuer."""
    return FiscalInvoice(
        id="nfs_SAMPLE",
        number=318,
        charge_id=charge.id,
        customer_id=customer_id,
        status=FiscalInvoiceStatus.ISSUED,
        provider=FiscalProvider.SANDBOX,
        amount=charge.amount,
        currency=charge.currency,
        service_code="080101",
        service_description="Mensalidade escolar",
        nfse_number="318",
        verification_code="7F3A9C21",
        access_key="35503082211222333000181000000000031826011234567898",
        issued_at=now.astimezone(UTC),
    )


def sample_variables(kind: EmailKind, setting: Setting, now: datetime) -> Variables:
    customer, charge, contract = sample_objects(kind, now, setting.today(now))
    invoice = None
    if kind in FISCAL_KINDS and charge is not None:
        invoice = sample_fiscal_invoice(customer.id, charge, now)
    return build_variables(
        kind, setting, now, customer, charge, contract, sample_extra(kind), fiscal_invoice=invoice
    )


def sample_extra(kind: EmailKind) -> Variables | None:
    """What a caller of the kind passes in `extra` that cannot be computed (`decline`)."""
    return {"decline": dict(SAMPLE_DECLINE)} if kind == EmailKind.CARD_DECLINED else None


def sparse_variables(kind: EmailKind, setting: Setting, now: datetime) -> Variables:
    """Sample data with every optional value empty and the days at zero: validation renders
    this too, so that the other side of a template's `if`s is tried as well."""
    today = setting.today(now)
    customer, charge, contract = sample_objects(kind, now, today)
    customer.email = None
    customer.document = None
    if kind not in CHARGE_KINDS | FISCAL_KINDS:
        charge = None  # trial_ending: no first charge issued yet
    if charge is not None:
        charge.items = [
            {"product_id": None, "description": "", "quantity": 1, "amount": charge.amount}
        ]
        charge.pix_code = None
        charge.due_date = today
        charge.settled_at = None
        charge.status = ChargeStatus.INVALIDATED  # no payment page: `payment_url` empty
    if contract is not None:
        contract.items = []
        contract.trial_end = None
        contract.cancel_reason = None
    invoice = None
    if kind in FISCAL_KINDS and charge is not None:
        invoice = sample_fiscal_invoice(customer.id, charge, now)
        invoice.nfse_number = invoice.verification_code = invoice.access_key = None
        invoice.issued_at = None
        invoice.service_description = ""
    return build_variables(kind, setting, now, customer, charge, contract, fiscal_invoice=invoice)
