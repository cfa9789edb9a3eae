from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column

DEFAULT_TIME_ZONE = "America/Sao_Paulo"


class TenantMode(StrEnum):
    """`live` bills real customers by the real calendar; `sandbox` is for trying an
    integration, with a test clock that can be advanced (product.md §6). Fixed at creation."""

    LIVE = "live"
    SANDBOX = "sandbox"


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    validation_token_sealed: Mapped[str] = mapped_column(String(512))
    # Seconds between webhook retries; None for the default schedule (webhooks/retries.py).
    webhook_retry_schedule: Mapped[list[int] | None]
    mode: Mapped[TenantMode] = mapped_column(
        EnumText(TenantMode, 8), default=TenantMode.LIVE, server_default=text("'live'")
    )
    # A sandbox tenant's test clock: how far its business time runs ahead of real time, in
    # microseconds (only grows; always 0 for a live tenant).
    clock_offset_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # While an advance of the test clock runs, until when it holds the clock (real time).
    clock_advancing_until: Mapped[datetime | None]
    # The latest day a dunning pass ran for (dunning/run.py): a pass for an earlier day does
    # nothing, so a decision never goes back in time. None before the first pass.
    dunning_day: Mapped[date | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_tenant_id", "tenant_id", "id"),)

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, so that people can tell their keys apart.
    key_hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # When a request last authenticated with it, to the minute (written at most once a minute).
    last_used_at: Mapped[datetime | None]


class TenantCounter(Base):
    """Per-tenant counters of object `number`s (gap-free).

    A counter is bumped in the same transaction as the row that takes the value, so a rollback
    gives the value back and numbers have no gaps; the row lock orders concurrent writers.
    """

    __tablename__ = "tenant_counters"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
