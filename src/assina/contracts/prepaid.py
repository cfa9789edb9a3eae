"""Contracts whose first period is already paid: what an order's payment starts for its
recurring items (orders/, through reactions/orders.py).

Such a contract is `active` from `start` (the payment day), with no trial and no stub: it is
billed from `start` itself (`billing_day` is its day of the month), and its period 0, which
the order's charge paid, counts as charged (`next_period = 1`), so the calendar's next charge
is the second period's. Its items are taken as the order stored them: the products' terms
when the order was made, whatever happened to the products since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from assina.contracts.models import Contract, ContractStatus, PaymentMethod
from assina.contracts.schemas import ContractOut
from assina.core.clock import Clock
from assina.core.ids import new_id
from assina.events.catalog import EventType
from assina.events.service import Change, emit_events
from assina.rules.periods import Interval, first_billing_date
from assina.tenants.counters import Counter, reserve_values

# The period the order's charge paid.
PAID_PERIODS = 1


@dataclass(frozen=True)
class PrepaidContract:
    """One contract to start: items of one interval and currency, from `start`."""

    customer_id: str
    items: Sequence[dict[str, Any]]  # product_id, description, quantity, amount (unit)
    currency: str
    interval: Interval
    interval_count: int
    start: date
    payment_method: PaymentMethod
    metadata: dict[str, str] = field(default_factory=dict)


async def create_prepaid_contracts(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    drafts: Sequence[PrepaidContract],
    today: date,
) -> list[Contract]:
    """The contracts, their numbers reserved in one statement, written together, and their
    `contract.created` emitted as one batch. Returns them in the drafts' order."""
    if not drafts:
        return []
    first = await reserve_values(session, tenant_id, Counter.CONTRACT_NUMBER, len(drafts))
    now = clock.now()
    contracts = [
        _prepaid(tenant_id, first + offset, draft, today, now)
        for offset, draft in enumerate(drafts)
    ]
    session.add_all(contracts)
    await session.flush()
    changes = [Change(ContractOut.of(c, today), c.customer_id) for c in contracts]
    await emit_events(
        session,
        clock,
        tenant_id,
        EventType.CONTRACT_CREATED,
        changes,
        now=now,
        due_at=clock.real_now(),
    )
    return contracts


def _prepaid(
    tenant_id: str, number: int, draft: PrepaidContract, today: date, now: datetime
) -> Contract:
    items = [dict(item) for item in draft.items]
    billing_day = draft.start.day
    return Contract(
        id=new_id("ctr"),
        tenant_id=tenant_id,
        number=number,
        customer_id=draft.customer_id,
        items=items,
        amount=sum(int(item["quantity"]) * int(item["amount"]) for item in items),
        currency=draft.currency,
        status=ContractStatus.ACTIVE,
        interval=draft.interval.value,
        interval_count=draft.interval_count,
        billing_day=billing_day,
        start_date=draft.start,
        trial_end=None,
        anchor_date=first_billing_date(draft.start, billing_day, draft.interval),
        next_period=PAID_PERIODS,
        stub_amount=0,
        payment_method=draft.payment_method,
        pending_adjustment=0,
        readjustment_index=None,
        last_readjusted_on=None,
        next_step_on=today,  # the calendar sets its own next step on its next pass
        cancel_at_period_end=False,
        cancelled_at=None,
        cancel_reason=None,
        status_reason=None,
        dunning_exempt=False,
        metadata_=dict(draft.metadata),
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )
