"""Recording a batch of webhook attempts: each HTTP outcome classified into the relay kernel's
typed outcome (which moves its message), and the attempts inserted with one statement per
batch instead of loading and flushing every message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.ids import new_id
from assina.db.shapes import insert_rows
from assina.relay.outbox import Outbox
from assina.relay.outcomes import Attempted, Delivered, FailedForGood, RetryLater, Verdict
from assina.relay.schedule import parse_retry_after
from assina.webhooks.models import AttemptRow, MessageStatus, WebhookAttempt, WebhookMessage
from assina.webhooks.retries import WEBHOOK_RETRIES
from assina.webhooks.sender import Outcome

# Core tables, not the ORM classes: no identity map or unit of work for rows only written.
MESSAGES: Table = WebhookMessage.__table__  # type: ignore[assignment]
ATTEMPTS: Table = WebhookAttempt.__table__  # type: ignore[assignment]

WEBHOOK_OUTBOX = Outbox(
    MESSAGES,
    pending=(MessageStatus.PENDING,),
    delivered=MessageStatus.DELIVERED,
    failed=MessageStatus.FAILED,
    delivered_at="delivered_at",
)


def classify(outcome: Outcome, now: datetime) -> Verdict:
    """A 2xx is delivered; a 410 (the endpoint is gone) or an unsendable message failed for
    good; anything else is retried, later after a 429 or a timeout, or when the receiver
    gave a `Retry-After`."""
    if outcome.delivered:
        return Delivered()
    reason = outcome.error or f"HTTP {outcome.status_code}"
    if outcome.status_code == 410 or outcome.permanent:
        return FailedForGood(reason)
    return RetryLater(
        reason,
        retry_after=parse_retry_after(outcome.retry_after, now),
        slow_down=outcome.timed_out or outcome.status_code == 429,
    )


def attempted(outcome: Outcome, now: datetime) -> Attempted:
    delivery = outcome.delivery
    return Attempted(
        delivery.message_id,
        delivery.attempt_count,
        classify(outcome, now),
        WEBHOOK_RETRIES.with_steps(delivery.retry_schedule),
    )


def attempt_row(outcome: Outcome, now: datetime) -> AttemptRow:
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


async def insert_attempts(
    session: AsyncSession, outcomes: Sequence[Outcome], now: datetime
) -> None:
    if outcomes:
        await insert_rows(
            session, insert(ATTEMPTS), [attempt_row(outcome, now) for outcome in outcomes]
        )
