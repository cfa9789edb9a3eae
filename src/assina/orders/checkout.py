"""The checkout in one call, as Superlógica's: the customer found by its document (or
created), the order created, and with a card, the card saved and charged at once.

Steps, each its own transaction or provider call (a provider is never called with a
transaction open, as saving a card and paying now do on their own):

1. the customer and the order, in one transaction: a customer found by its document (its
   digits, within the tenant) is used as it is, not changed; else it is created
   (`customer.created`, customers/service.py). Anything wrong with the input is a 4xx here,
   and nothing is written;
2. with a card: saved as POST /v1/customers/{id}/cards saves it (payments/cards.py);
3. then one attempt on it for the order's charge, as POST /v1/charges/{id}/pay makes it
   (payments/card_payment.py): approved settles the charge, which pays the order in the
   same transaction (reactions/orders.py).

A card that cannot be saved or charged does not undo the order: the answer says why
(`card_error`), and the order stays pending, to be paid another way or to expire.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import Problem, invalid
from assina.customers.models import Customer
from assina.customers.service import create_customer
from assina.db.database import Database
from assina.orders.schemas import CheckoutCustomer, CheckoutIn, CheckoutOut, OrderCreate, OrderOut
from assina.orders.service import create_order, get_order
from assina.payments.card_payment import CardPayment, pay_by_card_now
from assina.payments.card_schemas import CardIn
from assina.payments.cards import NUMBER_OUTSIDE_SANDBOX, CardToSave, save_card
from assina.payments.connections import ProviderConnections
from assina.payments.schemas import CardAttemptOut
from assina.tenants.service import TenantContext


@dataclass(frozen=True)
class CheckoutCall:
    """Who checks out, and from where: the tenant, its clock, the base URL the sandbox
    notifies and the payer's address (kept with a saved card)."""

    tenant: TenantContext
    clock: Clock
    base_url: str
    payer_ip: str | None


async def checkout(
    database: Database, connections: ProviderConnections, call: CheckoutCall, params: CheckoutIn
) -> CheckoutOut:
    card = params.card_to_save()
    if card is not None and card.number is not None and not call.tenant.sandbox:
        raise invalid("card.number", NUMBER_OUTSIDE_SANDBOX)
    tenant_id = call.tenant.tenant_id
    async with database.write() as session:
        customer, created = await found_or_created(session, call.clock, tenant_id, params.customer)
        order = await create_order(session, call.clock, tenant_id, _order_of(customer.id, params))
        shown = OrderOut.of(order)
    answer = CheckoutOut(
        order=shown,
        customer_id=customer.id,
        customer_created=created,
        card_id=None,
        card_attempt=None,
        card_error=None,
    )
    if card is None or shown.charge_id is None:
        return answer
    return await _pay_by_card(database, connections, call, answer, card)


async def found_or_created(
    session: AsyncSession, clock: Clock, tenant_id: str, wanted: CheckoutCustomer
) -> tuple[Customer, bool]:
    """The tenant's oldest customer with the document's digits, unchanged; else a new one.
    True when it was created."""
    found = await session.scalar(
        select(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.document == wanted.document)
        .order_by(Customer.id)
        .limit(1)
    )
    if found is not None:
        return found, False
    return await create_customer(session, clock, tenant_id, wanted), True


def _order_of(customer_id: str, params: CheckoutIn) -> OrderCreate:
    return OrderCreate(
        customer_id=customer_id,
        items=params.items,
        payment_method=params.payment_method,
        due_date=params.due_date,
        metadata=params.metadata,
    )


async def _pay_by_card(
    database: Database,
    connections: ProviderConnections,
    call: CheckoutCall,
    answer: CheckoutOut,
    card: CardIn,
) -> CheckoutOut:
    tenant_id = call.tenant.tenant_id
    wanted = CardToSave(call.tenant, answer.customer_id, card, call.payer_ip)
    try:
        saved = await save_card(database, call.clock, connections, wanted)
    except Problem as refused:
        return answer.model_copy(update={"card_error": refused.body()})
    payment = CardPayment(
        tenant_id=tenant_id,
        time_zone=call.tenant.time_zone,
        clock=call.clock,
        charge_id=answer.order.charge_id or "",
        card_id=saved.id,
        base_url=call.base_url,
    )
    attempt: CardAttemptOut | None = None
    error = None
    try:
        attempt = (await pay_by_card_now(database, connections, payment)).attempt
    except Problem as refused:
        error = refused.body()
    async with database.read() as session:
        order = OrderOut.of(await get_order(session, tenant_id, answer.order.id))
    changes = {"order": order, "card_id": saved.id, "card_attempt": attempt, "card_error": error}
    return answer.model_copy(update=changes)
