"""Request and response bodies of the e-mail API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator

from assina.core.inputs import NAME_PATTERN, InputModel, clean_name
from assina.notifications.models import Email, EmailKind, EmailStatus, Locale
from assina.notifications.templates import MAX_BODY_SOURCE, MAX_SUBJECT_SOURCE


class TemplateIn(InputModel):
    """A template's sources (Jinja2, sandboxed; docs/emails.md lists the variables)."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        min_length=1,
        max_length=MAX_SUBJECT_SOURCE,
        description="Rendered on one line (line breaks become spaces).",
        examples=["Lembrete: a cobrança nº {{ charge.number }} vence em {{ charge.due_date }}"],
    )
    html: str = Field(
        max_length=MAX_BODY_SOURCE,
        description="HTML body, autoescaped; an empty string sends a text-only e-mail.",
    )
    text: str = Field(min_length=1, max_length=MAX_BODY_SOURCE, description="Plain-text body.")


class VariableOut(BaseModel):
    name: str = Field(examples=["charge.amount"])
    description: str


class TemplateOut(BaseModel):
    kind: EmailKind
    description: str = Field(description="When this e-mail is sent.")
    customized: bool = Field(description="false while the default of the tenant's locale applies")
    subject: str
    html: str
    text: str
    variables: list[VariableOut]
    updated_at: datetime | None = Field(description="null while the default applies")


IdText = Annotated[str, Field(min_length=1, max_length=64)]


class PreviewIn(InputModel):
    """What to render: real objects of the tenant (anything not given is sample data), and
    optionally an unsaved template (else the saved one, or the default)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: IdText | None = None
    charge_id: IdText | None = Field(default=None, description="Its customer and contract too.")
    contract_id: IdText | None = Field(default=None, description="Its customer too.")
    fiscal_invoice_id: IdText | None = Field(
        default=None, description="A nota fiscal (`fiscal_invoice`): its charge and customer too."
    )
    locale: Locale | None = Field(default=None, description="Default: the tenant's locale.")
    template: TemplateIn | None = None


class PreviewOut(BaseModel):
    kind: EmailKind
    locale: Locale
    to: str | None = Field(description="The address it would go to (null: the customer has none)")
    subject: str
    html: str
    text: str


FromName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description='The sender\'s name: "Escola Alfa" (trimmed; no control characters).',
    ),
    AfterValidator(clean_name),
]


class EmailSettingsIn(InputModel):
    """The whole settings: a field left out takes its default."""

    model_config = ConfigDict(extra="forbid")

    locale: Locale = Field(
        default=Locale.PT_BR, description="Language of the default templates and formats."
    )
    from_name: FromName | None = None
    reply_to: EmailStr | None = Field(default=None, description="Where customers' replies go.")
    disabled_kinds: list[EmailKind] = Field(
        default_factory=list,
        max_length=len(EmailKind),
        description="Kinds this tenant does not send: none is queued, not even kept.",
        examples=[["charge_created"]],
    )

    @field_validator("disabled_kinds")
    @classmethod
    def _each_once(cls, kinds: list[EmailKind]) -> list[EmailKind]:
        return sorted(set(kinds), key=list(EmailKind).index)


class EmailSettingsOut(BaseModel):
    locale: Locale
    from_name: str | None
    reply_to: str | None
    disabled_kinds: list[EmailKind]
    from_address: str = Field(description="The sender address (ASSINA_SMTP_FROM, server-wide).")
    smtp_configured: bool = Field(description="Whether ASSINA_SMTP_URL is set on this server.")
    updated_at: datetime | None = Field(description="null while the defaults were never changed")


class EmailOut(BaseModel):
    id: str
    customer_id: str
    charge_id: str | None
    contract_id: str | None
    fiscal_invoice_id: str | None = Field(description="A `fiscal_invoice` e-mail's nota fiscal")
    kind: EmailKind
    to: str | None
    subject: str
    status: EmailStatus
    attempt_count: int
    next_attempt_at: datetime | None = Field(description="When the sender tries next, if ever")
    last_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime

    @classmethod
    def fields_of(cls, email: Email) -> dict[str, object]:
        waiting = email.status in (EmailStatus.PENDING, EmailStatus.NOT_CONFIGURED)
        return {
            "id": email.id,
            "customer_id": email.customer_id,
            "charge_id": email.charge_id,
            "contract_id": email.contract_id,
            "fiscal_invoice_id": email.fiscal_invoice_id,
            "kind": email.kind,
            "to": email.to_address,
            "subject": email.subject,
            "status": email.status,
            "attempt_count": email.attempt_count,
            "next_attempt_at": email.next_attempt_at if waiting else None,
            "last_attempt_at": email.last_attempt_at,
            "last_error": email.last_error,
            "sent_at": email.sent_at,
            "created_at": email.created_at,
        }

    @classmethod
    def of(cls, email: Email) -> EmailOut:
        return cls.model_validate(cls.fields_of(email))


class EmailDetail(EmailOut):
    text: str
    html: str

    @classmethod
    def of(cls, email: Email) -> EmailDetail:
        fields = cls.fields_of(email) | {"text": email.text_body, "html": email.html_body}
        return cls.model_validate(fields)
