"""Recording a batch of attempts: what each outcome does to its message, written with a few
set-based statements per batch (one INSERT of the attempts, one UPDATE per kind of result)
instead of loading and flushing every message."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.ids import new_id
from assina.db.shapes import insert_rows, one_of
from assina.webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage
from assina.webhooks.retries import parse_retry_after, retry_delay
from assina.webhooks.sender import Outcome

# Core tables, not the ORM classes: no identity map or unit of work for rows only written.
MESSAGES: Table = WebhookMessage.__table__  # type: ignore[assignment]
ATTEMPTS: Table = WebhookAttempt.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class MessageResult:
    """Where an attempt leaves its message: delivered, failed for good, or pending again at
    `retry_at`."""

    message_id: str
    status: MessageStatus
    retry_at: datetime | None = None


def message_result(outcome: Outcome, now: datetime, rng: random.Random) -> MessageResult:
    delivery = outcome.delivery
    if outcome.delivered:
        return MessageResult(delivery.message_id, MessageStatus.DELIVERED)
    if outcome.status_code == 410 or outcome.permanent:
        return MessageResult(delivery.message_id, MessageStatus.FAILED)
    delay = retry_delay(
        delivery.attempt_count + 1,
        slow_down=outcome.timed_out or outcome.status_code == 429,
        retry_after=parse_retry_after(outcome.retry_after, now),
        schedule=delivery.retry_schedule,
        rng=rng,
    )
    if delay is None:
        return MessageResult(delivery.message_id, MessageStatus.FAILED)
    return MessageResult(delivery.message_id, MessageStatus.PENDING, now + delay)


def attempt_row(outcome: Outcome, now: datetime) -> dict[str, Any]:
    delivery = outcome.delivery
    return {
        "id": new_id("att"),
        "tenant_id": delivery.tenant_id,
        "message_id": delivery.message_id,
        "endpoint_id": delivery.endpoint_id,
        "attempted_at": now,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "response_excerpt": outcome.response_excerpt,
        "error": outcome.error,
    }


async def record_attempts(
    session: AsyncSession, outcomes: Sequence[Outcome], now: datetime, rng: random.Random
) -> None:
    """Insert the attempts and move their messages, releasing their leases."""
    if not outcomes:
        return
    attempts = [attempt_row(outcome, now) for outcome in outcomes]
    await insert_rows(session, insert(ATTEMPTS), attempts)
    results = [message_result(outcome, now, rng) for outcome in outcomes]
    attempted = {
        "attempt_count": MESSAGES.c.attempt_count + 1,
        "last_attempt_at": now,
        "locked_until": None,
    }
    delivered = [r.message_id for r in results if r.status == MessageStatus.DELIVERED]
    if delivered:
        await session.execute(
            update(MESSAGES)
            .where(one_of(MESSAGES.c.id, delivered))
            .values(status=MessageStatus.DELIVERED.value, delivered_at=now, **attempted)
        )
    failed = [r.message_id for r in results if r.status == MessageStatus.FAILED]
    if failed:
        await session.execute(
            update(MESSAGES)
            .where(one_of(MESSAGES.c.id, failed))
            .values(status=MessageStatus.FAILED.value, **attempted)
        )
    retries = [
        {"message": r.message_id, "retry_at": r.retry_at}
        for r in results
        if r.status == MessageStatus.PENDING
    ]
    if retries:
        await session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id == bindparam("message"))
            .values(next_attempt_at=bindparam("retry_at"), **attempted),
            retries,
        )
