from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column


class ProductStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class BillingInterval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    ONCE = "once"


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_products_tenant_id_id", "tenant_id", "id"),
        Index("ix_products_tenant_id_status_id", "tenant_id", "status", "id"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(8))
    interval_count: Mapped[int]
    trial_days: Mapped[int]
    status: Mapped[ProductStatus] = mapped_column(EnumText(ProductStatus, 16))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Deleted products are kept (past charges may name them) but are gone from the API.
    deleted_at: Mapped[datetime | None]
