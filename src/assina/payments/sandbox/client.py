"""assina's side of the sandbox provider: the HTTP client that calls it (a card gateway, a PIX
provider, a boleto issuer and a reconciler, plus the test control that makes it receive a
payment) and the reader of its
signed notifications."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from assina.payments.providers import (
    CardAttemptResult,
    CardDetails,
    CardRefused,
    CardToken,
    DeclinedPayment,
    IgnoredNotification,
    Notification,
    NotificationRefused,
    Payer,
    PaymentOrder,
    PaymentRail,
    PixCharge,
    ProviderRefused,
    ProviderUnavailable,
    ReceivedPayment,
    RegisteredBoleto,
)
from assina.payments.sandbox.signing import (
    SIGNATURE_HEADER,
    notification_event_id,
    signature_valid,
)
from assina.rules.cards import DECLINE_MESSAGES, CardBrand, ChargeOutcome, DeclineCode

if TYPE_CHECKING:
    import aiohttp

REQUEST_TIMEOUT_SECONDS = 15.0


class SandboxClient:
    """Calls the sandbox provider at `base_url` as one tenant's account."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, account_key: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {account_key}"}

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        import aiohttp  # aiohttp (~0.3 s to import) only once a call is made

        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        try:
            async with self._http.request(
                method, self._base + path, headers=self._headers, timeout=timeout, **kwargs
            ) as answer:
                body = await answer.json(content_type=None)
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise ProviderUnavailable(f"the sandbox provider did not answer: {error!r}") from error
        if status >= 500 or status == 429:
            raise ProviderUnavailable(f"the sandbox provider answered {status}")
        return status, body

    async def _created(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        status, answer = await self._call("POST", path, json=body)
        if status != 201:
            raise ProviderRefused(_error_message(answer))
        return dict(answer)

    async def record_payment(
        self, charge_id: str, method: str, amount: int, paid_at: datetime, notify_url: str | None
    ) -> dict[str, Any]:
        """Test control: the payer paid `amount` for the charge by boleto or PIX. The same
        call made again (same charge, method, amount and time) records it once."""
        key = f"{charge_id}:{method}:{amount}:{paid_at.isoformat()}"
        body = {
            "charge_id": charge_id,
            "method": method,
            "amount": amount,
            "paid_at": paid_at.isoformat(),
            "notification_url": notify_url,
            "idempotency_key": key,
        }
        return await self._created("/v1/payments", body)

    # --- card gateway -------------------------------------------------------------------------

    async def tokenize_card(self, payer: Payer, card: CardDetails) -> CardToken:
        body = {
            "number": card.number,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "cvc": card.cvc,
            "holder_name": card.holder_name,
        }
        status, answer = await self._call("POST", "/v1/cards", json=body)
        if status == 402:  # a test card the sandbox refuses to keep: its decline code
            raise _card_refused(answer)
        if status != 201:
            raise ProviderRefused(_error_message(answer))
        return _card_token(answer)

    async def card_of_token(self, token: str) -> CardToken:
        """What the sandbox's token says of its card (a token made in the payer's browser);
        ProviderRefused for a token the sandbox did not make."""
        status, answer = await self._call("GET", f"/v1/cards/{quote(token, safe='')}")
        if status != 200:
            raise ProviderRefused(_error_message(answer))
        return _card_token(answer)

    async def charge_card(self, order: PaymentOrder, card_token: str) -> CardAttemptResult:
        """One charge of a saved card; the sandbox records the order's `requested_at` (the
        tenant's now) as the payment's time."""
        body = {
            "card_token": card_token,
            "charge_id": order.charge_id,
            "amount": order.amount,
            "paid_at": order.requested_at.isoformat(),
            "notification_url": order.notification_url,
            "idempotency_key": order.idempotency_key,
        }
        answer = await self._created("/v1/card-payments", body)
        return _card_attempt(answer)

    async def refund_card(self, provider_payment_id: str, amount: int | None) -> None:
        """The whole payment given back (a card's or a PIX transfer's): the sandbox refunds
        no part of one."""
        if amount is not None:
            raise ProviderRefused("the sandbox refunds whole payments only")
        status, answer = await self._call("POST", f"/v1/payments/{provider_payment_id}/refund")
        if status != 200:
            raise ProviderRefused(_error_message(answer))

    # --- PIX provider and boleto issuer ---------------------------------------------------------

    async def _made(self, path: str, order: PaymentOrder) -> dict[str, Any]:
        """A PIX charge or a boleto for the order: 201 when made now, 200 when the same
        idempotency key made it before."""
        body = {
            "charge_id": order.charge_id,
            "amount": order.amount,
            "due_date": order.due_date.isoformat(),
            "idempotency_key": order.idempotency_key,
        }
        status, answer = await self._call("POST", path, json=body)
        if status not in {200, 201}:
            raise ProviderRefused(_error_message(answer))
        return dict(answer)

    async def create_pix(self, order: PaymentOrder) -> PixCharge:
        answer = await self._made("/v1/pix-charges", order)
        return PixCharge(answer["id"], answer["txid"], answer["pix_code"])

    async def look_up_pix(self, provider_payment_id: str) -> ReceivedPayment | None:
        path = f"/v1/pix-charges/{quote(provider_payment_id, safe='')}"
        status, answer = await self._call("GET", path)
        if status != 200:
            raise ProviderRefused(_error_message(answer))
        payment = answer.get("payment")
        if answer["status"] != "paid" or not payment:
            return None
        return _received(payment, notification_event_id(payment))

    async def refund_pix(self, provider_payment_id: str, amount: int | None) -> None:
        """The payment that paid the PIX charge, given back whole."""
        path = f"/v1/pix-charges/{quote(provider_payment_id, safe='')}"
        status, answer = await self._call("GET", path)
        if status != 200 or not answer.get("payment_id"):
            raise ProviderRefused("the PIX charge was not paid")
        await self.refund_card(answer["payment_id"], amount)

    async def register_boleto(self, order: PaymentOrder) -> RegisteredBoleto:
        answer = await self._made("/v1/boletos", order)
        return RegisteredBoleto(
            provider_payment_id=answer["id"],
            boleto_line=answer["boleto_line"],
            boleto_barcode=answer["boleto_barcode"],
            our_number=answer["our_number"],
        )

    async def cancel_boleto(self, provider_payment_id: str) -> None:
        await self._cancel(f"/v1/boletos/{quote(provider_payment_id, safe='')}/cancel")

    async def cancel_pix(self, provider_payment_id: str) -> None:
        await self._cancel(f"/v1/pix-charges/{quote(provider_payment_id, safe='')}/cancel")

    async def _cancel(self, path: str) -> None:
        """A PIX charge or boleto no longer payable: 200 (again: 200); paid: 409, refused."""
        status, answer = await self._call("POST", path)
        if status != 200:
            raise ProviderRefused(_error_message(answer))

    # --- reconciliation -----------------------------------------------------------------------

    async def received_since(self, since: datetime) -> Sequence[ReceivedPayment]:
        status, answer = await self._call(
            "GET", "/v1/payments", params={"received_since": since.isoformat()}
        )
        if status != 200:
            raise ProviderRefused(_error_message(answer))
        return [_received(payment, notification_event_id(payment)) for payment in answer["data"]]


def _error_message(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return str(answer["error"].get("message") or answer["error"].get("code"))
    return "the sandbox provider refused the request"


def _card_refused(answer: Any) -> CardRefused:
    error = answer.get("error") if isinstance(answer, dict) else None
    sent = error.get("code") if isinstance(error, dict) else None
    known = {code.value for code in DeclineCode}
    code = DeclineCode(sent) if sent in known else DeclineCode.GENERIC_DECLINE
    return CardRefused(code, DECLINE_MESSAGES[code])


def _card_token(answer: Mapping[str, Any]) -> CardToken:
    return CardToken(
        token=answer["token"],
        brand=CardBrand(answer["brand"]),
        last4=answer["last4"],
        exp_month=answer["exp_month"],
        exp_year=answer["exp_year"],
    )


def _card_attempt(answer: Mapping[str, Any]) -> CardAttemptResult:
    status = answer["status"]
    if status == "received":
        return CardAttemptResult(ChargeOutcome.APPROVED, answer["id"])
    if status == "processing":
        return CardAttemptResult(ChargeOutcome.PROCESSING, answer["id"])
    code = DeclineCode(answer["decline_code"])
    return CardAttemptResult(ChargeOutcome.DECLINED, answer["id"], code, DECLINE_MESSAGES[code])


def _received(payment: Mapping[str, Any], event_id: str) -> ReceivedPayment:
    return ReceivedPayment(
        event_id=event_id,
        provider_payment_id=payment["id"],
        charge_id=payment["charge_id"],
        rail=PaymentRail(payment["method"]),
        amount=int(payment["amount"]),
        paid_at=datetime.fromisoformat(payment["paid_at"]),
        end_to_end_id=payment.get("end_to_end_id"),
    )


class SandboxInboundReader:
    """Reads the sandbox's notifications: `sandbox-signature` checked against the tenant's
    notification secret within five minutes of `now`, then the JSON body."""

    def read_notifications(
        self, headers: Mapping[str, str], body: bytes, secret: str, now: datetime
    ) -> Sequence[Notification]:
        header = headers.get(SIGNATURE_HEADER)
        if header is None or not signature_valid(secret, header, body, int(now.timestamp())):
            raise NotificationRefused("the sandbox-signature does not verify", unauthenticated=True)
        try:
            return [_notification(json.loads(body))]
        except (ValueError, KeyError, TypeError) as error:
            raise NotificationRefused(
                f"not a sandbox notification: {error!r}", unauthenticated=False
            ) from error


def _notification(body: Mapping[str, Any]) -> Notification:
    event_id, kind, payment = str(body["id"]), str(body["type"]), body["data"]
    if kind == "payment.received":
        return _received(payment, event_id)
    if kind == "payment.declined":
        code = DeclineCode(payment["decline_code"])
        return DeclinedPayment(
            event_id, payment["id"], payment.get("charge_id"), code, DECLINE_MESSAGES[code]
        )
    return IgnoredNotification(event_id, kind, payment.get("id"), payment.get("charge_id"))
