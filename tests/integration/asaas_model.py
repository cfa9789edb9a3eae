"""The data of the Asaas v3 stand-in (tests/integration/asaas_standin.py): its constants, the
payment object as Asaas's reference and webhook example show it, what it records, and the
helpers of its listing. docs/payments.md, "Asaas API v3: the contract assina relies on", gives
the source of each.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from assina.rules import boleto
from tests.integration.asaas_fields import FieldErrors

SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # Asaas stamps its dates in Brazil's time
BILLING_TYPES = ("UNDEFINED", "BOLETO", "CREDIT_CARD", "PIX")
# GET /v3/payments `status` filter: the reference's enum.
STATUSES = (
    "PENDING", "RECEIVED", "CONFIRMED", "OVERDUE", "REFUNDED", "RECEIVED_IN_CASH",
    "REFUND_REQUESTED", "REFUND_IN_PROGRESS", "CHARGEBACK_REQUESTED", "CHARGEBACK_DISPUTE",
    "AWAITING_CHARGEBACK_REVERSAL", "DUNNING_REQUESTED", "DUNNING_RECEIVED",
    "AWAITING_RISK_ANALYSIS",
)  # fmt: skip
# Asaas's sandbox guide: any valid number is approved, these two are refused.
REFUSED_CARDS = frozenset({"5184019740373151", "4916561358240741"})
REFUSED_DESCRIPTION = (
    "Transação não autorizada. Verifique os dados do cartão de crédito e tente novamente."
)
STANDIN_FEE = 99  # centavos; the stand-in's own figure (real fees depend on the account's plan)
CARD_CREDIT_DAYS = 30  # a card payment's money is credited ~30 days after it is confirmed
WEBHOOK_TOKEN_HEADER = "asaas-access-token"
DEFAULT_EVENTS = frozenset(
    {
        "PAYMENT_CREATED",
        "PAYMENT_CONFIRMED",
        "PAYMENT_RECEIVED",
        "PAYMENT_REFUNDED",
        "PAYMENT_PARTIALLY_REFUNDED",
        "PAYMENT_DELETED",
        # A card payment held for risk analysis, and how it is decided.
        "PAYMENT_AWAITING_RISK_ANALYSIS",
        "PAYMENT_APPROVED_BY_RISK_ANALYSIS",
        "PAYMENT_REPROVED_BY_RISK_ANALYSIS",
        "PAYMENT_CREDIT_CARD_CAPTURE_REFUSED",
    }
)
# How a test decides a card payment held for risk analysis (AsaasStandin.decide_analysis).
ANALYSIS_OUTCOMES = frozenset(
    {
        "PAYMENT_CONFIRMED",
        "PAYMENT_REPROVED_BY_RISK_ANALYSIS",
        "PAYMENT_CREDIT_CARD_CAPTURE_REFUSED",
    }
)
# The stand-in's boleto: Banco do Brasil's 7-digit convênio layout (the only bank
# assina.rules.boleto lays out); real Asaas boletos come from the bank Asaas works with.
BOLETO_BANK, BOLETO_AGREEMENT, BOLETO_WALLET = boleto.BANCO_DO_BRASIL, "2345678", "17"
PIX_MERCHANT, PIX_CITY = "ASAAS STANDIN", "JOINVILLE"
PAYMENT_FIELDS = (
    "customer", "billingType", "value", "dueDate", "description", "externalReference",
    "daysAfterDueDateToRegistrationCancellation", "postalService", "creditCard",
    "creditCardHolderInfo", "creditCardToken", "remoteIp",
)  # fmt: skip
PAYMENT_UNSUPPORTED = (
    "installmentCount", "totalValue", "installmentValue", "discount", "interest", "fine",
    "split", "callback", "authorizeOnly",
)  # fmt: skip
CUSTOMER_TEXT_FIELDS = (
    "phone", "mobilePhone", "address", "addressNumber", "complement", "province",
    "postalCode", "externalReference", "additionalEmails", "municipalInscription",
    "stateInscription", "observations", "groupName", "company",
)  # fmt: skip
LIST_FILTERS = (
    "customer", "billingType", "status", "externalReference",
    "paymentDate[ge]", "paymentDate[le]", "dueDate[ge]", "dueDate[le]",
    "dateCreated[ge]", "dateCreated[le]",
)  # fmt: skip
# GET /v3/customers: the reference's filters (name, email, cpfCnpj, externalReference).
CUSTOMER_FILTERS = ("name", "email", "cpfCnpj", "externalReference")
LIST_UNSUPPORTED = (
    "installment", "customerGroupName", "subscription", "paymentDate", "invoiceStatus",
    "estimatedCreditDate", "pixQrCodeId", "anticipated", "anticipable",
    "estimatedCreditDate[ge]", "estimatedCreditDate[le]", "user",
)  # fmt: skip


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # the parsed JSON, None without a body, the raw text when it is not JSON


@dataclass
class Delivery:
    """One webhook POST: what was sent and what the receiver answered (None: no answer)."""

    event: dict[str, Any]
    headers: dict[str, str]
    status: int | None

    @property
    def delivered(self) -> bool:
        return self.status == 200  # Asaas counts only 200 as delivered, not any 2xx


@dataclass(frozen=True)
class SavedCard:
    customer: str
    token: str
    number: str
    brand: str
    expiry_month: int
    expiry_year: int

    def summary(self) -> dict[str, str]:
        return {
            "creditCardNumber": self.number[-4:],
            "creditCardBrand": self.brand,
            "creditCardToken": self.token,
        }


@dataclass
class Payment:
    id: str
    customer: str
    billing_type: str
    value: int  # centavos
    due_date: date
    date_created: date
    sequence: int
    description: str | None = None
    external_reference: str | None = None
    status: str = "PENDING"
    original_value: int | None = None
    confirmed_date: date | None = None
    payment_date: date | None = None
    credit_date: date | None = None
    estimated_credit_date: date | None = None
    deleted: bool = False
    card: SavedCard | None = None
    refunds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def nosso_numero(self) -> str:
        return f"{10_000_000 + self.sequence}"

    @property
    def refunded(self) -> int:
        return sum(round(refund["value"] * 100) for refund in self.refunds)

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The payment object of the reference (and of the webhook example's `payment`)."""
        slug = self.id.removeprefix("pay_")
        interest = None if self.original_value is None else self.value - self.original_value
        body: dict[str, Any] = {
            "object": "payment",
            "id": self.id,
            "dateCreated": self.date_created.isoformat(),
            "customer": self.customer,
            "paymentLink": None,
            "value": reais(self.value),
            "netValue": reais(self.value - STANDIN_FEE),
            "originalValue": None if self.original_value is None else reais(self.original_value),
            "interestValue": None if interest is None else reais(interest),
            "description": self.description,
            "billingType": self.billing_type,
            "canBePaidAfterDueDate": True,
            "confirmedDate": iso(self.confirmed_date),
            "pixTransaction": None,
            "status": self.status,
            "dueDate": self.due_date.isoformat(),
            "originalDueDate": self.due_date.isoformat(),
            "paymentDate": iso(self.payment_date),
            "clientPaymentDate": iso(self.payment_date or self.confirmed_date),
            "installmentNumber": None,
            "invoiceUrl": f"{base_url}/i/{slug}",
            "invoiceNumber": f"{self.sequence:08d}",
            "externalReference": self.external_reference,
            "deleted": self.deleted,
            "anticipated": False,
            "anticipable": False,
            "creditDate": iso(self.credit_date),
            "estimatedCreditDate": iso(self.estimated_credit_date),
            "transactionReceiptUrl": None,
            "nossoNumero": self.nosso_numero,
            "bankSlipUrl": f"{base_url}/b/pdf/{slug}",
            "lastInvoiceViewedDate": None,
            "lastBankSlipViewedDate": None,
            "discount": {"value": 0, "limitDate": None, "dueDateLimitDays": 0, "type": "FIXED"},
            "fine": {"value": 0, "type": "FIXED"},
            "interest": {"value": 0, "type": "PERCENTAGE"},
            "postalService": False,
            "custody": None,
            "refunds": self.refunds or None,
        }
        if self.card is not None:
            body["creditCard"] = self.card.summary()
        return body


