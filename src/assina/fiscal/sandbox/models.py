"""The sandbox fiscal issuer's own state: the invoices it received, as a remote issuer keeps
them. assina's side never reads these rows; it learns of them over HTTP."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base


class SandboxFiscalInvoice(Base):
    __tablename__ = "sandbox_fiscal_invoices"
    __table_args__ = (UniqueConstraint("tenant_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "nfsx_…"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    reference: Mapped[str] = mapped_column(String(64))  # assina's invoice id
    status: Mapped[str] = mapped_column(String(16))  # pending|issued|rejected|cancelled
    looked_up: Mapped[int]  # how many times assina asked (the first decides)
    emitter_cnpj: Mapped[str] = mapped_column(String(14))
    municipality_code: Mapped[str] = mapped_column(String(7))
    amount: Mapped[int] = mapped_column(BigInteger)
    service_description: Mapped[str] = mapped_column(String(2000))
    number: Mapped[int | None] = mapped_column(BigInteger)
    verification_code: Mapped[str | None] = mapped_column(String(64))
    access_key: Mapped[str | None] = mapped_column(String(50))
    issued_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(512))
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]  # the DPS's time (the tenant's clock): the time
