"""Reading and repairing deliveries: a message and its attempts, retry one, recover many."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import conflict, not_found
from assina.core.pagination import PageParams, fetch_page
from assina.webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage
from assina.webhooks.service import get_endpoint

# Counts a manual delivery to an endpoint (by id) against its limit, or raises the 429.
Admit = Callable[[str], Awaitable[None]]


async def get_message(session: AsyncSession, tenant_id: str, message_id: str) -> WebhookMessage:
    message = await session.scalar(
        select(WebhookMessage).where(
            WebhookMessage.tenant_id == tenant_id, WebhookMessage.id == message_id
        )
    )
    if message is None:
        raise not_found("message", message_id)
    return message


async def list_attempts(
    session: AsyncSession, tenant_id: str, message_id: str, page: PageParams
) -> tuple[Sequence[WebhookAttempt], bool]:
    await get_message(session, tenant_id, message_id)
    statement = select(WebhookAttempt).where(
        WebhookAttempt.tenant_id == tenant_id, WebhookAttempt.message_id == message_id
    )
    return await fetch_page(session, statement, WebhookAttempt.id, page)


async def retry_message(
    session: AsyncSession, clock: Clock, tenant_id: str, message_id: str, admit: Admit
) -> WebhookMessage:
    """Send the message again now, whatever its state (a delivered one is sent once more).

    A manual retry is one more attempt: if it fails, the message waits for the next step of
    its schedule, or fails at once when the schedule is spent. `admit` counts it against the
    endpoint's hourly limit first.
    """
    message = await get_message(session, tenant_id, message_id)
    await admit(message.endpoint_id)
    if message.locked_until is not None and message.locked_until > clock.real_now():
        raise conflict("The message is being delivered right now; try again shortly.")
    message.status = MessageStatus.PENDING
    message.next_attempt_at = clock.real_now()
    message.locked_until = None
    return message


async def recover_endpoint(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    endpoint_id: str,
    since: datetime,
    admit: Admit,
) -> int:
    """Queue again every message of the endpoint that failed for good since `since`, once
    `admit` counted it against the endpoint's hourly limit."""
    await get_endpoint(session, tenant_id, endpoint_id)
    await admit(endpoint_id)
    result = await session.execute(
        update(WebhookMessage)
        .where(
            WebhookMessage.tenant_id == tenant_id,
            WebhookMessage.endpoint_id == endpoint_id,
            WebhookMessage.status == MessageStatus.FAILED,
            WebhookMessage.created_at >= since,
        )
        .values(
            status=MessageStatus.PENDING,
            next_attempt_at=clock.real_now(),
            locked_until=None,
            attempt_count=0,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
