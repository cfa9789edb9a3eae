from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, id_column

# PostgreSQL sequence behind `events.sequence` (see events.service._one_event_statement).
EVENT_SEQUENCE_NAME = "event_sequence"


class Event(Base):
    """One change, committed in the same transaction as the change itself (the outbox)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sequence"),
        Index("ix_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_events_tenant_id_type_id", "tenant_id", "type", "id"),
        Index("ix_events_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_events_tenant_id_customer_id_id", "tenant_id", "customer_id", "id"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    sequence: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    # The customer the event is about, when there is one (filters, per-customer ordering).
    customer_id: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    previous: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
