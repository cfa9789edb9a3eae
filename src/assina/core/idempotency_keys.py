"""The table of idempotency keys and its pruning, without the HTTP half (core/idempotency.py,
which imports FastAPI): the worker prunes the keys and does without FastAPI."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, Text, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base

MAX_KEY_LENGTH = 255
KEY_LIFETIME = timedelta(hours=24)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int]
    # The answer's JSON, sealed (`seal_answer`); empty while the use case runs.
    response_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


async def prune_idempotency_keys(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEY_LIFETIME)
    )
    return int(getattr(result, "rowcount", 0) or 0)
