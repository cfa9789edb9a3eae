"""Charges registered with the tenant's PIX and boleto providers (payments/registration.py):
the registrations written in the transaction that issued or changed the charges, for the
relay to make with the providers afterwards."""

from __future__ import annotations

from assina.events.catalog import EventType
from assina.events.reacting import Emitted
from assina.payments.registration import cancel_registrations, queue_registrations

# A change of these makes the provider's charge another one: it is registered again.
REGISTERED_FIELDS = frozenset({"amount", "due_date", "payment_method"})


async def register_charges(emitted: Emitted) -> None:
    """New charges, and open ones whose amount, due date or payment method changed, queued
    for registration (one statement for the batch); invalidated ones' pending registrations
    cancelled."""
    queued = [
        event["data"]
        for event, _row in emitted
        if event["type"] == EventType.CHARGE_CREATED
        or (
            event["type"] == EventType.CHARGE_UPDATED
            and REGISTERED_FIELDS & set(event["previous"] or {})
        )
    ]
    await queue_registrations(emitted.session, emitted.tenant_id, queued, emitted.due_at)
    invalidated = [
        event["data"]["id"]
        for event, _row in emitted
        if event["type"] == EventType.CHARGE_INVALIDATED
    ]
    await cancel_registrations(emitted.session, emitted.tenant_id, invalidated)
