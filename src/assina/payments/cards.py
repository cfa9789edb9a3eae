"""Customers' saved cards: kept at the card provider, known to assina by the provider's token
(sealed: it can charge the card), brand, last 4 digits and expiry. The number and the CVC
are read while one request holds them (the sandbox only) and never stored or logged.

Saving calls the provider over HTTP, so it runs outside any write transaction: the customer
and the tenant's card provider are read first, the provider is asked, then the card is
written (SQLite has one writer, and the sandbox provider writes too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock, local_date
from assina.core.errors import FieldError, Problem, invalid, not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.customers.service import get_customer
from assina.db.database import Database
from assina.payment_settings.models import PaymentProvider
from assina.payment_settings.service import payment_choices
from assina.payments.card_schemas import CardIn
from assina.payments.connections import ProviderConnections
from assina.payments.models import CustomerCard
from assina.payments.providers import (
    CardDetails,
    CardRefused,
    CardToken,
    Payer,
    ProviderRefused,
    ProviderUnavailable,
    provider_failed,
)
from assina.payments.sandbox.server import TOKEN_PREFIX
from assina.rules.cards import card_expired, card_number_digits, luhn_valid
from assina.tenants.service import TenantContext

NUMBER_OUTSIDE_SANDBOX = "the card number never reaches assina outside the sandbox: send a token"


@dataclass
class CardDeclined(Problem):
    """422 for a card the provider refuses to keep: `decline_code` (Stripe's codes) and the
    message the payer reads, as a member of the problem."""

    decline_code: str = ""

    def body(self) -> dict[str, Any]:
        return {**super().body(), "decline_code": self.decline_code}


def card_declined(refusal: CardRefused) -> CardDeclined:
    return CardDeclined(
        422,
        "card-declined",
        refusal.message,
        "Card declined",
        errors=[FieldError("number", refusal.message)],
        decline_code=refusal.decline_code.value,
    )


def no_card_provider(field: str) -> Problem:
    message = "the tenant has no card provider: choose one in PUT /v1/payment-settings"
    return Problem(
        422,
        "no-card-provider",
        f"{message} (card.provider)",
        "Unprocessable Content",
        errors=[FieldError(field, message)],
    )


@dataclass(frozen=True)
class CardToSave:
    """One request to save a card: who, what was sent, and from where."""

    tenant: TenantContext
    customer_id: str
    body: CardIn
    saved_from_ip: str | None


# --- saving -----------------------------------------------------------------------------------


async def save_card(
    database: Database,
    clock: Clock,
    connections: ProviderConnections,
    request: CardToSave,
) -> CustomerCard:
    """Keep the card at the tenant's card provider and store what may be kept of it."""
    tenant_id = request.tenant.tenant_id
    async with database.read() as session:
        customer = await get_customer(session, tenant_id, request.customer_id)
        payer = payer_of(customer)
        choices = await payment_choices(session, tenant_id)
    provider = choices.card_provider
    if provider is None:
        raise no_card_provider("token" if request.body.token is not None else "number")
    today = local_date(clock.now(), request.tenant.time_zone)
    kept = await _kept_card(connections, tenant_id, provider, request.body, payer, today)
    async with database.write() as session:
        return await store_card(
            session,
            clock,
            connections.box,
            (tenant_id, request.customer_id),
            provider,
            kept,
            make_default=bool(request.body.default),
            saved_from_ip=request.saved_from_ip,
        )


async def _kept_card(
    connections: ProviderConnections,
    tenant_id: str,
    provider: PaymentProvider,
    body: CardIn,
    payer: Payer,
    today: date,
) -> CardToken:
    if body.token is None:
        if provider != PaymentProvider.SANDBOX:
            raise invalid("number", NUMBER_OUTSIDE_SANDBOX)
        card = checked_card(body, today)
        client = await connections.sandbox_client(tenant_id)
        try:
            return await client.tokenize_card(payer, card)
        except CardRefused as refusal:
            raise card_declined(refusal) from None
        except (ProviderRefused, ProviderUnavailable) as error:
            raise provider_failed(error) from None
    if provider == PaymentProvider.SANDBOX:
        return await _sandbox_token(connections, tenant_id, body, today)
    return asaas_token(body, today)


def checked_card(body: CardIn, today: date) -> CardDetails:
    """The typed card, checked as a gateway would before it is sent (422 naming the field,
    never echoing its value)."""
    if body.number is None or body.exp_month is None or body.exp_year is None:
        raise invalid("number", "send the card's number, exp_month and exp_year")
    try:
        digits = card_number_digits(body.number)
    except ValueError as error:
        raise invalid("number", str(error)) from None
    if not luhn_valid(digits):
        raise invalid("number", "the card number is not valid (its check digit does not match)")
    _check_expiry(body.exp_month, body.exp_year, today)
    cvc = body.cvc or ""
    if not (cvc.isascii() and cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise invalid("cvc", "the CVC is 3 or 4 digits")
    if not body.holder_name:
        raise invalid("holder_name", "the holder's name, as printed on the card")
    return CardDetails(digits, body.exp_month, body.exp_year, cvc, body.holder_name)


def _check_expiry(exp_month: int, exp_year: int, today: date) -> None:
    try:
        expired = card_expired(exp_month, exp_year, today)
    except ValueError as error:
        field = "exp_month" if "month" in str(error) else "exp_year"
        raise invalid(field, str(error)) from None
    if expired:
        raise invalid("exp_year", f"the card expired in {exp_month:02d}/{exp_year}")


async def _sandbox_token(
    connections: ProviderConnections, tenant_id: str, body: CardIn, today: date
) -> CardToken:
    """What the sandbox's token says of its card (the token carries it: the sandbox keeps no
    card). Brand, last4 and expiry come from the token, never from the body."""
    token = body.token or ""
    if not token.startswith(TOKEN_PREFIX):
        raise invalid("token", f"the sandbox card provider's tokens start {TOKEN_PREFIX}")
    sent = [n for n in ("brand", "last4", "exp_month", "exp_year") if getattr(body, n) is not None]
    if sent:
        raise invalid(sent[0], "the sandbox's token tells the card's brand, last4 and expiry")
    client = await connections.sandbox_client(tenant_id)
    try:
        kept = await client.card_of_token(token)
    except ProviderRefused:
        raise invalid("token", "the sandbox card provider made no such token") from None
    except ProviderUnavailable as error:
        raise provider_failed(error) from None
    _check_expiry(kept.exp_month, kept.exp_year, today)
    return kept


def asaas_token(body: CardIn, today: date) -> CardToken:
    """An Asaas creditCardToken with what the tenant's own front end read of the card (Asaas
    answers brand and last 4 digits when it tokenizes, never later)."""
    if body.token is None:
        raise invalid("token", "send the card's token")
    if body.brand is None:
        raise invalid("brand", "send the card's brand with an Asaas token")
    if body.last4 is None:
        raise invalid("last4", "send the card's last 4 digits with an Asaas token")
    if body.exp_month is None or body.exp_year is None:
        raise invalid("exp_month", "send the card's exp_month and exp_year with an Asaas token")
    _check_expiry(body.exp_month, body.exp_year, today)
    return CardToken(body.token, body.brand, body.last4, body.exp_month, body.exp_year)


def payer_of(customer: Customer) -> Payer:
    """The customer as a provider needs them, Asaas's card holder data included."""
    address = customer.address or {}
    return Payer(
        customer_id=customer.id,
        name=customer.name,
        document=customer.document,
        email=customer.email,
        phone=customer.phone,
        postal_code=address.get("postal_code"),
        address_number=address.get("number"),
    )


async def store_card(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    owner: tuple[str, str],
    provider: PaymentProvider,
    kept: CardToken,
    *,
    make_default: bool,
    saved_from_ip: str | None,
) -> CustomerCard:
    """What may be kept of a card the provider keeps, for the customer (`owner`: tenant id,
    customer id): its token sealed. The customer's first card is its default, as is one
    saved with `make_default`."""
    tenant_id, customer_id = owner
    # The customer's row is locked (PostgreSQL), so that two cards saved at once for a
    # customer without cards do not both become its default.
    await _locked_customer(session, tenant_id, customer_id)
    first = not await _live_cards(session, tenant_id, customer_id)
    default = first or make_default
    if default:
        await _unset_default(session, tenant_id, customer_id)
    card = CustomerCard(
        id=new_id("card"),
        tenant_id=tenant_id,
        customer_id=customer_id,
        provider=provider,
        token_sealed=box.seal(kept.token),
        brand=kept.brand.value,
        last4=kept.last4,
        exp_month=kept.exp_month,
        exp_year=kept.exp_year,
        is_default=default,
        saved_from_ip=saved_from_ip,
        created_at=clock.now(),
        deleted_at=None,
    )
    session.add(card)
    await session.flush()
    return card


async def _locked_customer(session: AsyncSession, tenant_id: str, customer_id: str) -> Customer:
    customer = await session.scalar(
        select(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
        .with_for_update()
    )
    if customer is None:
        raise not_found("customer", customer_id)
    return customer


# --- reading and changing ---------------------------------------------------------------------


def _live(tenant_id: str, customer_id: str) -> Any:
    return (
        CustomerCard.tenant_id == tenant_id,
        CustomerCard.customer_id == customer_id,
        CustomerCard.deleted_at.is_(None),
    )


async def _live_cards(
    session: AsyncSession, tenant_id: str, customer_id: str
) -> list[CustomerCard]:
    """The customer's cards not deleted, newest first."""
    rows = await session.scalars(
        select(CustomerCard).where(*_live(tenant_id, customer_id)).order_by(CustomerCard.id.desc())
    )
    return list(rows)


async def _unset_default(session: AsyncSession, tenant_id: str, customer_id: str) -> None:
    await session.execute(
        update(CustomerCard)
        .where(*_live(tenant_id, customer_id), CustomerCard.is_default.is_(True))
        .values(is_default=False)
    )


async def list_cards(
    session: AsyncSession, tenant_id: str, customer_id: str, page: PageParams
) -> tuple[list[CustomerCard], bool]:
    """The customer's cards not deleted, by id (oldest first); 404 for no such customer."""
    await get_customer(session, tenant_id, customer_id)
    statement = select(CustomerCard).where(*_live(tenant_id, customer_id))
    rows, has_more = await fetch_page(session, statement, CustomerCard.id, page)
    return list(rows), has_more


async def get_card(
    session: AsyncSession, tenant_id: str, customer_id: str, card_id: str
) -> CustomerCard:
    """The customer's card, not deleted (404 otherwise, and for another tenant's)."""
    card = await session.scalar(
        select(CustomerCard).where(*_live(tenant_id, customer_id), CustomerCard.id == card_id)
    )
    if card is None:
        await get_customer(session, tenant_id, customer_id)  # 404 names the customer first
        raise not_found("card", card_id)
    return card


async def delete_card(session: AsyncSession, clock: Clock, card: CustomerCard) -> None:
    """Soft-deletes the card (its attempts keep naming it); when it was the default, the
    newest card left becomes the default."""
    await _locked_customer(session, card.tenant_id, card.customer_id)
    card.deleted_at = clock.now()
    if not card.is_default:
        await session.flush()
        return
    card.is_default = False
    await session.flush()
    remaining = await _live_cards(session, card.tenant_id, card.customer_id)
    if remaining:
        remaining[0].is_default = True
        await session.flush()


async def make_default(
    session: AsyncSession, tenant_id: str, customer_id: str, card_id: str
) -> CustomerCard:
    """The card becomes the customer's default, the others stop being it."""
    await _locked_customer(session, tenant_id, customer_id)
    card = await get_card(session, tenant_id, customer_id, card_id)
    if not card.is_default:
        await _unset_default(session, tenant_id, customer_id)
        card.is_default = True
        await session.flush()
    return card


# --- for charging -----------------------------------------------------------------------------


async def card_for_charge(
    session: AsyncSession, tenant_id: str, customer_id: str, card_id: str | None
) -> CustomerCard:
    """The card a charge of the customer is tried on: the one named (422 `card_id` when it is
    not one of the customer's live cards), else the customer's default (422 `card_id` when
    the customer has no card)."""
    if card_id is not None:
        card = await session.scalar(
            select(CustomerCard).where(*_live(tenant_id, customer_id), CustomerCard.id == card_id)
        )
        if card is None:
            raise invalid("card_id", f"the customer has no card {card_id!r}")
        return card
    card = await session.scalar(
        select(CustomerCard)
        .where(*_live(tenant_id, customer_id))
        .order_by(CustomerCard.is_default.desc(), CustomerCard.id.desc())
        .limit(1)
    )
    if card is None:
        raise invalid("card_id", "the customer has no card")
    return card


def card_token(box: SecretBox, card: CustomerCard) -> str:
    """The provider's token of the card, opened: it charges the card, so it is never shown
    or logged."""
    return box.open(card.token_sealed)