def reais(centavos: int) -> float:
    return round(centavos / 100, 2)


def iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def asaas_error(status: int, code: str, description: str) -> web.Response:
    return web.json_response(
        {"errors": [{"code": code, "description": description}]}, status=status
    )


def invalid(errors: FieldErrors) -> web.Response:
    return web.json_response(errors.body(), status=400)


def not_found(what: str) -> web.Response:
    return asaas_error(404, "not_found", f"{what} não encontrado.")


async def json_object(request: web.Request) -> tuple[dict[str, Any] | None, FieldErrors]:
    errors = FieldErrors()
    try:
        body = json.loads(await request.text())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        errors.add("invalid_object", "O corpo da requisição deve ser um objeto JSON.")
        return None, errors
    return body, errors


def query_int(
    query: Mapping[str, str], name: str, default: int, errors: FieldErrors, *, maximum: int | None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or (maximum is not None and int(raw) > maximum):
        errors.add(f"invalid_{name}", f"O parâmetro {name} é inválido.")
        return default
    return int(raw)


def matches(payment: Payment, query: Mapping[str, str], bounds: Mapping[str, date | None]) -> bool:
    if payment.deleted:
        return False
    equal = {
        "customer": payment.customer,
        "billingType": payment.billing_type,
        "status": payment.status,
        "externalReference": payment.external_reference,
    }
    if any(name in query and query[name] != value for name, value in equal.items()):
        return False
    dates = {
        "paymentDate": payment.payment_date,
        "dueDate": payment.due_date,
        "dateCreated": payment.date_created,
    }
    for name, bound in bounds.items():
        if bound is None:
            continue
        day = dates[name.split("[")[0]]
        if day is None or (day < bound if name.endswith("[ge]") else day > bound):
            return False
    return True


def list_page(items: list[dict[str, Any]], offset: int, limit: int) -> dict[str, Any]:
    """One page of a listing, in the shape of every Asaas list."""
    page = items[offset : offset + limit]
    return {
        "object": "list",
        "hasMore": offset + len(page) < len(items),
        "totalCount": len(items),
        "limit": limit,
        "offset": offset,
        "data": page,
    }


def random_slug() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
