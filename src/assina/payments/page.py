"""The customer's payment page (`/pay/{token}`): what it shows of a charge, read by the token
alone (charges/links.py), and the sandbox card form's use case: the card saved for the
customer, then one attempt now (card_payment.py).

Everything the page shows is prepared here, written as a Brazilian payer reads it
(`R$ 1.234,56`, `10/02/2026`); the router only renders the template."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from assina.charges.links import PaymentLinks
from assina.charges.models import Charge, ChargeStatus
from assina.charges.settlement import fees_due
from assina.core.clock import Clock, local_date
from assina.core.errors import Problem
from assina.core.money import MINOR_UNIT_EXPONENT
from assina.customers.models import Customer
from assina.db.database import Database
from assina.payment_settings.models import PaymentProvider
from assina.payment_settings.service import payment_choices
from assina.payments.card_attempts import UNREACHABLE
from assina.payments.card_payment import CardPayment, pay_by_card_now
from assina.payments.cards import payer_of, store_card
from assina.payments.connections import ProviderConnections
from assina.payments.models import CardAttemptStatus
from assina.payments.providers import (
    CardDetails,
    CardRefused,
    Payer,
    ProviderRefused,
    ProviderUnavailable,
)
from assina.rules.boleto_pdf import format_brl, format_date
from assina.rules.cards import DECLINE_MESSAGES, card_expired, card_number_digits, luhn_valid
from assina.rules.late_fees import LateFees
from assina.rules.pix import pix_qr_svg
from assina.tenants.clock import CalendarTenant, calendar_tenant
from assina.tenants.models import Tenant

MAX_HOLDER_NAME = 100
NOT_ACCEPTED = "O cartão não foi aceito. Confira os dados ou use outro cartão."
UNAVAILABLE = "Não foi possível falar com a operadora do cartão agora. Tente de novo em instantes."


@dataclass(frozen=True)
class PageLine:
    description: str
    quantity: int
    total: str


@dataclass(frozen=True)
class PaymentPage:
    """One charge as its payment page shows it (money and dates already written out)."""

    token: str
    charge_id: str
    tenant_id: str
    tenant_name: str
    number: int
    status: ChargeStatus
    lines: tuple[PageLine, ...]
    amount: str
    due_date: str
    overdue: bool
    fine: str | None  # the late fees owed if paid today (an open charge past due)
    interest: str | None
    due_today: str  # amount + fees, if paid today
    settled_on: str | None
    settled_amount: str | None
    pix_code: str | None  # shown while open
    pix_svg: str | None  # the QR of pix_code, inline SVG
    boleto_line: str | None  # shown while open
    card_form: bool  # an open charge of a sandbox tenant whose card gateway is the sandbox

    @property
    def is_open(self) -> bool:
        return self.status == ChargeStatus.OPEN


@dataclass(frozen=True)
class CardOutcome:
    """What the card form did, as the payer reads it."""

    status: str  # approved, declined, processing, failed, or refused (the form or the card)
    message: str


class CardFormRefused(Exception):
    """What the payer typed cannot be a card (the message is pt-BR, for the page)."""


def money(amount: int, currency: str) -> str:
    """Minor units as the payer reads them: `R$ 1.234,56`; another currency by its code and
    its own minor-unit exponent (`JPY 1500`, `USD 12.34`), never through a float."""
    if currency == "BRL":
        return format_brl(amount)
    exponent = MINOR_UNIT_EXPONENT.get(currency, 2)
    units, minor = divmod(abs(amount), 10**exponent)
    number = f"{units}.{minor:0{exponent}d}" if exponent else str(units)
    return f"{currency} {'-' if amount < 0 else ''}{number}"


async def read_payment_page(
    database: Database, clock: Clock, links: PaymentLinks, token: str
) -> PaymentPage | None:
    """The page of the charge the token names; None for a token that does not verify. `clock`
    is the process's: a sandbox tenant's page is read on its test clock."""
    charge_id = links.charge_id_of(token)
    if charge_id is None:
        return None
    async with database.read() as session:
        charge = await session.get(Charge, charge_id)
        calendar = await calendar_tenant(session, charge.tenant_id) if charge else None
        if charge is None or calendar is None:
            return None
        tenant = await session.get_one(Tenant, charge.tenant_id)
        now = calendar.clock(clock).now()
        fees = await fees_due(session, charge.tenant_id, charge, now)
        choices = await payment_choices(session, charge.tenant_id)
        card_form = calendar.sandbox and choices.card_provider == PaymentProvider.SANDBOX
        page = _page(token, charge, tenant.name, local_date(now, calendar.time_zone), fees)
        page = replace(page, card_form=card_form and page.is_open)
        settled_at = charge.settled_at
    if settled_at is not None:
        page = replace(page, settled_on=format_date(local_date(settled_at, calendar.time_zone)))
    if page.pix_code is not None:
        # Drawing takes ~8 ms of pure Python: in a thread, as GET /v1/charges/{id}/pix.svg does.
        page = replace(page, pix_svg=await asyncio.to_thread(pix_qr_svg, page.pix_code))
    return page


def _page(token: str, charge: Charge, tenant_name: str, today: date, fees: LateFees) -> PaymentPage:
    currency = charge.currency
    is_open = charge.status == ChargeStatus.OPEN
    late = is_open and fees.total > 0
    return PaymentPage(
        token=token,
        charge_id=charge.id,
        tenant_id=charge.tenant_id,
        tenant_name=tenant_name,
        number=charge.number,
        status=charge.status,
        lines=tuple(
            PageLine(
                description=str(line.get("description") or ""),
                quantity=int(line["quantity"]),
                total=money(int(line["quantity"]) * int(line["amount"]), currency),
            )
            for line in charge.items
        ),
        amount=money(charge.amount, currency),
        due_date=format_date(charge.due_date),
        overdue=is_open and charge.due_date < today,
        fine=money(fees.fine, currency) if late else None,
        interest=money(fees.interest, currency) if late else None,
        due_today=money(charge.amount + (fees.total if is_open else 0), currency),
        settled_on=None,
        settled_amount=(
            money(charge.settled_amount, currency) if charge.settled_amount is not None else None
        ),
        pix_code=charge.pix_code if is_open else None,
        pix_svg=None,
        boleto_line=charge.boleto_line if is_open else None,
        card_form=False,
    )


# --- the sandbox card form ------------------------------------------------------------------


def card_details(form: Mapping[str, str], today: date, remote_ip: str | None) -> CardDetails:
    """The card the payer typed, checked as a gateway would (CardFormRefused otherwise)."""
    try:
        number = card_number_digits(form.get("number", ""))
    except ValueError:
        raise CardFormRefused("Número de cartão inválido: confira os dígitos.") from None
    if not luhn_valid(number):
        raise CardFormRefused("Número de cartão inválido: confira os dígitos.")
    month, year = form.get("exp_month", "").strip(), form.get("exp_year", "").strip()
    if not (month.isascii() and month.isdigit() and year.isascii() and year.isdigit()):
        raise CardFormRefused("Validade inválida: informe o mês (1 a 12) e o ano com 4 dígitos.")
    try:
        expired = card_expired(int(month), int(year), today)
    except ValueError:
        raise CardFormRefused(
            "Validade inválida: informe o mês (1 a 12) e o ano com 4 dígitos."
        ) from None
    if expired:
        raise CardFormRefused("Cartão vencido: confira a validade ou use outro cartão.")
    cvc = form.get("cvc", "").strip()
    if not (cvc.isascii() and cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise CardFormRefused("CVC inválido: são os 3 ou 4 dígitos no verso do cartão.")
    holder = " ".join(form.get("holder_name", "").split())
    if not holder or len(holder) > MAX_HOLDER_NAME:
        raise CardFormRefused("Informe o nome impresso no cartão.")
    return CardDetails(number, int(month), int(year), cvc, holder, remote_ip)


async def pay_from_page(
    database: Database,
    connections: ProviderConnections,
    clock: Clock,
    page: PaymentPage,
    form: Mapping[str, str],
    *,
    remote_ip: str | None,
    base_url: str,
) -> CardOutcome:
    """The card form: the card saved for the customer (their default card from now on, which
    the calendar's retries use), then one attempt now for what settles the charge today."""
    async with database.read() as session:
        calendar = await calendar_tenant(session, page.tenant_id)
        charge = await session.get_one(Charge, page.charge_id)
        customer = await session.get_one(Customer, charge.customer_id)
        payer = payer_of(customer)
    if calendar is None:
        raise LookupError(f"no tenant {page.tenant_id}")
    tenant_clock = calendar.clock(clock)
    try:
        details = card_details(form, local_date(tenant_clock.now(), calendar.time_zone), remote_ip)
        card_id = await _save_card(database, connections, tenant_clock, calendar, payer, details)
    except CardFormRefused as refused:
        return CardOutcome("refused", str(refused))
    except CardRefused as refused:
        return CardOutcome("refused", refused.message)
    except ProviderRefused as refused:
        # The sandbox refuses a test card it will not keep with the decline's own message.
        known = str(refused) in DECLINE_MESSAGES.values()
        return CardOutcome("refused", str(refused) if known else NOT_ACCEPTED)
    except ProviderUnavailable:
        return CardOutcome("failed", UNAVAILABLE)
    payment = CardPayment(
        calendar.id, calendar.time_zone, tenant_clock, page.charge_id, card_id, base_url
    )
    try:
        paid = await pay_by_card_now(database, connections, payment)
    except Problem:  # paid or cancelled meanwhile (409): the page shows what it is now
        return CardOutcome("refused", "Esta cobrança não está mais em aberto.")
    return _outcome(paid.attempt.status, paid.attempt.message)


def _outcome(status: CardAttemptStatus, message: str | None) -> CardOutcome:
    if status == CardAttemptStatus.APPROVED:
        return CardOutcome("approved", "Pagamento aprovado. Obrigado!")
    if status == CardAttemptStatus.PROCESSING:
        return CardOutcome("processing", "Pagamento em processamento: a confirmação chega logo.")
    if status == CardAttemptStatus.DECLINED:
        return CardOutcome("declined", message or "Cartão recusado.")
    return CardOutcome("failed", UNAVAILABLE if message == UNREACHABLE.message else (message or ""))


async def _save_card(
    database: Database,
    connections: ProviderConnections,
    clock: Clock,
    tenant: CalendarTenant,
    payer: Payer,
    details: CardDetails,
) -> str:
    """Tokenized by the sandbox over HTTP; only the sealed token and what may be shown are
    stored (payments/cards.py `store_card`), as the customer's default card."""
    gateway = await connections.sandbox_client(tenant.id)
    token = await gateway.tokenize_card(payer, details)
    async with database.write() as session:
        card = await store_card(
            session,
            clock,
            connections.box,
            (tenant.id, payer.customer_id),
            PaymentProvider.SANDBOX,
            token,
            make_default=True,
            saved_from_ip=details.remote_ip,
        )
        card_id = card.id
    return card_id
