"""A tenant's fiscal settings; a tenant without a row has the defaults (schemas.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText


class FiscalProvider(StrEnum):
    """Who issues the tenant's NFS-e: the built-in sandbox issuer, or Asaas (its invoices API,
    with the Asaas credentials of the payment settings)."""

    SANDBOX = "sandbox"
    ASAAS = "asaas"


class FiscalSettings(Base):
    __tablename__ = "fiscal_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    provider: Mapped[FiscalProvider] = mapped_column(EnumText(FiscalProvider, 16))
    cnpj: Mapped[str | None] = mapped_column(String(14))
    municipal_registration: Mapped[str | None] = mapped_column(String(15))
    municipality_code: Mapped[str | None] = mapped_column(String(7))
    service_code: Mapped[str | None] = mapped_column(String(6))
    service_description: Mapped[str | None] = mapped_column(String(2000))
    iss_rate_bp: Mapped[int]
    iss_retained: Mapped[bool]
    auto_issue: Mapped[bool]
    updated_at: Mapped[datetime]
