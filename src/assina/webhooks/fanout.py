"""Fan-out at write time: the transaction that writes an event writes one message per enabled
endpoint whose filter matches, so a committed event is never without its deliveries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.ids import new_id
from assina.db.database import NEW_MESSAGES
from assina.events.models import Event
from assina.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage
from assina.webhooks.schemas import ALL_EVENTS


def wants(event_types: list[str], event_type: str) -> bool:
    return ALL_EVENTS in event_types or event_type in event_types


async def fan_out(session: AsyncSession, event: Event, only_endpoint: str | None = None) -> int:
    """Write the event's messages; returns how many."""
    statement = select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.tenant_id == event.tenant_id,
        WebhookEndpoint.enabled.is_(True),
        WebhookEndpoint.deleted_at.is_(None),
    )
    if only_endpoint is not None:
        statement = statement.where(WebhookEndpoint.id == only_endpoint)
    endpoints = (await session.execute(statement)).all()
    targets = [row.id for row in endpoints if only_endpoint or wants(row.event_types, event.type)]
    if not targets:
        return 0
    session.info[NEW_MESSAGES] = True
    session.add_all(
        WebhookMessage(
            id=new_id("msg"),
            tenant_id=event.tenant_id,
            endpoint_id=endpoint_id,
            event_id=event.id,
            event_type=event.type,
            customer_id=event.customer_id,
            status=MessageStatus.PENDING.value,
            attempt_count=0,
            next_attempt_at=event.created_at,
            locked_until=None,
            last_attempt_at=None,
            delivered_at=None,
            created_at=event.created_at,
        )
        for endpoint_id in targets
    )
    return len(targets)
