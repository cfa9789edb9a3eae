from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TypedDict

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column


class EndpointFormat(StrEnum):
    STANDARD = "standard"
    SUPERLOGICA = "superlogica"


class EndpointOrdering(StrEnum):
    NONE = "none"
    PER_CUSTOMER = "per_customer"


class MessageStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_tenant_id_id", "tenant_id", "id"),
        Index("ix_webhook_endpoints_tenant_id_enabled", "tenant_id", "enabled"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]]
    enabled: Mapped[bool]
    format: Mapped[EndpointFormat] = mapped_column(EnumText(EndpointFormat, 16))
    # Custom header values often hold a partner's credentials: each value is sealed.
    headers_sealed: Mapped[dict[str, str]] = mapped_column("headers")
    rate_limit: Mapped[int | None]
    ordering: Mapped[EndpointOrdering] = mapped_column(EnumText(EndpointOrdering, 16))
    secret_sealed: Mapped[str] = mapped_column(String(512))
    # After a rotation the old secret keeps signing (a second signature) until this instant.
    previous_secret_sealed: Mapped[str | None] = mapped_column(String(512))
    previous_secret_expires_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # Since when every attempt has failed (None after any success): the 5-day disable rule.
    failing_since: Mapped[datetime | None]
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Deleted endpoints are kept so that their messages stay readable, but leave the API.
    deleted_at: Mapped[datetime | None]


class WebhookMessage(Base):
    """One event for one endpoint: written with the event, in the same transaction."""

    __tablename__ = "webhook_messages"
    __table_args__ = (
        Index("ix_webhook_messages_tenant_id_endpoint_id_id", "tenant_id", "endpoint_id", "id"),
        Index("ix_webhook_messages_tenant_id_event_id", "tenant_id", "event_id"),
        # Per-customer ordering: is an earlier message for this customer still pending here?
        Index(
            "ix_webhook_messages_pending_by_customer",
            "endpoint_id",
            "customer_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # The dispatcher's claim: due pending messages, oldest first. Partial, so it holds only
        # the work still to do however many delivered messages are kept.
        Index(
            "ix_webhook_messages_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # The same, one endpoint at a time: the claim reads only the endpoints it may send to,
        # so a saturated endpoint's backlog is never scanned.
        Index(
            "ix_webhook_messages_due_by_endpoint",
            "endpoint_id",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), nullable=False)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), nullable=False)
    event_type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[MessageStatus] = mapped_column(EnumText(MessageStatus, 16))
    attempt_count: Mapped[int]
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MessageRow(TypedDict):
    """A `webhook_messages` row by attribute name, as the fan-out writes it
    (webhooks/fanout.py)."""

    id: str
    tenant_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    customer_id: str | None
    status: MessageStatus
    attempt_count: int
    next_attempt_at: datetime
    locked_until: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookAttempt(Base):
    """One try at delivering a message: what was answered, how fast, or what went wrong."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_tenant_id_message_id_id", "tenant_id", "message_id", "id"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    message_id: Mapped[str] = mapped_column(ForeignKey("webhook_messages.id"), nullable=False)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), nullable=False)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    response_excerpt: Mapped[str | None] = mapped_column(String(4096))
    error: Mapped[str | None] = mapped_column(String(500))


class AttemptRow(TypedDict):
    """A `webhook_attempts` row by attribute name, as the dispatcher records a batch's tries
    (webhooks/recording.py)."""

    id: str
    tenant_id: str
    message_id: str
    endpoint_id: str
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None
