from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from assina.core.documents import Document, DocumentKind, document_kind
from assina.core.inputs import InputModel, Name, Phone
from assina.core.metadata import Metadata
from assina.core.patching import reject_null
from assina.suppliers.models import Supplier


class SupplierCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    document: Document | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    metadata: Metadata = Field(default_factory=dict)


class SupplierUpdate(InputModel):
    """Only the fields sent change; `null` clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    document: Document | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    metadata: Metadata | None = None

    _not_null = field_validator("name", "metadata")(reject_null)


class SupplierOut(BaseModel):
    id: str
    number: int
    name: str
    document: str | None = Field(description="CPF or CNPJ, digits only.")
    document_type: DocumentKind | None
    email: str | None
    phone: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, supplier: Supplier) -> SupplierOut:
        return cls(
            id=supplier.id,
            number=supplier.number,
            name=supplier.name,
            document=supplier.document,
            document_type=document_kind(supplier.document) if supplier.document else None,
            email=supplier.email,
            phone=supplier.phone,
            metadata=supplier.metadata_,
            created_at=supplier.created_at,
            updated_at=supplier.updated_at,
        )


class SupplierLabel(NamedTuple):
    """How an expense names its supplier: by name, and by number for integrations."""

    name: str
    number: int
