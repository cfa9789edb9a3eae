"""What assina asks of a payment provider, one interface per rail, and what a provider tells
assina back. The sandbox (payments/sandbox/) and Asaas (payments/asaas/) implement them; the
rest of assina sees only these types.

Every call is a request to a remote service over HTTP: it may time out or fail, so each takes
an idempotency key that a retry sends again, and each raises `ProviderUnavailable` for a
failure worth retrying (a timeout, a 5xx, a 429) and `ProviderRefused` for an answer that a
retry would not change (a 4xx, the provider's validation errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from assina.core.errors import Problem
from assina.rules.cards import CardBrand, ChargeOutcome, DeclineCode


class ProviderError(Exception):
    """A provider call that did not do what was asked."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or failed on its side: retry later, same key."""


class ProviderRefused(ProviderError):
    """The provider refused the request as it is: retrying it unchanged fails again."""


def provider_failed(error: ProviderRefused | ProviderUnavailable) -> Problem:
    """A provider call that failed, as an API answer: 503 when it may work later, 502 when
    the provider refused it."""
    if isinstance(error, ProviderUnavailable):
        return Problem(503, "provider-unavailable", str(error), "Provider unavailable")
    return Problem(502, "provider-refused", str(error), "Provider refused the request")


class CardRefused(ProviderRefused):
    """The gateway refused the card itself (when saving it): why, and what the payer reads."""

    def __init__(self, decline_code: DeclineCode, message: str) -> None:
        super().__init__(message)
        self.decline_code = decline_code
        self.message = message


# --- what assina sends ------------------------------------------------------------------------


@dataclass(frozen=True)
class Payer:
    """The customer as a provider needs them: assina's id is the provider's external reference."""

    customer_id: str
    name: str
    document: str | None  # CPF or CNPJ, digits only
    email: str | None
    # What Asaas asks of a card's holder besides the above (creditCardHolderInfo).
    phone: str | None = None  # digits, with the area code
    postal_code: str | None = None  # CEP, 8 digits
    address_number: str | None = None


@dataclass(frozen=True)
class PaymentOrder:
    """One charge to collect through a provider. `charge_id` goes as the provider's external
    reference, so that what the provider notifies names the charge; `idempotency_key` is the
    same on every retry of this order."""

    charge_id: str
    charge_number: int
    payer: Payer
    amount: int  # minor units of BRL
    due_date: date
    description: str
    idempotency_key: str
    # The tenant's now (a sandbox tenant's test clock), and where a provider that takes a
    # notification URL per payment (the sandbox) sends what becomes of it.
    requested_at: datetime
    notification_url: str | None = None
    # The payer's IP for a card payment (Asaas's remoteIp, required with a card and never the
    # server's): where the payer is now, or where their card was saved from.
    remote_ip: str | None = None
    # A PIX order of a charge that also has a boleto at this provider: a provider whose
    # boleto carries a PIX code (Asaas) gives that one, so one payment pays by either rail.
    with_boleto: bool = False


