"""Emitting events: services call `emit_event` inside the transaction that makes the change
(or `emit_events` / `emit_typed_events` for a batch, as the billing calendar does). One path
serves both (`emit_typed_events`, one event being a batch of one): it writes the events,
then hands them, as one batch, to the installed reactions (events/reacting.py): webhook
messages, e-mails, the customer's standing, in the same session, before it returns; the
events those reactions emit are reacted to likewise, inside them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, cast

from pydantic import BaseModel
from sqlalchemy import BindParameter, Select, Table, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from assina.core.clock import Clock
from assina.core.errors import not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page, in_range
from assina.db.dialect import BuiltOnce, next_sequence_value, reserve_sequence_values
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


def _one_event_statement(session: AsyncSession) -> ReturningInsert[int]:
    """One event's INSERT, its `sequence` computed by the database inside it (db/dialect.py:
    a global sequence on PostgreSQL, the tenant's highest plus one on SQLite), built once
    (`_ONE_EVENT`). Its values are parameters named `p_<column>`: SQLite's subquery reads the
    tenant's, and a parameter may not take a column's own name in an INSERT."""
    table = cast(Table, Event.__table__)
    values: dict[str, Any] = {
        column.key: bindparam(f"p_{column.key}", type_=column.type)
        for column in table.c
        if column.key != "sequence"
    }
    highest = _highest_sequence(values["tenant_id"])
    sequence = next_sequence_value(session, EVENT_SEQUENCE_NAME, highest)
    return insert(table).values({**values, "sequence": sequence}).returning(table.c.sequence)


_ONE_EVENT = BuiltOnce(_one_event_statement)


def _highest_sequence(tenant_id: str | BindParameter[str]) -> Select[int]:
    return select(func.coalesce(func.max(Event.sequence), 0)).where(Event.tenant_id == tenant_id)


async def reserve_sequences(session: AsyncSession, tenant_id: str, count: int) -> list[int]:
    """`count` increasing `sequence` values for a batch of events, from the same source as
    `_one_event_statement`."""
    return await reserve_sequence_values(
        session, EVENT_SEQUENCE_NAME, _highest_sequence(tenant_id), count
    )


class EventRow(TypedDict):
    """An `events` row by attribute name: what one event stores, for one or many."""

    id: str
    tenant_id: str
    sequence: int
    type: str
    customer_id: str | None
    data: dict[str, Any]
    previous: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class Change:
    """One object's change: the object after it (its model, or its JSON already made, as
    `snapshot` makes it: the calendar's batches), and its customer. `subject`: the object's
    row when the caller wrote it in bulk (see `Emitted`)."""

    data: BaseModel | Mapping[str, Any]
    customer_id: str | None = None
    previous: dict[str, Any] | None = None
    subject: Mapping[str, Any] | None = None


def event_row(
    tenant_id: str, event_type: EventType, change: Change, sequence: int, created_at: datetime
) -> EventRow:
    return {
        "id": new_id("evt"),
        "tenant_id": tenant_id,
        "sequence": sequence,
        "type": event_type.value,
        "customer_id": change.customer_id,
        "data": (
            snapshot(change.data) if isinstance(change.data, BaseModel) else dict(change.data)
        ),
        "previous": change.previous,
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
) -> EventRow:
    """One event, now: a batch of one (`emit_typed_events`). What the session still holds
    unwritten (the object the event is about) is written first, so that what reacts reads
    it. `only_endpoint` sends it to that endpoint alone (a ping) instead of every endpoint
    whose filter matches."""
    await session.flush()
    [row] = await emit_typed_events(
        session,
        clock,
        tenant_id,
        [(event_type, Change(data, customer_id, previous))],
        now=clock.now(),
        due_at=clock.real_now(),
        only_endpoint=only_endpoint,
    )
    return row


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
    """Many events of one type (the billing calendar's batches, the dunning pass's moves):
    `emit_typed_events` with one type."""
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
    only_endpoint: str | None = None,
) -> list[EventRow]:
    """The one path of every emission, one event or many: events of any types, in the order
    given (a charge's `charge.created` then its `charge.settled`, then the next charge's),
    written together and reacted to as one batch. Events dated `now`, their deliveries due
    at `due_at` (`Clock.real_now`); `only_endpoint`: a ping's one endpoint."""
    if not events:
        return []
    rows = await _write_events(session, tenant_id, events, now)
    subjects = [change.subject for _, change in events]
    await react(Emitted(session, clock, tenant_id, rows, subjects, now, due_at, only_endpoint))
    return rows


async def _write_events(
    session: AsyncSession,
    tenant_id: str,
    events: Sequence[tuple[EventType, Change]],
    now: datetime,
) -> list[EventRow]:
    """Insert the events in order, with increasing sequences. One event (every API write)
    takes its sequence inside its INSERT, in one round trip; many reserve theirs first and go
    in one INSERT of many rows (db/shapes.py's `insert_rows`)."""
    if len(events) == 1:
        [(event_type, change)] = events
        row = event_row(tenant_id, event_type, change, 0, now)  # its sequence: below
        parameters = {f"p_{key}": value for key, value in row.items() if key != "sequence"}
        written = await session.execute(_ONE_EVENT.of(session), parameters)
        row["sequence"] = written.scalar_one()
        return [row]
    sequences = await reserve_sequences(session, tenant_id, len(events))
    rows = [
        event_row(tenant_id, event_type, change, sequence, now)
        for (event_type, change), sequence in zip(events, sequences, strict=True)
    ]
    await insert_rows(session, insert(Event), rows)
    return rows


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
    statement = in_range(statement, Event.created_at, filters.created_gte, filters.created_lt)
    return await fetch_page(session, statement, Event.id, page)


async def get_event(session: AsyncSession, tenant_id: str, event_id: str) -> Event:
    event = await session.scalar(
        select(Event).where(Event.tenant_id == tenant_id, Event.id == event_id)
    )
    if event is None:
        raise not_found("event", event_id)
    return event
