"""Charges registered with the tenant's PIX and boleto providers (payments/registration.py):
the registrations written in the transaction that issued or changed the charges, for the
relay to make with the providers afterwards; and, for charges invalidated or settled, what
the providers made marked for cancelling there (payments/registration_cancel.py)."""

from __future__ import annotations

from assina.events.catalog import EventType
from assina.events.reacting import Emitted
from assina.payments.registration import queue_registrations
from assina.payments.registration_cancel import stop_registrations

# A change of these makes the provider's charge another one: it is registered again.
REGISTERED_FIELDS = frozenset({"amount", "due_date", "payment_method"})
# After these the charge needs no paying: nothing more is registered for it, and what the
# providers made is cancelled there. The payment that settled the charge is left to the
# provider's refusal (a paid PIX charge or payment cannot be cancelled): the settlement's
# event does not say which provider payment paid it.
NO_LONGER_PAYABLE = frozenset({EventType.CHARGE_INVALIDATED, EventType.CHARGE_SETTLED})


async def register_charges(emitted: Emitted) -> None:
    """New charges, reactivated ones (what was made for them was cancelled), and open ones
    whose amount, due date or payment method changed, queued for registration (one
    statement for the batch); for invalidated and settled ones, the pending registrations
    cancelled and the registered ones marked for cancelling at the provider (one statement
    for the batch)."""
    created = [
        event["data"] for event, _row in emitted if event["type"] == EventType.CHARGE_CREATED
    ]
    queued = [
        event["data"]
        for event, _row in emitted
        if event["type"] == EventType.CHARGE_REACTIVATED
        or (
            event["type"] == EventType.CHARGE_UPDATED
            and REGISTERED_FIELDS & set(event["previous"] or {})
        )
    ]
    session, tenant_id, due_at = emitted.session, emitted.tenant_id, emitted.due_at
    await queue_registrations(session, tenant_id, created, due_at, new=True)
    await queue_registrations(session, tenant_id, queued, due_at)
    done_with = [
        event["data"]["id"] for event, _row in emitted if event["type"] in NO_LONGER_PAYABLE
    ]
    await stop_registrations(emitted.session, emitted.tenant_id, done_with, emitted.due_at)
