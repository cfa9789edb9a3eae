"""Fan-out at write time: the transaction that writes an event writes one message per enabled
endpoint whose filter matches, so a committed event is never without its deliveries.

One path for one event or many (`fan_out`: the events an emission wrote, for endpoints read
once per emission).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.ids import new_id
from assina.db.database import NEW_MESSAGES
from assina.db.shapes import insert_rows
from assina.webhooks.models import MessageRow, MessageStatus, WebhookEndpoint, WebhookMessage
from assina.webhooks.schemas import ALL_EVENTS


@dataclass(frozen=True)
class Listener:
    """An enabled endpoint and the event types it asked for."""

    id: str
    event_types: list[str]


def wants(event_types: list[str], event_type: str) -> bool:
    return ALL_EVENTS in event_types or event_type in event_types


async def enabled_endpoints(
    session: AsyncSession, tenant_id: str, only_endpoint: str | None = None
) -> list[Listener]:
    """The tenant's enabled endpoints; or only `only_endpoint`, if enabled, taking every
    event whatever its filter (a ping)."""
    if only_endpoint is None:
        rows = await session.execute(_ENABLED, {"tenant": tenant_id})
        return [Listener(row.id, row.event_types) for row in rows]
    rows = await session.execute(_ONE_ENABLED, {"tenant": tenant_id, "endpoint": only_endpoint})
    return [Listener(row.id, [ALL_EVENTS]) for row in rows]


# Built once: every API write that emits an event reads them (their values are parameters).
_ENABLED = select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
    WebhookEndpoint.tenant_id == bindparam("tenant"),
    WebhookEndpoint.enabled.is_(True),
    WebhookEndpoint.deleted_at.is_(None),
)
_ONE_ENABLED = _ENABLED.where(WebhookEndpoint.id == bindparam("endpoint"))


def message_rows(
    event: Mapping[str, Any], endpoint_ids: Sequence[str], due_at: datetime
) -> list[MessageRow]:
    """The messages of one event (an `events` row, by attribute name) for these endpoints,
    due at once: `due_at` is real time (`Clock.real_now`), which for a sandbox tenant is not
    the event's business time."""
    return [
        {
            "id": new_id("msg"),
            "tenant_id": event["tenant_id"],
            "endpoint_id": endpoint_id,
            "event_id": event["id"],
            "event_type": event["type"],
            "customer_id": event["customer_id"],
            "status": MessageStatus.PENDING,
            "attempt_count": 0,
            "next_attempt_at": due_at,
            "locked_until": None,
            "last_attempt_at": None,
            "delivered_at": None,
            "created_at": due_at,
        }
        for endpoint_id in endpoint_ids
    ]


def _targets(listeners: Sequence[Listener], event_type: str) -> list[str]:
    return [listener.id for listener in listeners if wants(listener.event_types, event_type)]


async def fan_out(
    session: AsyncSession,
    events: Sequence[Mapping[str, Any]],
    listeners: Sequence[Listener],
    due_at: datetime,
) -> int:
    """Write the messages of the events (`events` rows by attribute name, one or many) with
    one multi-row INSERT, for endpoints the caller read once (in this transaction); returns
    how many."""
    rows = [
        row
        for event in events
        for row in message_rows(event, _targets(listeners, event["type"]), due_at)
    ]
    if not rows:
        return 0
    session.info[NEW_MESSAGES] = True
    await insert_rows(session, insert(WebhookMessage), rows)
    return len(rows)
