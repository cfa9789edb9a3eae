"""Asaas as assina's card gateway, boleto issuer, PIX provider and reconciler, over the client.

Each charge is one Asaas payment whose `externalReference` is the charge's id, for a customer
whose `externalReference` is assina's customer id. Asaas takes no idempotency key, so a retry
looks before it creates: an order sent again finds the payment its first try made (even one
whose answer was lost) instead of making a second one. A charge's boleto and PIX code are one
payment (a BOLETO payment carries a PIX code), updated in place when the charge's amount, due
date or rail changes: registering it again never makes a second one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assina.core.clock import Clock, local_date
from assina.payments.asaas.client import AsaasClient, AsaasRefused, Json
from assina.payments.asaas.payment import (
    ASAAS_TIME_ZONE,
    PAID_STATUSES,
    centavos,
    paid_day,
    reais,
    received_payment,
    text_field,
)
from assina.payments.providers import (
    BoletoIssuer,
    CardAttemptResult,
    CardDetails,
    CardGateway,
    CardRefused,
    CardToken,
    Payer,
    PaymentOrder,
    PixCharge,
    PixProvider,
    ProviderRefused,
    ProviderUnavailable,
    ReceivedPayment,
    Reconciler,
    RegisteredBoleto,
)
from assina.rules import pix
from assina.rules.cards import DECLINE_MESSAGES, CardBrand, ChargeOutcome, DeclineCode

PAGE_SIZE = 100  # the most Asaas lists in one page
MAX_DESCRIPTION = 500
# What Asaas answers for a card it does not accept (docs/payments.md, "Errors").
CARD_REFUSED_CODES = frozenset({"invalid_creditCard"})
# Words of Asaas's refusal text that tell a reason apart; anything else is generic. Asaas
# publishes no decline codes: only a real account can confirm these texts.
DECLINE_WORDS: tuple[tuple[DeclineCode, tuple[str, ...]], ...] = (
    (DeclineCode.INSUFFICIENT_FUNDS, ("saldo", "limite", "insufficient")),
    (DeclineCode.EXPIRED_CARD, ("vencido", "expirado", "validade", "expired")),
)
# A card payment a retry reuses: paid, or being analysed. A PENDING one is not reused: it is
# what a declined try may leave behind (docs/payments.md, "The Asaas adapter").
CARD_REUSED_STATUSES = PAID_STATUSES | {"AWAITING_RISK_ANALYSIS"}
# The billing types of the payment registration makes for a charge's boleto and PIX code.
BILL_TYPES = ("BOLETO", "PIX", "UNDEFINED")
BRANDS: Mapping[str, CardBrand] = {brand.value.upper(): brand for brand in CardBrand}


class AsaasProvider:
    """CardGateway, BoletoIssuer, PixProvider and Reconciler of one Asaas account. `clock`
    gives today (a card charged after its due date is due today for Asaas, which refuses a
    past due date); `page_size` is how many payments a listing asks for at a time."""

    def __init__(self, client: AsaasClient, clock: Clock, *, page_size: int = PAGE_SIZE) -> None:
        self._client = client
        self._clock = clock
        self._page_size = page_size

    # --- customers ------------------------------------------------------------------------

    async def customer_for(self, payer: Payer) -> str:
        return await asaas_customer(self._client, payer)

    # --- boleto ---------------------------------------------------------------------------

    async def register_boleto(self, order: PaymentOrder) -> RegisteredBoleto:
        payment = await self._bill_for(order, "BOLETO")
        payment_id = _id_of(payment)
        numbers = await self._client.get(f"/payments/{payment_id}/identificationField")
        line = _digits(numbers.get("identificationField"))
        barcode = _digits(numbers.get("barCode"))
        if len(line) != 47 or len(barcode) != 44:
            raise ProviderUnavailable("Asaas answered a boleto without its line or barcode")
        return RegisteredBoleto(
            provider_payment_id=payment_id,
            boleto_line=line,
            boleto_barcode=barcode,
            our_number=str(numbers.get("nossoNumero") or payment.get("nossoNumero") or ""),
        )

    async def cancel_boleto(self, provider_payment_id: str) -> None:
        await self._delete_payment(provider_payment_id)

    async def _delete_payment(self, provider_payment_id: str) -> None:
        """Deletes the payment; done already (a retry whose first answer was lost) is done.
        Asaas refuses it for a payment received (only one awaiting payment or overdue is
        removed)."""
        try:
            await self._client.delete(f"/payments/{provider_payment_id}")
        except AsaasRefused as refused:
            if refused.status != 404:
                raise
            payment = await self._client.get(f"/payments/{provider_payment_id}")
            if not payment.get("deleted"):
                raise

    # --- PIX ------------------------------------------------------------------------------

    async def create_pix(self, order: PaymentOrder) -> PixCharge:
        """The PIX code of the charge's payment: its boleto's when the charge has one here
        (one payment, so either rail pays it once), else a PIX payment's."""
        payment = await self._bill_for(order, "BOLETO" if order.with_boleto else "PIX")
        payment_id = _id_of(payment)
        qr = await self._client.get(f"/payments/{payment_id}/pixQrCode")
        code = qr.get("payload")
        if not isinstance(code, str) or not code:
            raise ProviderUnavailable("Asaas answered a PIX payment without its code")
        txid = _txid(code, payment_id)
        return PixCharge(provider_payment_id=payment_id, txid=txid, pix_code=code)

    async def look_up_pix(self, provider_payment_id: str) -> ReceivedPayment | None:
        payment = await self._client.get(f"/payments/{provider_payment_id}")
        if payment.get("status") not in PAID_STATUSES:
            return None
        return _received(payment)

    async def refund_pix(self, provider_payment_id: str, amount: int | None) -> None:
        await self._refund(provider_payment_id, amount)

    async def cancel_pix(self, provider_payment_id: str) -> None:
        """The PIX code is its payment's (a PIX one, or the charge's boleto): deleted."""
        await self._delete_payment(provider_payment_id)

    # --- cards ----------------------------------------------------------------------------

    async def tokenize_card(self, payer: Payer, card: CardDetails) -> CardToken:
        holder = _holder_info(payer)
        if not card.remote_ip:
            raise ProviderRefused("Asaas needs the payer's IP (remoteIp) to save a card")
        customer_id = await self.customer_for(payer)
        try:
            saved = await self._client.post(
                "/creditCard/tokenizeCreditCard",
                {
                    "customer": customer_id,
                    "creditCard": {
                        "holderName": card.holder_name,
                        "number": card.number,
                        "expiryMonth": f"{card.exp_month:02d}",
                        "expiryYear": f"{card.exp_year:04d}",
                        "ccv": card.cvc,
                    },
                    "creditCardHolderInfo": holder,
                    "remoteIp": card.remote_ip,
                },
            )
        except AsaasRefused as refused:
            decline = card_decline(refused)
            if decline is None:
                raise
            raise CardRefused(*decline) from None  # the cause's request held the card
        token = text_field(saved, "creditCardToken")
        if token is None:
            raise ProviderUnavailable("Asaas saved the card without answering its token")
        return CardToken(
            token=token,
            brand=BRANDS.get(str(saved.get("creditCardBrand", "")).upper(), CardBrand.UNKNOWN),
            last4=str(saved.get("creditCardNumber") or card.number[-4:])[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    async def charge_card(self, order: PaymentOrder, card_token: str) -> CardAttemptResult:
        if not order.remote_ip:
            raise ProviderRefused("Asaas needs the payer's IP (remoteIp) to charge a card")
        paid = await self._existing_payment(order.charge_id, "CREDIT_CARD")
        if paid is not None:
            return _attempt(paid)
        customer_id = await self.customer_for(order.payer)
        today = local_date(self._clock.now(), ASAAS_TIME_ZONE)
        try:
            payment = await self._client.post(
                "/payments",
                {
                    **_payment_body(order, "CREDIT_CARD", customer_id),
                    # A retry day falls after the due date, which Asaas refuses.
                    "dueDate": max(order.due_date, today).isoformat(),
                    "creditCardToken": card_token,
                    "remoteIp": order.remote_ip,
                },
            )
        except AsaasRefused as refused:
            decline = card_decline(refused)
            if decline is None:
                raise
            code, message = decline
            return CardAttemptResult(
                outcome=ChargeOutcome.DECLINED,
                provider_payment_id=None,
                decline_code=code,
                message=message,
            )
        return _attempt(payment)

    async def refund_card(self, provider_payment_id: str, amount: int | None) -> None:
        await self._refund(provider_payment_id, amount)

    # --- reconciliation -------------------------------------------------------------------

    async def received_since(self, since: datetime) -> Sequence[ReceivedPayment]:
        """Payments paid on `since`'s day (in Brazil) or later: Asaas filters by day, so the
        first day is read whole. Boleto, PIX and credited cards carry a paymentDate; a card
        only confirmed has none yet, so the confirmed ones are read apart."""
        day = local_date(since, ASAAS_TIME_ZONE)
        found: dict[str, ReceivedPayment] = {}
        by_payment_date = {"paymentDate[ge]": day.isoformat()}
        for query in (by_payment_date, {"status": "CONFIRMED"}):
            async for payment in self._all_payments(query):
                paid_on = paid_day(payment)
                if payment.get("status") not in PAID_STATUSES or paid_on is None or paid_on < day:
                    continue
                received = _received(payment)
                found.setdefault(received.provider_payment_id, received)
        return list(found.values())

    # --- payments -------------------------------------------------------------------------

    async def _bill_for(self, order: PaymentOrder, billing_type: str) -> Json:
        """The charge's one boleto or PIX payment, as the order asks it: the one a previous
        try made (a lost answer) as it is; the one an earlier order made (another amount, due
        date or rail) updated in place (Asaas's PUT, allowed while it awaits payment); else
        a new one."""
        existing = await self._live_bill(order.charge_id, billing_type)
        if existing is None:
            customer_id = await self.customer_for(order.payer)
            body = _payment_body(order, billing_type, customer_id)
            return await self._client.post("/payments", body)
        if _bill_terms(existing) == (billing_type, order.amount, order.due_date.isoformat()):
            return existing
        update = {
            "billingType": billing_type,
            "value": reais(order.amount),
            "dueDate": order.due_date.isoformat(),
            "description": order.description[:MAX_DESCRIPTION],
        }
        return await self._client.put(f"/payments/{_id_of(existing)}", update)

    async def _live_bill(self, charge_id: str, billing_type: str) -> Json | None:
        """The charge's live boleto or PIX payment (Asaas does not list deleted ones), one of
        `billing_type` first (two were made for one charge before they became one)."""
        found = [
            payment
            async for payment in self._all_payments({"externalReference": charge_id})
            if payment.get("billingType") in BILL_TYPES and not payment.get("deleted")
        ]
        found.sort(key=lambda payment: payment.get("billingType") != billing_type)
        return found[0] if found else None

    async def _existing_payment(self, charge_id: str, billing_type: str) -> Json | None:
        """A live payment of this charge and rail (Asaas does not list deleted ones); for a
        card (the only rail that asks), only one paid or being analysed."""
        query = {"externalReference": charge_id, "billingType": billing_type}
        async for payment in self._all_payments(query):
            if payment.get("deleted"):
                continue
            status = payment.get("status")
            if billing_type == "CREDIT_CARD" and status not in CARD_REUSED_STATUSES:
                continue
            return payment
        return None

    async def _all_payments(self, query: Mapping[str, str]) -> AsyncIterator[Json]:
        offset = 0
        while True:
            page = await self._client.get(
                "/payments", {**query, "offset": offset, "limit": self._page_size}
            )
            items = _page(page)
            for payment in items:
                yield payment
            if not page.get("hasMore") or not items:
                return
            offset += len(items)

    async def _refund(self, provider_payment_id: str, amount: int | None) -> None:
        """A whole refund already made (a retry whose answer was lost) is not asked again.
        A partial one cannot be told from a second partial refund: Asaas takes no key."""
        if amount is None:
            payment = await self._client.get(f"/payments/{provider_payment_id}")
            if payment.get("status") == "REFUNDED":
                return
        body = {} if amount is None else {"value": reais(amount)}
        await self._client.post(f"/payments/{provider_payment_id}/refund", body)


if TYPE_CHECKING:  # mypy checks that the provider is each of the interfaces

    def _interfaces(
        provider: AsaasProvider,
    ) -> tuple[CardGateway, BoletoIssuer, PixProvider, Reconciler]:
        return provider, provider, provider, provider


async def asaas_customer(client: AsaasClient, payer: Payer) -> str:
    """The Asaas customer of this payer: found by its externalReference, else created. The
    payment rails and the fiscal issuer (fiscal/asaas.py) share it."""
    found = await client.get("/customers", {"externalReference": payer.customer_id})
    for customer in _page(found):
        customer_id = text_field(customer, "id")
        if customer_id is not None and not customer.get("deleted"):
            return customer_id
    if not payer.document:
        raise ProviderRefused("Asaas needs the payer's CPF or CNPJ")
    body: dict[str, Any] = {
        "name": payer.name,
        "cpfCnpj": payer.document,
        "externalReference": payer.customer_id,
        # assina sends its own e-mails; Asaas's would repeat them.
        "notificationDisabled": True,
    }
    if payer.email:
        body["email"] = payer.email
    created = await client.post("/customers", body)
    return _id_of(created)


# --- pure helpers ---------------------------------------------------------------------------


def card_decline(refused: AsaasRefused) -> tuple[DeclineCode, str] | None:
    """Why Asaas refused a card, and what the payer reads; None when it refused something
    else (an unknown token, a missing field: a request to fix, not a decline)."""
    descriptions = [e.description for e in refused.errors if e.code in CARD_REFUSED_CODES]
    if not descriptions:
        return None
    text = " ".join(descriptions)
    lowered = text.lower()
    for code, words in DECLINE_WORDS:
        if any(word in lowered for word in words):
            return code, text
    return DeclineCode.GENERIC_DECLINE, text or DECLINE_MESSAGES[DeclineCode.GENERIC_DECLINE]


def _payment_body(order: PaymentOrder, billing_type: str, customer_id: str) -> dict[str, Any]:
    return {
        "customer": customer_id,
        "billingType": billing_type,
        "value": reais(order.amount),
        "dueDate": order.due_date.isoformat(),
        "description": order.description[:MAX_DESCRIPTION],
        "externalReference": order.charge_id,
    }


def _bill_terms(payment: Json) -> tuple[object, int | None, object]:
    """What registration asks of a payment: its billing type, amount and due date."""
    try:
        amount: int | None = centavos(payment.get("value"))
    except ValueError:
        amount = None
    return payment.get("billingType"), amount, payment.get("dueDate")


def _holder_info(payer: Payer) -> dict[str, str]:
    """Asaas's creditCardHolderInfo: every field it requires, or a refusal naming those
    missing (before anything is sent)."""
    fields = {
        "name": payer.name,
        "email": payer.email,
        "cpfCnpj": payer.document,
        "postalCode": payer.postal_code,
        "addressNumber": payer.address_number,
        "phone": payer.phone,
    }
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise ProviderRefused(f"Asaas needs the card holder's {', '.join(missing)}")
    return {name: str(value) for name, value in fields.items()}


def _attempt(payment: Json) -> CardAttemptResult:
    status = payment.get("status")
    outcome = ChargeOutcome.APPROVED if status in PAID_STATUSES else ChargeOutcome.PROCESSING
    return CardAttemptResult(outcome=outcome, provider_payment_id=_id_of(payment))


def _received(payment: Json) -> ReceivedPayment:
    try:
        return received_payment(payment)
    except ValueError as error:
        raise ProviderUnavailable(f"Asaas answered a payment assina cannot read: {error}") from None


def _page(answer: Json) -> list[Json]:
    data = answer.get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _id_of(answer: Json) -> str:
    found = text_field(answer, "id")
    if found is None:
        raise ProviderUnavailable("Asaas answered without the object's id")
    return found


def _digits(value: object) -> str:
    return "".join(char for char in value if char.isdigit()) if isinstance(value, str) else ""


def _txid(code: str, payment_id: str) -> str:
    """The txid the BR Code carries (field 62, sub-field 05), else the payment's id in
    letters and digits: a dynamic code may carry '***' there."""
    try:
        additional = pix.parse_emv(pix.parse_emv(code).get("62", ""))
    except ValueError:
        additional = {}
    txid = additional.get("05", pix.NO_TXID)
    if txid != pix.NO_TXID:
        return txid
    return "".join(char for char in payment_id if char.isascii() and char.isalnum())
