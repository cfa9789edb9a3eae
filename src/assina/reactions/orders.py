"""Orders paid by their charge's settlement, in the settling transaction (whatever settled it:
by hand, a PIX or boleto notification, the sandbox, a card): each pending order of a settled
charge becomes `paid`, and its recurring items start contracts, one per (interval,
interval_count), from the payment day in the tenant's time zone, their first period counted
as paid by the order's charge (contracts/prepaid.py). A batch of settlements is handled with
one query for the orders, one batch of contracts and one of order events."""

from __future__ import annotations

from assina.contracts.models import PaymentMethod
from assina.contracts.prepaid import PrepaidContract, create_prepaid_contracts
from assina.core.clock import local_date
from assina.events.reacting import Emitted
from assina.orders.moves import PaidOrder, mark_orders_paid, orders_paid_by, recurring_groups
from assina.tenants.service import get_tenant


async def pay_orders(emitted: Emitted) -> None:
    session, tenant_id = emitted.session, emitted.tenant_id
    # Only an order's charge has an order: the others cost no query.
    charge_ids = [event["data"]["id"] for event in emitted.events if event["data"].get("order_id")]
    paid = await orders_paid_by(session, tenant_id, charge_ids)
    if not paid:
        return
    time_zone = (await get_tenant(session, tenant_id)).time_zone
    drafts: list[PrepaidContract] = []
    owners: list[PaidOrder] = []
    for entry in paid:
        order = entry.order
        for group in recurring_groups(order.items):
            owners.append(entry)
            drafts.append(
                PrepaidContract(
                    customer_id=order.customer_id,
                    items=group.items,
                    currency=order.currency,
                    interval=group.interval,
                    interval_count=group.interval_count,
                    start=local_date(entry.paid_at, time_zone),
                    payment_method=PaymentMethod(order.payment_method),
                    metadata={"order_id": order.id},
                )
            )
    today = local_date(emitted.now, time_zone)
    contracts = await create_prepaid_contracts(session, emitted.clock, tenant_id, drafts, today)
    started: dict[str, list[str]] = {entry.order.id: [] for entry in paid}
    for owner, contract in zip(owners, contracts, strict=True):
        started[owner.order.id].append(contract.id)
    await mark_orders_paid(
        session, emitted.clock, tenant_id, [(entry, started[entry.order.id]) for entry in paid]
    )
