from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    DELINQUENT = "delinquent"
    SUSPENDED = "suspended"
    INACTIVE = "inactive"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_customers_tenant_id_id", "tenant_id", "id"),
        Index("ix_customers_tenant_id_status_id", "tenant_id", "status", "id"),
        Index("ix_customers_tenant_id_email", "tenant_id", "email"),
        Index("ix_customers_tenant_id_document", "tenant_id", "document"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    document: Mapped[str | None] = mapped_column(String(14))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[dict[str, Any] | None]
    status: Mapped[CustomerStatus] = mapped_column(EnumText(CustomerStatus, 16))
    # Left alone by the dunning policy (Superlógica's "ignorar bloqueio automático").
    dunning_exempt: Mapped[bool] = mapped_column(default=False, server_default=false())
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
