"""Notas fiscais (NFS-e) and the issuer's work on them.

`FiscalInvoice` is what assina shows; `FiscalIssuerJob` (one per invoice, same id) is the
relay's outbox row (relay/kernel.py): what the issuer relay (fiscal/relay.py) must do next
for the invoice (`step`), when, and how many times it tried."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column
from assina.fiscal_settings.models import FiscalProvider


class FiscalInvoiceStatus(StrEnum):
    PENDING = "pending"  # written; the issuer has not decided
    ISSUED = "issued"
    REJECTED = "rejected"  # final; the charge may be invoiced again
    CANCELLED = "cancelled"  # final


# An invoice in these states stands for its charge: a second request answers it.
LIVE = (FiscalInvoiceStatus.PENDING, FiscalInvoiceStatus.ISSUED)
_LIVE_SQL = "status IN ('pending', 'issued')"


class FiscalInvoice(Base):
    __tablename__ = "fiscal_invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_fiscal_invoices_tenant_id_id", "tenant_id", "id"),
        Index("ix_fiscal_invoices_tenant_id_charge_id", "tenant_id", "charge_id"),
        Index("ix_fiscal_invoices_tenant_id_customer_id", "tenant_id", "customer_id"),
        # At most one live invoice per charge, whatever races.
        Index(
            "ix_fiscal_invoices_live_charge",
            "tenant_id",
            "charge_id",
            unique=True,
            sqlite_where=text(_LIVE_SQL),
            postgresql_where=text(_LIVE_SQL),
        ),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger)
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"), nullable=False)
    # The charge's `number`, kept for receivers that name charges by number (superlogica).
    charge_number: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    status: Mapped[FiscalInvoiceStatus] = mapped_column(EnumText(FiscalInvoiceStatus, 16))
    provider: Mapped[FiscalProvider] = mapped_column(EnumText(FiscalProvider, 16))
    provider_invoice_id: Mapped[str | None] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    iss_rate_bp: Mapped[int]
    iss_amount: Mapped[int] = mapped_column(BigInteger)
    iss_retained: Mapped[bool]
    service_code: Mapped[str] = mapped_column(String(6))
    service_description: Mapped[str] = mapped_column(String(2000))
    competence_date: Mapped[date]
    # The emitter as it was when the invoice was asked for (the DPS and the PDF show it).
    emitter_cnpj: Mapped[str] = mapped_column(String(14))
    emitter_municipal_registration: Mapped[str | None] = mapped_column(String(15))
    municipality_code: Mapped[str] = mapped_column(String(7))
    # What the issuer gives.
    nfse_number: Mapped[str | None] = mapped_column(String(20))
    verification_code: Mapped[str | None] = mapped_column(String(64))
    access_key: Mapped[str | None] = mapped_column(String(50))
    issued_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(String(512))
    cancel_reason: Mapped[str | None] = mapped_column(String(255))
    cancel_requested_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IssuerStep(StrEnum):
    ISSUE = "issue"  # hand the invoice to the issuer
    LOOK_UP = "look_up"  # ask the issuer until it decides (issue, or cancellation)
    CANCEL = "cancel"  # ask the issuer to cancel


class IssuerJobStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    DONE = "done"  # the issuer decided: the invoice shows it
    FAILED = "failed"  # refused, or the retries spent: last_error says why


class FiscalIssuerJob(Base):
    __tablename__ = "fiscal_issuer_jobs"
    __table_args__ = (
        Index("ix_fiscal_issuer_jobs_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(ForeignKey("fiscal_invoices.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    step: Mapped[IssuerStep] = mapped_column(EnumText(IssuerStep, 16))
    status: Mapped[IssuerJobStatus] = mapped_column(EnumText(IssuerJobStatus, 16))
    attempt_count: Mapped[int]
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]
