"""Notas fiscais as the API takes and shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from assina.core.inputs import InputModel
from assina.core.metadata import Metadata
from assina.fiscal.models import FiscalInvoice, FiscalInvoiceStatus
from assina.fiscal_settings.models import FiscalProvider
from assina.fiscal_settings.schemas import ServiceDescription

# The national standard's xMotivo (TSMotivo): 15 to 255 characters of Latin-1 text, no
# control character, no space at either end; stated in the schema, checked by pydantic.
MIN_CANCEL_REASON, MAX_CANCEL_REASON = 15, 255
_LATIN_1_TEXT, _LATIN_1_VISIBLE = r"[ -~\u00a0-\u00ff]", r"[!-~\u00a1-\u00ff]"
CancelReason = Annotated[
    str,
    Field(
        min_length=MIN_CANCEL_REASON,
        max_length=MAX_CANCEL_REASON,
        pattern=f"^{_LATIN_1_VISIBLE}({_LATIN_1_TEXT}*{_LATIN_1_VISIBLE})?$",
    ),
]


class FiscalInvoiceRequest(InputModel):
    """What `POST /v1/charges/{id}/fiscal-invoice` may say; all optional."""

    service_description: ServiceDescription | None = Field(
        default=None,
        description="What was provided; default: the fiscal settings' description, else the "
        "charge's lines.",
    )
    metadata: Metadata = Field(default_factory=dict)


class FiscalInvoiceCancel(InputModel):
    reason: CancelReason = Field(description="Why (15 to 255 characters, xMotivo).")


class FiscalInvoiceOut(BaseModel):
    id: str
    number: int = Field(description="assina's number: per tenant, without gaps.")
    charge_id: str
    charge_number: int = Field(description="The charge's `number`.")
    customer_id: str
    status: FiscalInvoiceStatus
    provider: FiscalProvider
    amount: int
    currency: str
    iss_rate_bp: int
    iss_amount: int
    iss_retained: bool
    service_code: str
    service_description: str
    competence_date: date
    nfse_number: str | None = Field(description="The issuer's number; null while pending.")
    verification_code: str | None
    access_key: str | None = Field(description="The chave de acesso (50 digits) once issued.")
    issued_at: datetime | None
    rejection_reason: str | None
    cancel_reason: str | None = Field(description="Set when a cancellation is asked for.")
    cancel_requested_at: datetime | None
    cancelled_at: datetime | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, invoice: FiscalInvoice) -> FiscalInvoiceOut:
        fields = {name: getattr(invoice, name) for name in cls.model_fields if name != "metadata"}
        return cls(**fields, metadata=invoice.metadata_)
