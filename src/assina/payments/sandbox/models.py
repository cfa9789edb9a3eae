"""The sandbox provider's own state: the payments it received, as a remote provider keeps
them. assina's side never reads these rows; it learns of them over HTTP."""

from __future__ import annotations

from datetime import date, datetime

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


class SandboxCharge(Base):
    """A charge the sandbox provider keeps for a tenant: a PIX charge (its txid and BR Code)
    or a registered boleto (its numbers), made once per idempotency key."""

    __tablename__ = "sandbox_provider_charges"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_sandbox_provider_charges_tenant_id_charge_id", "tenant_id", "charge_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "spix_…" or "sbol_…"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    charge_id: Mapped[str] = mapped_column(String(64))  # the external reference
    kind: Mapped[str] = mapped_column(String(8))  # pix | boleto
    status: Mapped[str] = mapped_column(String(16))  # active | paid | cancelled
    amount: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date]
    txid: Mapped[str | None] = mapped_column(String(35))
    pix_key: Mapped[str | None] = mapped_column(String(77))
    pix_code: Mapped[str | None] = mapped_column(String(512))
    boleto_line: Mapped[str | None] = mapped_column(String(64))
    boleto_barcode: Mapped[str | None] = mapped_column(String(44))
    our_number: Mapped[str | None] = mapped_column(String(20))
    payment_id: Mapped[str | None] = mapped_column(String(40))  # what paid it
    created_at: Mapped[datetime]