@dataclass(frozen=True)
class CardDetails:
    """A card as typed (the sandbox only: a real gateway receives it from the payer's
    browser). Never stored, never logged: `__repr__` shows the last four digits only."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str
    holder_name: str
    remote_ip: str | None = None  # the payer's browser's IP (Asaas's remoteIp)

    def __repr__(self) -> str:
        return f"CardDetails(number='…{self.number[-4:]}', exp={self.exp_month}/{self.exp_year})"


# --- what the provider answers ----------------------------------------------------------------


@dataclass(frozen=True)
class CardToken:
    """A card the gateway keeps: its token, and what assina may store beside it."""

    token: str
    brand: CardBrand
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class CardAttemptResult:
    outcome: ChargeOutcome  # PROCESSING: decided later, by a notification
    provider_payment_id: str | None  # None when the card was declined before a payment existed
    decline_code: DeclineCode | None = None
    message: str | None = None


@dataclass(frozen=True)
class RegisteredBoleto:
    provider_payment_id: str
    boleto_line: str  # linha digitável, 47 digits
    boleto_barcode: str  # 44 digits
    our_number: str  # nosso número


@dataclass(frozen=True)
class PixCharge:
    provider_payment_id: str
    txid: str  # 26 to 35 letters and digits
    pix_code: str  # the BR Code (copia e cola) for this txid


class PaymentRail(StrEnum):
    CARD = "card"
    BOLETO = "boleto"
    PIX = "pix"


@dataclass(frozen=True)
class ReceivedPayment:
    """Money a provider says arrived for a charge (a notification, or a reconciliation's
    answer). `event_id` is what makes it once: the provider's event id for a notification;
    for a payment found by reconciliation, an id derived from the provider's payment id, the
    same one its notification would carry."""

    event_id: str
    provider_payment_id: str
    charge_id: str | None  # the external reference; None when the provider sent none
    rail: PaymentRail
    amount: int  # what was received, minor units
    paid_at: datetime
    end_to_end_id: str | None = None  # PIX: the payment's end-to-end id


@dataclass(frozen=True)
class DeclinedPayment:
    """A card payment the provider declined after answering `processing`."""

    event_id: str
    provider_payment_id: str
    charge_id: str | None
    decline_code: DeclineCode
    message: str


@dataclass(frozen=True)
class IgnoredNotification:
    """A notification assina reads but does nothing with (a payment created, overdue, …):
    stored for audit, applied to nothing."""

    event_id: str
    kind: str
    provider_payment_id: str | None
    charge_id: str | None


Notification = ReceivedPayment | DeclinedPayment | IgnoredNotification


class NotificationRefused(Exception):
    """The notification's token or signature does not verify (401, nothing written), or its
    body is not what the provider sends (400)."""

    def __init__(self, detail: str, *, unauthenticated: bool) -> None:
        super().__init__(detail)
        self.unauthenticated = unauthenticated


# --- the interfaces ---------------------------------------------------------------------------


class CardGateway(Protocol):
    async def tokenize_card(self, payer: Payer, card: CardDetails) -> CardToken:
        """Keep a card at the gateway (ProviderRefused with a DeclineCode message when the
        gateway refuses the card itself)."""
        ...

    async def charge_card(self, order: PaymentOrder, card_token: str) -> CardAttemptResult: ...

    async def refund_card(self, provider_payment_id: str, amount: int | None) -> None: ...


class BoletoIssuer(Protocol):
    async def register_boleto(self, order: PaymentOrder) -> RegisteredBoleto: ...

    async def cancel_boleto(self, provider_payment_id: str) -> None:
        """The boleto no longer payable (cancelling it again changes nothing);
        ProviderRefused when it was paid."""
        ...


class PixProvider(Protocol):
    async def create_pix(self, order: PaymentOrder) -> PixCharge: ...

    async def look_up_pix(self, provider_payment_id: str) -> ReceivedPayment | None:
        """The payment received for this PIX charge, or None while it is unpaid."""
        ...

    async def refund_pix(self, provider_payment_id: str, amount: int | None) -> None: ...

    async def cancel_pix(self, provider_payment_id: str) -> None:
        """The PIX charge no longer payable (cancelling it again changes nothing);
        ProviderRefused when it was paid."""
        ...


class InboundReader(Protocol):
    """How a provider's notifications are read: verified against the tenant's secret, then
    parsed. Pure: no I/O."""

    def read_notifications(
        self, headers: Mapping[str, str], body: bytes, secret: str, now: datetime
    ) -> Sequence[Notification]:
        """The notifications in one request; NotificationRefused when it does not verify or
        does not parse."""
        ...


class Reconciler(Protocol):
    async def received_since(self, since: datetime) -> Sequence[ReceivedPayment]:
        """Every payment the provider received at or after `since` (a lost notification
        is found here)."""
        ...
