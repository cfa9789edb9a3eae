from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base


class BillingSettings(Base):
    """A tenant's billing rules; a tenant without a row has the defaults (schemas.py)."""

    __tablename__ = "billing_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    fine_percent: Mapped[Decimal]
    monthly_interest_percent: Mapped[Decimal]
    charge_lead_days: Mapped[int]
    order_expiry_days: Mapped[int]
    pix_key: Mapped[str | None] = mapped_column(String(77))
    merchant_name: Mapped[str | None] = mapped_column(String(25))
    merchant_city: Mapped[str | None] = mapped_column(String(15))
    updated_at: Mapped[datetime]
