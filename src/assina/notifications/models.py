"""E-mail notifications: the tenant's templates and settings, and the `emails` outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column


class EmailKind(StrEnum):
    CHARGE_CREATED = "charge_created"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    SUSPENSION = "suspension"
    CANCELLATION = "cancellation"
    RECEIPT = "receipt"
    TRIAL_ENDING = "trial_ending"
    CARD_DECLINED = "card_declined"
    FISCAL_INVOICE = "fiscal_invoice"


class EmailStatus(StrEnum):
    # Queued; the sender takes it at `next_attempt_at` (the first try, or a retry).
    PENDING = "pending"
    SENT = "sent"
    # Refused for good (a 5xx to the recipient or the message), or the retries ran out.
    FAILED = "failed"
    # The sender ran without ASSINA_SMTP_URL; it is sent once a URL is set.
    NOT_CONFIGURED = "not_configured"
    # The customer has no e-mail address: kept for the record, never sent.
    NO_RECIPIENT = "no_recipient"


# What the sender may still send (the partial index below holds only these rows).
SENDABLE = (EmailStatus.PENDING, EmailStatus.NOT_CONFIGURED)
SENDABLE_PREDICATE = "status IN ('pending', 'not_configured')"


class Locale(StrEnum):
    PT_BR = "pt-BR"
    EN = "en"


class EmailTemplate(Base):
    """A tenant's own template for one kind; without a row the default of its locale applies."""

    __tablename__ = "email_templates"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    kind: Mapped[EmailKind] = mapped_column(EnumText(EmailKind, 32), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class EmailSettings(Base):
    """A tenant's e-mail settings; without a row: pt-BR, no sender name, no Reply-To, every
    kind sent."""

    __tablename__ = "email_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8))
    from_name: Mapped[str | None] = mapped_column(String(100))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    # Kinds never queued for this tenant (EmailKind values).
    disabled_kinds: Mapped[list[str]] = mapped_column(server_default=text("'[]'"))
    updated_at: Mapped[datetime]


class Email(Base):
    """One e-mail to one customer (the outbox): written in the same transaction as the step
    that causes it, with what renders it (kind, customer, charge, contract or nota fiscal,
    `created_at` as the day, the kind's numbers in `render_extra`), rendered and sent later
    by the worker's sender, which keeps what it sent in `subject`, `text_body` and
    `html_body`. Until `rendered_at` is set those three are empty (notifications/rendering.py
    renders such an e-mail for whoever reads it meanwhile)."""

    __tablename__ = "emails"
    __table_args__ = (
        # A notice is queued once: the caller's key for it (kind, object, day), when it has one.
        UniqueConstraint("tenant_id", "notice_key"),
        Index("ix_emails_tenant_id_id", "tenant_id", "id"),
        Index("ix_emails_tenant_id_customer_id_id", "tenant_id", "customer_id", "id"),
        Index("ix_emails_tenant_id_status_id", "tenant_id", "status", "id"),
        # The sender's claim: what is still to send, oldest due first. Partial, so that it
        # holds only the work left however many sent e-mails are kept.
        Index(
            "ix_emails_due",
            "next_attempt_at",
            postgresql_where=text(SENDABLE_PREDICATE),
            sqlite_where=text(SENDABLE_PREDICATE),
        ),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    charge_id: Mapped[str | None] = mapped_column(ForeignKey("charges.id"))
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    # A `fiscal_invoice` e-mail's nota fiscal: the sender attaches its PDF, rendered when sent.
    fiscal_invoice_id: Mapped[str | None] = mapped_column(ForeignKey("fiscal_invoices.id"))
    kind: Mapped[EmailKind] = mapped_column(EnumText(EmailKind, 32))
    notice_key: Mapped[str | None] = mapped_column(String(200))
    to_address: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(100))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    rendered_at: Mapped[datetime | None]
    # The kind's numbers the caller gave (`extra` of build_variables), kept for the render.
    render_extra: Mapped[dict[str, Any] | None]
    status: Mapped[EmailStatus] = mapped_column(EnumText(EmailStatus, 16))
    attempt_count: Mapped[int]
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class EmailRow(TypedDict):
    """An `emails` row by attribute name, as queueing writes it (notifications/outbox.py)."""

    id: str
    tenant_id: str
    customer_id: str
    charge_id: str | None
    contract_id: str | None
    fiscal_invoice_id: str | None
    kind: EmailKind
    notice_key: str | None
    to_address: str | None
    from_name: str | None
    reply_to: str | None
    subject: str
    text_body: str
    html_body: str
    rendered_at: datetime | None
    render_extra: dict[str, Any] | None
    status: EmailStatus
    attempt_count: int
    next_attempt_at: datetime
    locked_until: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime
