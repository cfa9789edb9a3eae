"""Asaas's payment object, read the same way from a webhook and from the API: its amount in
centavos (exactly), its rail, the day it was paid, and the `ReceivedPayment` it means.

A received payment's `event_id` is derived from Asaas's payment id, not from the webhook's
event id: PAYMENT_CONFIRMED (a card approved) and PAYMENT_RECEIVED (its money credited, days
later) name the same payment, and so does reconciliation, which never sees an event. One id
for all three makes the money settle once, whichever arrives first (docs/payments.md, "The
Asaas adapter").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from assina.core.clock import local_instant
from assina.payments.providers import PaymentRail, ReceivedPayment

# Asaas writes its dates in Brazil's time (docs/payments.md).
ASAAS_TIME_ZONE = ZoneInfo("America/Sao_Paulo")
# The statuses of a payment whose money arrived: CONFIRMED is a card approved whose money is
# not yet available, which assina counts as paid (the payer cannot take it back but by a
# chargeback, which comes as its own event).
PAID_STATUSES = frozenset({"CONFIRMED", "RECEIVED", "RECEIVED_IN_CASH"})
RAILS: Mapping[str, PaymentRail] = {
    "BOLETO": PaymentRail.BOLETO,
    "PIX": PaymentRail.PIX,
    "CREDIT_CARD": PaymentRail.CARD,
    "DEBIT_CARD": PaymentRail.CARD,
}
# The day the payer paid, best first: clientPaymentDate is the payer's own day.
PAID_DAY_FIELDS = ("clientPaymentDate", "paymentDate", "confirmedDate")


def received_event_id(payment_id: str) -> str:
    return f"asaas:{payment_id}:received"


def centavos(value: object) -> int:
    """Reais as Asaas writes them (a JSON number, read as Decimal) in centavos, exactly:
    ValueError for anything else or for a fraction of a centavo."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"an amount in reais is a number, not {type(value).__name__}")
    amount = Decimal(value) * 100
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise ValueError(f"{value} reais is not a whole number of centavos")
    return int(amount)


def reais(amount: int) -> float:
    """Centavos as the JSON number Asaas reads (12990 → 129.9). An integer divided by 100 is
    the double nearest to the decimal, and json writes the shortest text that reads back to
    it, so the text is the decimal itself: checked, never assumed."""
    value = amount / 100
    if Decimal(repr(value)) * 100 != amount:
        raise ValueError(f"{amount} centavos do not survive as a JSON number")
    return value


def rail_of(billing_type: object) -> PaymentRail:
    """How a payment was paid. A BOLETO payment paid by its PIX code may still say BOLETO,
    and an UNDEFINED one the payer has not chosen yet: both count as boleto."""
    return RAILS.get(billing_type if isinstance(billing_type, str) else "", PaymentRail.BOLETO)


def text_field(payment: Mapping[str, Any], name: str) -> str | None:
    value = payment.get(name)
    return value if isinstance(value, str) and value else None


def paid_day(payment: Mapping[str, Any]) -> date | None:
    for name in PAID_DAY_FIELDS:
        value = text_field(payment, name)
        if value is not None:
            return date.fromisoformat(value[:10])
    return None


def paid_at(payment: Mapping[str, Any]) -> datetime:
    """Asaas gives the day of a payment, not its time: the start of that day in Brazil."""
    day = paid_day(payment)
    if day is None:
        raise ValueError("the payment has no payment date")
    return local_instant(day, ASAAS_TIME_ZONE)


def received_payment(payment: Mapping[str, Any]) -> ReceivedPayment:
    """The money a paid payment object says arrived (ValueError when it is not one)."""
    payment_id = text_field(payment, "id")
    if payment_id is None:
        raise ValueError("the payment has no id")
    return ReceivedPayment(
        event_id=received_event_id(payment_id),
        provider_payment_id=payment_id,
        charge_id=text_field(payment, "externalReference"),
        rail=rail_of(payment.get("billingType")),
        amount=centavos(payment.get("value")),
        paid_at=paid_at(payment),
    )
