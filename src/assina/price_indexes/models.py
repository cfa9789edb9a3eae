from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base


class PriceIndex(StrEnum):
    """The indexes a contract can be readjusted by (`Contract.readjustment_index`)."""

    IGPM = "IGPM"
    IPCA = "IPCA"


class PriceIndexValue(Base):
    """One month's value of a price index (IGP-M, IPCA), as the tenant recorded it."""

    __tablename__ = "price_index_values"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    index: Mapped[str] = mapped_column(String(8), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    percent: Mapped[Decimal]
    updated_at: Mapped[datetime]
