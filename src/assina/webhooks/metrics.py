"""Webhook metrics for `/metrics`: deliveries by outcome, attempt latency, and the backlog
(pending messages, age of the oldest due one), read from the database at scrape time so that
every process reports the same backlog."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.webhooks.models import MessageStatus, WebhookMessage
from assina.webhooks.sender import Outcome


def outcome_label(outcome: Outcome) -> str:
    if outcome.delivered:
        return "delivered"
    if outcome.permanent:
        return "unsendable"
    if outcome.timed_out:
        return "timeout"
    if outcome.status_code is None:
        return "connection_error"
    return "http_error"


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "assina_webhook_attempts_total",
            "Delivery attempts by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "assina_webhook_attempt_duration_seconds",
            "Time from sending a delivery to its answer (or error).",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
        )
        self.pending = Gauge(
            "assina_webhook_messages_pending",
            "Messages not yet delivered nor failed for good.",
            registry=registry,
        )
        self.oldest_due = Gauge(
            "assina_webhook_oldest_due_message_age_seconds",
            "How long the oldest due pending message has been waiting (0 when none).",
            registry=registry,
        )

    def record(self, outcome: Outcome) -> None:
        self.attempts.labels(outcome_label(outcome)).inc()
        if not outcome.permanent:
            self.latency.observe(outcome.latency_ms / 1000)

    async def refresh_backlog(self, session: AsyncSession, now: datetime) -> None:
        pending = WebhookMessage.status == MessageStatus.PENDING
        count, oldest = (
            await session.execute(
                select(
                    func.count().filter(pending),
                    func.min(WebhookMessage.next_attempt_at).filter(
                        pending, WebhookMessage.next_attempt_at <= now
                    ),
                )
            )
        ).one()
        self.pending.set(count)
        self.oldest_due.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
