"""Retention: delivered messages and their attempts are pruned after `ASSINA_RETENTION_DAYS`,
in small batches (one short transaction each). Events are kept; failed and pending messages
are kept, so that they stay visible and recoverable."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage

PRUNE_BATCH = 500


async def prune_delivered_messages(
    session: AsyncSession, now: datetime, retention: timedelta, batch: int = PRUNE_BATCH
) -> int:
    """Delete up to `batch` delivered messages older than the retention, with their attempts."""
    expired = (
        await session.scalars(
            select(WebhookMessage.id)
            .where(
                WebhookMessage.status == MessageStatus.DELIVERED,
                WebhookMessage.delivered_at < now - retention,
            )
            .limit(batch)
        )
    ).all()
    if not expired:
        return 0
    await session.execute(delete(WebhookAttempt).where(WebhookAttempt.message_id.in_(expired)))
    await session.execute(delete(WebhookMessage).where(WebhookMessage.id.in_(expired)))
    return len(expired)
