from __future__ import annotations

from datetime import datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from assina.core.documents import Document, DocumentKind, document_kind, only_digits
from assina.core.inputs import InputModel, Name, Phone
from assina.core.metadata import Metadata
from assina.core.patching import reject_null
from assina.customers.models import Customer, CustomerStatus

_EMAIL = TypeAdapter(EmailStr)
CEP_DIGITS = 8


def stored_email(email: str) -> str:
    """The form in which an address is stored (domain lower-cased), so that a filter finds
    what was sent; text that is no address is left as it is (and matches nothing)."""
    try:
        return _EMAIL.validate_python(email)
    except ValidationError:
        return email


def normalize_cep(postal_code: str) -> str:
    """A Brazilian CEP as its 8 digits, punctuation (`.`, `-`, spaces) stripped, or
    ValueError."""
    digits = only_digits(postal_code)
    if len(digits) != CEP_DIGITS or not digits.isascii() or not digits.isdigit():
        raise ValueError("a Brazilian CEP has 8 digits, e.g. 01001-000")
    return digits


class Address(InputModel):
    model_config = ConfigDict(extra="forbid")

    street: str | None = Field(default=None, max_length=200)
    number: str | None = Field(default=None, max_length=20)
    complement: str | None = Field(default=None, max_length=100)
    district: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=50)
    # Before postal_code, whose check depends on it.
    country: str = Field(default="BR", min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    postal_code: str | None = Field(
        default=None,
        max_length=16,
        description="A Brazilian CEP (8 digits, with or without punctuation) is stored "
        "digits-only; another country's postal code is kept as sent.",
        examples=["01001-000"],
    )

    @field_validator("postal_code")
    @classmethod
    def _postal_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or str(info.data.get("country", "")).upper() != "BR":
            return value
        return normalize_cep(value)


class CustomerCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: EmailStr | None = None
    document: Document | None = None
    phone: Phone | None = None
    address: Address | None = None
    metadata: Metadata = Field(default_factory=dict)
    dunning_exempt: bool = Field(
        default=False, strict=True, description="Never delinquent, suspended or cancelled."
    )


class CustomerUpdate(InputModel):
    """Only the fields sent change; `null` clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: EmailStr | None = None
    document: Document | None = None
    phone: Phone | None = None
    address: Address | None = None
    metadata: Metadata | None = None
    dunning_exempt: bool | None = Field(default=None, strict=True)

    _not_null = field_validator("name", "metadata", "dunning_exempt")(reject_null)


class CustomerOut(BaseModel):
    id: str
    number: int
    name: str
    email: str | None
    document: str | None
    document_type: DocumentKind | None
    phone: str | None
    address: Address | None
    status: CustomerStatus
    dunning_exempt: bool = Field(
        default=False, description="Left alone by the dunning policy (docs/dunning.md)."
    )
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(
            id=customer.id,
            number=customer.number,
            name=customer.name,
            email=customer.email,
            document=customer.document,
            document_type=document_kind(customer.document) if customer.document else None,
            phone=customer.phone,
            # As stored: an address saved before a rule changed must still read.
            address=Address.model_construct(**customer.address) if customer.address else None,
            status=customer.status,
            dunning_exempt=customer.dunning_exempt,
            metadata=customer.metadata_,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


class CustomerStatusChangedOut(CustomerOut):
    """`customer.status_changed`'s data: the customer after the move, and the move."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    from_status: CustomerStatus = Field(alias="from", description="Before the move.")
    to_status: CustomerStatus = Field(alias="to", description="After the move.")
    reason: str = Field(
        description="overdue, suspended, paid or partially_paid (docs/dunning.md)",
        examples=["overdue"],
    )
