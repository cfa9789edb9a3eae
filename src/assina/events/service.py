"""Emitting events: services call `emit_event` inside the transaction that makes the change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import not_found
from assina.core.ids import new_id
from assina.core.pagination import PageParams, fetch_page
from assina.events.catalog import EventType
from assina.events.models import EVENT_SEQUENCE_NAME, Event
from assina.webhooks.fanout import fan_out

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
    """The event's `sequence`, computed by the database inside the INSERT itself.

    PostgreSQL: one global sequence, so writers never wait on each other for it (values
    increase for every tenant, with gaps). SQLite: the tenant's highest value plus one, which
    is safe because SQLite has one writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        return func.nextval(EVENT_SEQUENCE_NAME)
    highest = select(func.coalesce(func.max(Event.sequence), 0)).where(Event.tenant_id == tenant_id)
    return highest.scalar_subquery() + 1


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
    """Write the event and its webhook messages. `only_endpoint` sends it to that endpoint alone
    (a ping) instead of every endpoint whose filter matches."""
    event = Event(
        id=new_id("evt"),
        tenant_id=tenant_id,
        sequence=_next_sequence(session, tenant_id),
        type=event_type.value,
        customer_id=customer_id,
        data=snapshot(data),
        previous=previous,
        created_at=clock.now(),
    )
    session.add(event)
    await session.flush()
    await fan_out(session, event, only_endpoint)
    return event


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
