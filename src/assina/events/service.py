"""Emitting events: services call `emit_event` inside the transaction that makes the change
(or `emit_events` for a batch of changes of one type, as the billing calendar does). Each
call writes its events, then hands them, as one batch, to the installed reactions
(events/reacting.py): webhook messages, e-mails, the customer's standing, in the same
session, before it returns; the events those reactions emit are reacted to likewise, inside
them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import not_found
from assina.core.ids import new_id
from assina.core.pagination import PageParams, fetch_page
from assina.db.dialect import next_sequence_value, reserve_sequence_values
from assina.db.shapes import insert_rows
from assina.events.catalog import EventType
from assina.events.models import EVENT_SEQUENCE_NAME, Event
from assina.events.reacting import Emitted, react

# Fields that change on every write and say nothing about what changed.
_NOT_DIFFED = frozenset({"updated_at"})


def snapshot(model: BaseModel) -> dict[str, Any]:
    """The JSON form of a resource, as receivers will see it."""
    return model.model_dump(mode="json")


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Old values of the top-level fields whose value differs (the event's `previous`)."""
    return {
        name: before.get(name)
        for name in after
        if name not in _NOT_DIFFED and before.get(name) != after[name]
    }


def _next_sequence(session: AsyncSession, tenant_id: str) -> ColumnElement[int]:
    """The event's `sequence`, computed by the database inside the INSERT itself (db/dialect.py:
    a global sequence on PostgreSQL, the tenant's highest plus one on SQLite)."""
    return next_sequence_value(session, EVENT_SEQUENCE_NAME, _highest_sequence(tenant_id))


def _highest_sequence(tenant_id: str) -> Select[int]:
    return select(func.coalesce(func.max(Event.sequence), 0)).where(Event.tenant_id == tenant_id)


async def reserve_sequences(session: AsyncSession, tenant_id: str, count: int) -> list[int]:
    """`count` increasing `sequence` values for a batch of events, from the same source as
    `_next_sequence`."""
    return await reserve_sequence_values(
        session, EVENT_SEQUENCE_NAME, _highest_sequence(tenant_id), count
    )


def event_row(
    tenant_id: str,
    event_type: EventType,
    data: BaseModel,
    *,
    sequence: int | ColumnElement[int],
    created_at: datetime,
    previous: dict[str, Any] | None = None,
    customer_id: str | None = None,
) -> dict[str, Any]:
    """An `events` row, by attribute name: what one event stores, for one or many."""
    return {
        "id": new_id("evt"),
        "tenant_id": tenant_id,
        "sequence": sequence,
        "type": event_type.value,
        "customer_id": customer_id,
        "data": snapshot(data),
        "previous": previous,
        "created_at": created_at,
    }


async def emit_event(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    event_type: EventType,
    data: BaseModel,
    *,
    previous: dict[str, Any] | None = None,
    customer_id: str | None = None,
    only_endpoint: str | None = None,
) -> Event:
    """Write the event, then what it causes (its webhook messages first). `only_endpoint`
    sends it to that endpoint alone (a ping) instead of every endpoint whose filter matches."""
    row = event_row(
        tenant_id,
        event_type,
        data,
        sequence=_next_sequence(session, tenant_id),
        created_at=clock.now(),
        previous=previous,
        customer_id=customer_id,
    )
    event = Event(**row)
    session.add(event)
    await session.flush()
    await react(
        Emitted(
            session,
            clock,
            tenant_id,
            [row],
            [None],
            row["created_at"],
            clock.real_now(),
            only_endpoint,
        )
    )
    return event


@dataclass(frozen=True)
class Change:
    """One object's change, for `emit_events`: the object after it, and its customer.
    `subject`: the object's row when the caller wrote it in bulk (see `Emitted`)."""

    data: BaseModel
    customer_id: str | None = None
    previous: dict[str, Any] | None = None
    subject: Mapping[str, Any] | None = None


async def emit_events(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    event_type: EventType,
    changes: Sequence[Change],
    *,
    now: datetime,
    due_at: datetime,
) -> None:
    """Many events of one type with one multi-row INSERT (the billing calendar's batches):
    the rows `emit_event` would write one by one, in order, reacted to as one batch. Events
    dated `now`, their deliveries due at `due_at` (`Clock.real_now`)."""
    await emit_typed_events(
        session,
        clock,
        tenant_id,
        [(event_type, change) for change in changes],
        now=now,
        due_at=due_at,
    )


async def emit_typed_events(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    events: Sequence[tuple[EventType, Change]],
    *,
    now: datetime,
    due_at: datetime,
) -> None:
    """`emit_events` for events of several types, in the order given (a charge's
    `charge.created` then its `charge.settled`, then the next charge's)."""
    if not events:
        return
    sequences = await reserve_sequences(session, tenant_id, len(events))
    rows = [
        event_row(
            tenant_id,
            event_type,
            change.data,
            sequence=sequence,
            created_at=now,
            previous=change.previous,
            customer_id=change.customer_id,
        )
        for (event_type, change), sequence in zip(events, sequences, strict=True)
    ]
    await insert_rows(session, insert(Event), rows)
    subjects = [change.subject for _, change in events]
    await react(Emitted(session, clock, tenant_id, rows, subjects, now, due_at))


@dataclass(frozen=True)
class EventFilters:
    type: str | None = None
    customer_id: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def list_events(
    session: AsyncSession, tenant_id: str, filters: EventFilters, page: PageParams
) -> tuple[Sequence[Event], bool]:
    statement = select(Event).where(Event.tenant_id == tenant_id)
    if filters.type is not None:
        statement = statement.where(Event.type == filters.type)
    if filters.customer_id is not None:
        statement = statement.where(Event.customer_id == filters.customer_id)
    if filters.created_gte is not None:
        statement = statement.where(Event.created_at >= filters.created_gte)
    if filters.created_lt is not None:
        statement = statement.where(Event.created_at < filters.created_lt)
    return await fetch_page(session, statement, Event.id, page)


async def get_event(session: AsyncSession, tenant_id: str, event_id: str) -> Event:
    event = await session.scalar(
        select(Event).where(Event.tenant_id == tenant_id, Event.id == event_id)
    )
    if event is None:
        raise not_found("event", event_id)
    return event
