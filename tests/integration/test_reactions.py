"""The reactions table (reactions/table.py): what follows an event happens in the event's own
transaction, in a defined order, events emitted by a reaction are reacted to as well, and a
rollback leaves none of it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges import service as charges
from assina.charges import settlement
from assina.charges.schemas import ChargeCreate, ChargeItemIn, ChargeSettle, ChargeUpdate
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.customers import service as customers
from assina.customers.models import Customer
from assina.customers.schemas import CustomerCreate
from assina.db.database import Database
from assina.events import reacting
from assina.events.models import Event
from assina.notifications.models import Email
from assina.reactions.table import REACTIONS, STEPS
from assina.webhooks.models import WebhookMessage
from assina.webhooks.schemas import EndpointCreate
from assina.webhooks.service import create_endpoint
from tests.conftest import make_tenant

DUE = date(2026, 1, 20)  # the frozen clock starts on 2026-01-15
MOVED_DUE = date(2026, 1, 19)
LATER = timedelta(days=10)  # 2026-01-25: the charge is overdue


class Boom(Exception):
    pass


def test_every_row_of_the_table_runs_in_step_order() -> None:
    for event_type, row in REACTIONS.items():
        assert list(row) == sorted(row, key=STEPS.index), event_type


async def test_emitting_with_no_reactions_installed_fails_loudly(
    database: Database, clock: FrozenClock, secret_box: SecretBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await make_tenant(database, clock, secret_box, "Escola Alfa")
    monkeypatch.setattr(reacting, "_installed", None)
    with pytest.raises(RuntimeError, match="no reactions installed"):
        async with database.write() as session:
            await customers.create_customer(session, clock, tenant.tenant_id, _ana())


def _ana() -> CustomerCreate:
    return CustomerCreate(name="Ana", email="ana@example.com")


async def _overdue_customer(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> tuple[str, str, str]:
    """A tenant with an endpoint taking every event, and a customer made delinquent, once
    its charge is overdue, by that charge's due date moved (`charge.updated`): (tenant,
    customer, charge)."""
    tenant = await make_tenant(database, clock, secret_box, "Escola Alfa")
    hook = EndpointCreate(url="http://127.0.0.1:9/hook", event_types=["*"])
    async with database.write() as session:
        await create_endpoint(session, clock, secret_box, tenant.tenant_id, hook, True, 1)
        customer = await customers.create_customer(session, clock, tenant.tenant_id, _ana())
        line = ChargeItemIn(description="Mensalidade", amount=19990)
        created = ChargeCreate(customer_id=customer.id, items=[line], due_date=DUE)
        charge = await charges.create_charge(session, clock, tenant.tenant_id, created)
    clock.advance(LATER)
    async with database.write() as session:
        moved = ChargeUpdate(due_date=MOVED_DUE)
        await charges.update_charge(session, clock, tenant.tenant_id, charge.id, moved)
    return tenant.tenant_id, customer.id, charge.id


async def _since(session: AsyncSession, tenant_id: str, after: int) -> list[Event]:
    found = await session.scalars(
        select(Event)
        .where(Event.tenant_id == tenant_id, Event.sequence > after)
        .order_by(Event.sequence)
    )
    return list(found)


async def _messages(session: AsyncSession, events: list[Event]) -> list[str]:
    """The event ids of the events' webhook messages, in the order they were written."""
    found = await session.scalars(
        select(WebhookMessage.event_id)
        .where(WebhookMessage.event_id.in_([event.id for event in events]))
        .order_by(WebhookMessage.id)
    )
    return list(found)


async def _emails(session: AsyncSession, tenant_id: str) -> list[str]:
    found = await session.scalars(
        select(Email.kind).where(Email.tenant_id == tenant_id).order_by(Email.id)
    )
    return list(found)


async def test_a_reaction_emitting_events_has_them_reacted_to(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    """`charge.created`: its message and the `charge_created` e-mail. `charge.updated` (the
    due date moved, overdue): its message, then the dunning policy's move, whose
    `customer.status_changed` gets its own message, after the event that caused it."""
    tenant_id, customer_id, _ = await _overdue_customer(database, clock, secret_box)
    async with database.read() as session:
        events = await _since(session, tenant_id, 0)
        assert [event.type for event in events] == [
            "customer.created",
            "charge.created",
            "charge.updated",
            "customer.status_changed",
        ]
        assert events[-1].data["reason"] == "overdue"
        assert await _messages(session, events) == [event.id for event in events]
        # The day's overdue notice, queued by the policy's decision.
        assert await _emails(session, tenant_id) == ["charge_created", "overdue"]
        customer = await session.get(Customer, customer_id)
        assert customer is not None and customer.status == "delinquent"


async def test_settling_a_charge_yields_messages_receipt_and_standing_at_once(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id, customer_id, charge_id = await _overdue_customer(database, clock, secret_box)
    async with database.read() as session:
        last = max(event.sequence for event in await _since(session, tenant_id, 0))
    async with database.write() as session:
        await settlement.settle_charge(session, clock, tenant_id, charge_id, ChargeSettle())
        # Before the commit, in the settling session: everything that follows is there.
        await session.flush()  # the receipt was added to the unit of work
        events = await _since(session, tenant_id, last)
        assert [event.type for event in events] == ["charge.settled", "customer.status_changed"]
        status_changed: dict[str, Any] = events[1].data
        assert (status_changed["from"], status_changed["to"]) == ("delinquent", "active")
        assert status_changed["reason"] == "paid"
        assert await _messages(session, events) == [event.id for event in events]
        assert await _emails(session, tenant_id) == ["charge_created", "overdue", "receipt"]
    async with database.read() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None and customer.status == "active"


async def test_a_rolled_back_settlement_leaves_none_of_its_reactions(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id, customer_id, charge_id = await _overdue_customer(database, clock, secret_box)
    async with database.read() as session:
        before = await _since(session, tenant_id, 0)
        before_ids = [event.id for event in before]
    with pytest.raises(Boom):
        async with database.write() as session:
            await settlement.settle_charge(session, clock, tenant_id, charge_id, ChargeSettle())
            raise Boom
    async with database.read() as session:
        after = await _since(session, tenant_id, 0)
        assert [event.id for event in after] == before_ids
        assert await _messages(session, after) == before_ids
        assert await _emails(session, tenant_id) == ["charge_created", "overdue"]
        customer = await session.get(Customer, customer_id)
        assert customer is not None and customer.status == "delinquent"
