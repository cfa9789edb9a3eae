"""Reading Asaas's webhooks: the `asaas-access-token` header against the tenant's webhook
token (Asaas signs nothing: the token it was given comes back in every delivery), then the
event.

PAYMENT_CONFIRMED and PAYMENT_RECEIVED are money arrived; both carry the event id derived from
the payment (payment.py), so a card's CONFIRMED and its RECEIVED, weeks later, settle its
charge once, as does a redelivery. PAYMENT_CREDIT_CARD_CAPTURE_REFUSED and
PAYMENT_REPROVED_BY_RISK_ANALYSIS are a card declined; every other event is read and kept,
and changes nothing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from assina.payments.asaas.payment import received_payment, text_field
from assina.payments.providers import (
    DeclinedPayment,
    IgnoredNotification,
    InboundReader,
    Notification,
    NotificationRefused,
)
from assina.rules.cards import DECLINE_MESSAGES, DeclineCode

TOKEN_HEADER = "asaas-access-token"  # noqa: S105  (a header's name)
RECEIVED_EVENTS = frozenset({"PAYMENT_CONFIRMED", "PAYMENT_RECEIVED"})
# A card payment refused after it was created: its capture failed, or the risk analysis that
# held it (AWAITING_RISK_ANALYSIS) refused it.
DECLINED_EVENTS = frozenset(
    {"PAYMENT_CREDIT_CARD_CAPTURE_REFUSED", "PAYMENT_REPROVED_BY_RISK_ANALYSIS"}
)


class AsaasInboundReader:
    """The InboundReader of Asaas: `secret` is the tenant's webhook token (the webhook's
    `authToken` in Asaas). Pure: no I/O."""

    def read_notifications(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: str,
        now: datetime | None = None,  # Asaas signs no time: a token, not a signature, to check
    ) -> Sequence[Notification]:
        verify_token(headers, secret)
        return [read_event(_event_object(body))]


if TYPE_CHECKING:  # mypy checks that the reader is an InboundReader
    _reader: InboundReader = AsaasInboundReader()


def verify_token(headers: Mapping[str, str], secret: str) -> None:
    """NotificationRefused (unauthenticated) unless the header equals the token, compared in
    constant time. An empty token verifies nothing."""
    sent = next((v for k, v in headers.items() if k.lower() == TOKEN_HEADER), None)
    if sent is None:
        raise NotificationRefused(f"the {TOKEN_HEADER} header is missing", unauthenticated=True)
    if not secret or not hmac.compare_digest(sent.encode(), secret.encode()):
        raise NotificationRefused(f"the {TOKEN_HEADER} header is wrong", unauthenticated=True)


def read_event(event: Mapping[str, Any]) -> Notification:
    """One Asaas event as assina's notification (NotificationRefused when malformed)."""
    event_id, kind = text_field(event, "id"), text_field(event, "event")
    if event_id is None or kind is None:
        raise _malformed("an Asaas event has an `id` and an `event`")
    payment = event.get("payment")
    if payment is not None and not isinstance(payment, dict):
        raise _malformed("the event's `payment` is not an object")
    if kind in RECEIVED_EVENTS | DECLINED_EVENTS and payment is None:
        raise _malformed(f"{kind} without its `payment`")
    payment_id = None if payment is None else text_field(payment, "id")
    charge_id = None if payment is None else text_field(payment, "externalReference")
    if payment is not None and kind in RECEIVED_EVENTS:
        try:
            return received_payment(payment)
        except ValueError as error:
            raise _malformed(f"{kind}: {error}") from None
    if kind in DECLINED_EVENTS and payment_id is not None:
        # Asaas says no more than "refused" here: the generic reason.
        code = DeclineCode.GENERIC_DECLINE
        return DeclinedPayment(
            event_id=event_id,
            provider_payment_id=payment_id,
            charge_id=charge_id,
            decline_code=code,
            message=DECLINE_MESSAGES[code],
        )
    if kind in DECLINED_EVENTS:
        raise _malformed(f"{kind} without the payment's id")
    return IgnoredNotification(
        event_id=event_id, kind=kind, provider_payment_id=payment_id, charge_id=charge_id
    )


def _event_object(body: bytes) -> Mapping[str, Any]:
    try:
        parsed = json.loads(body, parse_float=Decimal)  # amounts exactly, never as floats
    except (ValueError, UnicodeDecodeError):
        raise _malformed("the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise _malformed("the body is not a JSON object")
    return parsed


def _malformed(detail: str) -> NotificationRefused:
    return NotificationRefused(detail, unauthenticated=False)
