"""A tenant's payment settings (the provider of each rail, the Asaas credentials sealed) and
its inbound tokens (one per provider: the secret part of the URL a provider notifies)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText


class PaymentProvider(StrEnum):
    """Who moves the money of a rail: the built-in sandbox (sandbox tenants only) or Asaas."""

    SANDBOX = "sandbox"
    ASAAS = "asaas"


class AsaasEnvironment(StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class PaymentSettings(Base):
    """A tenant's payment settings; a tenant without a row has its mode's defaults
    (schemas.py `default_settings`)."""

    __tablename__ = "payment_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    card_provider: Mapped[PaymentProvider | None] = mapped_column(EnumText(PaymentProvider, 16))
    card_retry_days: Mapped[list[int]]
    boleto_provider: Mapped[PaymentProvider | None] = mapped_column(EnumText(PaymentProvider, 16))
    # {"code", "agreement", "wallet", "agency", "account"}: the beneficiary's bank agreement.
    boleto_bank: Mapped[dict[str, Any] | None]
    pix_provider: Mapped[PaymentProvider | None] = mapped_column(EnumText(PaymentProvider, 16))
    asaas_environment: Mapped[AsaasEnvironment] = mapped_column(EnumText(AsaasEnvironment, 16))
    # Sealed with the SecretBox; the last four characters are shown to tell keys apart.
    asaas_api_key_sealed: Mapped[str | None] = mapped_column(String(2048))
    asaas_api_key_last4: Mapped[str | None] = mapped_column(String(4))
    asaas_webhook_token_sealed: Mapped[str | None] = mapped_column(String(2048))
    updated_at: Mapped[datetime]


class InboundToken(Base):
    """The token in `/v1/inbound/{provider}/{token}`: sealed, to show the URL again, and its
    SHA-256, to find the tenant from a notification without opening every token."""

    __tablename__ = "payment_inbound_tokens"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    provider: Mapped[PaymentProvider] = mapped_column(
        EnumText(PaymentProvider, 16), primary_key=True
    )
    token_sealed: Mapped[str] = mapped_column(String(512))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
