"""The e-mails an event sends the customer at once: the charge to pay, the receipt, a declined
card (with the payment page's link, to update the card or pay another way), an issued nota
fiscal (its PDF attached when sent). The reminders, overdue and suspension notices are the
dunning policy's (dunning/steps.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge
from assina.charges.service import ZERO_SETTLEMENT_METHOD
from assina.customers.models import Customer
from assina.db.shapes import one_of, rows_by_id
from assina.events.reacting import Emitted
from assina.fiscal.models import FiscalInvoice
from assina.notifications.models import EmailKind
from assina.notifications.outbox import Notice, email_context, queue_emails


async def charge_created_email(emitted: Emitted) -> None:
    """`charge_created` for each new charge with something to pay (unless the tenant does
    not send the kind: then not even the customers are read). Queued with what renders it,
    rendered when sent (notifications/rendering.py): one query for the customers' addresses
    and one INSERT for the batch, no object per charge."""
    to_pay = [event["data"] for event, _row in emitted if event["data"]["amount"] > 0]
    if not to_pay:
        return
    session, tenant_id = emitted.session, emitted.tenant_id
    context = await email_context(session, tenant_id, EmailKind.CHARGE_CREATED)
    if context.disabled:
        return
    addresses = await _addresses(session, tenant_id, {data["customer_id"] for data in to_pay})
    notices = [
        Notice(data["customer_id"], addresses[data["customer_id"]], charge_id=data["id"])
        for data in to_pay
    ]
    await queue_emails(
        session,
        tenant_id,
        EmailKind.CHARGE_CREATED,
        notices,
        emitted.now,
        context,
        due_at=emitted.due_at,
    )


async def receipt_email(emitted: Emitted) -> None:
    """`receipt` for each settlement, except a charge of 0 settled as it was issued: nothing
    was received. One query for the customers and one INSERT for a batch of settlements."""
    session, tenant_id = emitted.session, emitted.tenant_id
    charges = [await subject_charge(session, event, row) for event, row in emitted]
    received = [c for c in charges if c.settlement_method != ZERO_SETTLEMENT_METHOD]
    if not received:
        return
    context = await email_context(session, tenant_id, EmailKind.RECEIPT)
    if context.disabled:
        return
    customers = await _customers(session, tenant_id, {charge.customer_id for charge in received})
    notices = [
        Notice.of(customers[charge.customer_id], charge)
        for charge in received
        if charge.customer_id in customers
    ]
    await queue_emails(
        session, tenant_id, EmailKind.RECEIPT, notices, emitted.now, context, due_at=emitted.due_at
    )


async def card_declined_email(emitted: Emitted) -> None:
    """`card_declined` for each declined attempt, with the attempt's card and message; its
    default template carries the charge's payment page, where the customer saves another card
    or pays by PIX or boleto. One INSERT for a batch of declines (a calendar pass's)."""
    session, tenant_id = emitted.session, emitted.tenant_id
    context = await email_context(session, tenant_id, EmailKind.CARD_DECLINED)
    if context.disabled:
        return
    declined = [event["data"] for event, _row in emitted]
    customers = await _customers(session, tenant_id, {data["customer_id"] for data in declined})
    notices: list[Notice] = []
    for data in declined:
        charge = await session.get(Charge, data["charge_id"])  # in the session: no query
        customer = customers.get(data["customer_id"])
        if charge is None or customer is None:
            continue
        decline = {
            "message": data["message"],
            "attempt": data["attempt"],
            "card_brand": data["card"]["brand"],
            "card_last4": data["card"]["last4"],
        }
        notices.append(Notice.of(customer, charge, extra={"decline": decline}))
    await queue_emails(
        session,
        tenant_id,
        EmailKind.CARD_DECLINED,
        notices,
        emitted.now,
        context,
        due_at=emitted.due_at,
    )


async def fiscal_invoice_email(emitted: Emitted) -> None:
    """`fiscal_invoice` for each nota fiscal issued, about its charge; keyed on the invoice,
    so that it is queued once. The issuer relay recorded the invoices in this session (no
    query); one query for their charges, one for the customers, one INSERT for the batch."""
    session, tenant_id = emitted.session, emitted.tenant_id
    context = await email_context(session, tenant_id, EmailKind.FISCAL_INVOICE)
    if context.disabled:
        return
    invoices = [await session.get(FiscalInvoice, event["data"]["id"]) for event, _ in emitted]
    issued = [invoice for invoice in invoices if invoice is not None]
    charges = await rows_by_id(session, Charge, tenant_id, {i.charge_id for i in issued})
    customers = await _customers(session, tenant_id, {invoice.customer_id for invoice in issued})
    notices = [
        Notice.of(
            customers[invoice.customer_id],
            charges[invoice.charge_id],
            notice_key=f"fiscal_invoice:{invoice.id}",
            fiscal_invoice=invoice,
        )
        for invoice in issued
        if invoice.customer_id in customers and invoice.charge_id in charges
    ]
    await queue_emails(
        session,
        tenant_id,
        EmailKind.FISCAL_INVOICE,
        notices,
        emitted.now,
        context,
        due_at=emitted.due_at,
    )


async def subject_charge(
    session: AsyncSession, event: Mapping[str, Any], row: Mapping[str, Any] | None
) -> Charge:
    """The charge a `charge.*` event is about: from its row written in bulk (a transient
    object, never added to the session), else from the session, where the emitter put it."""
    if row is not None:
        return Charge(**row)
    charge = await session.get(Charge, event["data"]["id"])
    if charge is None:
        raise LookupError(f"the charge of event {event['id']} is not in the session")
    return charge


async def _customers(
    session: AsyncSession, tenant_id: str, customer_ids: Collection[str]
) -> dict[str, Customer]:
    if len(customer_ids) == 1:  # one charge's: in the session already, no query
        (customer_id,) = customer_ids
        customer = await session.get(Customer, customer_id)
        return {customer_id: customer} if customer is not None else {}
    return await rows_by_id(session, Customer, tenant_id, customer_ids)


async def _addresses(
    session: AsyncSession, tenant_id: str, customer_ids: Collection[str]
) -> dict[str, str | None]:
    """The customers' e-mail addresses, by id (None: the customer has none)."""
    found = await session.execute(
        select(Customer.id, Customer.email).where(
            Customer.tenant_id == tenant_id, one_of(Customer.id, customer_ids)
        )
    )
    return {customer_id: email for customer_id, email in found.all()}
