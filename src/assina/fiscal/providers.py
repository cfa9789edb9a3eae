"""What assina asks of a fiscal issuer (who turns a settled charge into an NFS-e: the built-in
sandbox, fiscal/sandbox/; Asaas's invoices API), and what the issuer answers. The rest of
assina sees only these types.

Issuers are asynchronous, as real ones are: `issue` hands the invoice over and usually
answers `pending`; `look_up` is asked again until the issuer decides `issued` or `rejected`.
`cancel` asks for an issued invoice to be cancelled, which may also take a while
(`cancelling`, then `cancelled`; back to `issued` when the municipality denies it).

Every call is a request to a remote service: each may raise `ProviderUnavailable` (worth a
retry: a timeout, a 5xx, a 429) or `ProviderRefused` (final: the issuer refused the request as
it is). They are payments/providers.py's types, so one adapter (Asaas) raises one family.
`issue` takes an idempotency key (the assina invoice's id, one per attempt to invoice a
charge): sent again after a lost answer, the issuer answers the invoice it made, never a
second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from assina.payments.providers import ProviderError, ProviderRefused, ProviderUnavailable

__all__ = [
    "Emitter",
    "FiscalIssuer",
    "InvoiceOrder",
    "IssuedDocument",
    "IssuerInvoice",
    "IssuerStatus",
    "ProviderError",
    "ProviderRefused",
    "ProviderUnavailable",
    "Taker",
]


# --- what assina sends ------------------------------------------------------------------------


@dataclass(frozen=True)
class Emitter:
    """The tenant as the NFS-e's emitter (prestador), from its fiscal settings."""

    cnpj: str  # 14 digits
    municipal_registration: str | None  # inscrição municipal
    municipality_code: str  # IBGE, 7 digits: where the service is provided and the NFS-e issued
    name: str  # the tenant's name


@dataclass(frozen=True)
class Taker:
    """The customer as the NFS-e's taker (tomador). A taker without a document is a person
    the emitter did not identify (allowed for some services; the issuer may refuse it)."""

    customer_id: str
    name: str
    document: str | None  # CPF (11) or CNPJ (14) digits
    email: str | None
    # The customer's address as assina keeps it (customers' `address`: street, number,
    # district, city, state, postal_code, …), or None.
    address: dict[str, str] | None = None


@dataclass(frozen=True)
class InvoiceOrder:
    """One NFS-e to issue for one settled charge."""

    invoice_id: str  # assina's `nfs_…`: the issuer's external reference
    invoice_number: int  # assina's gap-free number (the DPS's nDPS)
    idempotency_key: str  # the same on every retry of this invoice
    charge_id: str
    emitter: Emitter
    taker: Taker
    amount: int  # the service's value, minor units of BRL
    iss_rate_bp: int  # ISS rate, basis points (200 = 2 %)
    iss_amount: int  # amount x rate, half-even to the centavo
    iss_retained: bool  # the taker withholds the ISS
    service_code: str  # cTribNac, 6 digits (national list of services, LC 116)
    service_description: str
    competence_date: date  # the settlement's day in the tenant's time zone
    requested_at: datetime  # the tenant's now (a sandbox tenant's test clock)


# --- what the issuer answers ------------------------------------------------------------------


class IssuerStatus(StrEnum):
    PENDING = "pending"  # received, not decided yet
    ISSUED = "issued"  # authorised: numbers, verification code, access key
    REJECTED = "rejected"  # refused for good (`reason`)
    CANCELLING = "cancelling"  # cancellation asked, not decided yet
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class IssuerInvoice:
    """The issuer's view of one invoice. Fields are None until the issuer has them."""

    provider_invoice_id: str
    status: IssuerStatus
    nfse_number: str | None = None  # the municipality's / national NFS-e number
    verification_code: str | None = None
    access_key: str | None = None  # chave de acesso of the Padrão Nacional, 50 digits
    issued_at: datetime | None = None
    # Why it was rejected; or, when a cancellation was denied (status back to ISSUED), why.
    reason: str | None = None
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class IssuedDocument:
    """A document the issuer serves for an invoice (its PDF, its XML)."""

    content: bytes
    media_type: str  # "application/pdf", "application/xml"


# --- the interface ----------------------------------------------------------------------------


class FiscalIssuer(Protocol):
    async def issue(self, order: InvoiceOrder) -> IssuerInvoice:
        """Hand the invoice to the issuer (the same `idempotency_key` again answers the one
        made before). Usually PENDING; ISSUED or REJECTED when it decides at once."""
        ...

    async def look_up(self, provider_invoice_id: str) -> IssuerInvoice:
        """Where the invoice stands now."""
        ...

    async def cancel(self, provider_invoice_id: str, reason: str) -> IssuerInvoice:
        """Ask for an issued invoice to be cancelled (`reason`: 15 to 255 characters, the
        national standard's xMotivo). CANCELLING or CANCELLED; ProviderRefused when it cannot
        be cancelled (not issued, or past the municipality's deadline)."""
        ...

    async def pdf(self, provider_invoice_id: str) -> IssuedDocument | None:
        """The issuer's own PDF (DANFSe) of an issued invoice; None: it serves none, and
        assina renders its own."""
        ...

    async def xml(self, provider_invoice_id: str) -> IssuedDocument | None:
        """The issuer's XML of the invoice; None: it serves none, and assina answers the DPS
        it builds itself (fiscal/dps.py)."""
        ...
