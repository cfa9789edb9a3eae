"""Reading and repairing deliveries: a message and its attempts, retry one, recover many."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import conflict, not_found
from assina.core.paging import PageParams, fetch_page
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


async def attempts_of_messages(
    session: AsyncSession, tenant_id: str, message_ids: Sequence[str]
) -> dict[str, list[WebhookAttempt]]:
    """The attempts of each of these messages, oldest first: a page of messages with their
    attempts in one statement (the console's message log)."""
    found: dict[str, list[WebhookAttempt]] = {message_id: [] for message_id in message_ids}
    if not message_ids:
        return found
    statement = (
        select(WebhookAttempt)
        .where(
            WebhookAttempt.tenant_id == tenant_id,
            WebhookAttempt.message_id.in_(list(message_ids)),
        )
        .order_by(WebhookAttempt.id)
    )
    for attempt in await session.scalars(statement):
        found[attempt.message_id].append(attempt)
    return found


@dataclass(frozen=True)
class RecentDelivery:
    """How the latest attempt at one of an endpoint's recent messages went."""

    message_id: str
    status: MessageStatus
    attempted_at: datetime
    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def recent_deliveries(
    session: AsyncSession, tenant_id: str, endpoint_ids: Sequence[str], count: int
) -> dict[str, list[RecentDelivery]]:
    """Each endpoint's health at a glance: the latest attempt of each of its `count` newest
    messages that were tried, newest first. Read by the (tenant, endpoint, id) index, a few
    rows per endpoint however long its log."""
    recent: dict[str, list[RecentDelivery]] = {}
    for endpoint_id in endpoint_ids:
        messages = (
            await session.scalars(
                select(WebhookMessage)
                .where(
                    WebhookMessage.tenant_id == tenant_id,
                    WebhookMessage.endpoint_id == endpoint_id,
                    WebhookMessage.last_attempt_at.is_not(None),
                )
                .order_by(WebhookMessage.id.desc())
                .limit(count)
            )
        ).all()
        tries = await attempts_of_messages(session, tenant_id, [m.id for m in messages])
        recent[endpoint_id] = [
            RecentDelivery(m.id, m.status, last.attempted_at, last.status_code, last.error)
            for m in messages
            if tries[m.id]
            for last in tries[m.id][-1:]
        ]
    return recent
