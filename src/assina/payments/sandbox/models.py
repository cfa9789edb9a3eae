"""The sandbox provider's own state: the payments it received, as a remote provider keeps
them. assina's side never reads these rows; it learns of them over HTTP."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base


class SandboxPayment(Base):
    __tablename__ = "sandbox_provider_payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_sandbox_provider_payments_tenant_id_paid_at", "tenant_id", "paid_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the provider's "spay_…"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    charge_id: Mapped[str] = mapped_column(String(64))  # the external reference
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # received | processing | declined
    amount: Mapped[int] = mapped_column(BigInteger)
    decline_code: Mapped[str | None] = mapped_column(String(32))
    end_to_end_id: Mapped[str | None] = mapped_column(String(32))
    paid_at: Mapped[datetime | None]
    notification_url: Mapped[str | None] = mapped_column(String(2048))
    notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
