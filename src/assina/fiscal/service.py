"""Notas fiscais: asked for (by a request, or by the auto-issue reaction for a batch of
settled charges), read, and their cancellation asked for. Each writes the invoice and its
issuer job in the caller's transaction; the issuer relay (fiscal/relay.py) does the rest.

A charge has at most one live (pending or issued) invoice: asking again answers that one.
A rejected or cancelled invoice's charge may be invoiced again (a new invoice, a new
number)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.charges.service import get_charge
from assina.core.clock import Clock, local_date
from assina.core.errors import Problem, conflict, not_found
from assina.core.ids import new_id
from assina.core.money import DEFAULT_CURRENCY
from assina.core.paging import PageParams, fetch_page
from assina.db.shapes import insert_rows, one_of
from assina.fiscal.models import (
    LIVE,
    FiscalInvoice,
    FiscalInvoiceStatus,
    FiscalIssuerJob,
    IssuerJobStatus,
    IssuerStep,
)
from assina.fiscal.schemas import FiscalInvoiceRequest
from assina.fiscal_settings.schemas import MAX_SERVICE_DESCRIPTION, FiscalRules
from assina.fiscal_settings.service import fiscal_rules
from assina.rules.fiscal import iss_amount
from assina.tenants.counters import Counter, reserve_values
from assina.tenants.models import Tenant


@dataclass(frozen=True)
class Invoiced:
    """A settled charge to invoice, as its row or its `charge.settled` data gives it."""

    charge_id: str
    customer_id: str
    amount: int
    currency: str
    settled_at: datetime
    lines: Sequence[str]  # the lines' descriptions
    number: int
    metadata: Mapping[str, str] | None = None
    service_description: str | None = None


def invoiced_of(charge: Mapping[str, Any]) -> Invoiced:
    """From a charge's row or its event data (ChargeOut's JSON)."""
    settled_at = charge["settled_at"]
    if isinstance(settled_at, str):
        settled_at = datetime.fromisoformat(settled_at)
    return Invoiced(
        charge_id=charge["id"],
        customer_id=charge["customer_id"],
        amount=charge["amount"],
        currency=charge["currency"],
        settled_at=settled_at,
        lines=[line["description"] for line in charge["items"] if line.get("description")],
        number=charge["number"],
    )


def invoiceable(charge: Invoiced) -> bool:
    """Only money received for a service is invoiced: a positive amount in reais."""
    return charge.amount > 0 and charge.currency == DEFAULT_CURRENCY


def _description(rules: FiscalRules, charge: Invoiced) -> str:
    text = charge.service_description or rules.service_description
    if text is None:
        text = "; ".join(charge.lines) or f"Cobrança {charge.number}"
    return text[:MAX_SERVICE_DESCRIPTION]


async def live_invoices(
    session: AsyncSession, tenant_id: str, charge_ids: Sequence[str]
) -> dict[str, FiscalInvoice]:
    """The live invoice of each of these charges that has one."""
    if not charge_ids:
        return {}
    found = await session.scalars(
        select(FiscalInvoice).where(
            FiscalInvoice.tenant_id == tenant_id,
            one_of(FiscalInvoice.charge_id, charge_ids),
            FiscalInvoice.status.in_(LIVE),
        )
    )
    return {invoice.charge_id: invoice for invoice in found}


async def queue_invoices(
    session: AsyncSession,
    tenant: Tenant,
    rules: FiscalRules,
    charges: Sequence[Invoiced],
    now: datetime,
    due_at: datetime,
) -> list[str]:
    """Pending invoices, and their issuer jobs due at `due_at` (real time), for these settled
    charges that have none live: numbers reserved at once, two INSERTs for the batch.
    Returns the new invoices' ids. The caller checked `rules.missing` and `invoiceable`."""
    assert rules.cnpj and rules.municipality_code and rules.service_code  # noqa: S101
    live = await live_invoices(session, tenant.id, [charge.charge_id for charge in charges])
    wanted = [charge for charge in charges if charge.charge_id not in live]
    if not wanted:
        return []
    first = await reserve_values(session, tenant.id, Counter.FISCAL_INVOICE_NUMBER, len(wanted))
    rows: list[dict[str, Any]] = []
    for offset, charge in enumerate(wanted):
        rows.append(
            {
                "id": new_id("nfs"),
                "tenant_id": tenant.id,
                "number": first + offset,
                "charge_id": charge.charge_id,
                "charge_number": charge.number,
                "customer_id": charge.customer_id,
                "status": FiscalInvoiceStatus.PENDING,
                "provider": rules.provider,
                "provider_invoice_id": None,
                "amount": charge.amount,
                "currency": charge.currency,
                "iss_rate_bp": rules.iss_rate_bp,
                "iss_amount": iss_amount(charge.amount, rules.iss_rate_bp),
                "iss_retained": rules.iss_retained,
                "service_code": rules.service_code,
                "service_description": _description(rules, charge),
                "competence_date": local_date(charge.settled_at, tenant.time_zone),
                "emitter_cnpj": rules.cnpj,
                "emitter_municipal_registration": rules.municipal_registration,
                "municipality_code": rules.municipality_code,
                "nfse_number": None,
                "verification_code": None,
                "access_key": None,
                "issued_at": None,
                "rejection_reason": None,
                "cancel_reason": None,
                "cancel_requested_at": None,
                "cancelled_at": None,
                "metadata_": dict(charge.metadata or {}),
                "created_at": now,
                "updated_at": now,
            }
        )
    await insert_rows(session, insert(FiscalInvoice), rows)
    jobs = [_job(row["id"], tenant.id, IssuerStep.ISSUE, due_at) for row in rows]
    await insert_rows(session, insert(FiscalIssuerJob), jobs)
    return [row["id"] for row in rows]


def _job(invoice_id: str, tenant_id: str, step: IssuerStep, due_at: datetime) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "tenant_id": tenant_id,
        "step": step,
        "status": IssuerJobStatus.PENDING,
        "attempt_count": 0,
        "next_attempt_at": due_at,
        "last_attempt_at": None,
        "locked_until": None,
        "done_at": None,
        "last_error": None,
        "created_at": due_at,
    }


def settings_incomplete(missing: Sequence[str]) -> Problem:
    return conflict(
        f"The fiscal settings lack {', '.join(missing)}: PUT /v1/fiscal-settings first.",
        "fiscal-settings-incomplete",
    )


async def request_invoice(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    charge_id: str,
    params: FiscalInvoiceRequest,
) -> tuple[FiscalInvoice, bool]:
    """The charge's invoice: its live one if it has one, else a new pending one (the charge
    row locked meanwhile, so that two requests make one). Returns it and whether it is new.
    409 unless the charge is settled, has something to invoice, and the settings are set."""
    charge = await get_charge(session, tenant_id, charge_id, for_update=True)
    live = (await live_invoices(session, tenant_id, [charge.id])).get(charge.id)
    if live is not None:
        return live, False
    if charge.status != ChargeStatus.SETTLED or charge.settled_at is None:
        raise conflict(
            f"Charge {charge_id!r} is {charge.status.value}: only a settled charge is invoiced.",
            "invalid-transition",
        )
    invoiced = invoiced_of(_charge_row(charge))
    if not invoiceable(invoiced):
        raise conflict("Only a charge of more than 0 in BRL is invoiced.", "nothing-to-invoice")
    rules = await fiscal_rules(session, tenant_id)
    if rules.missing:
        raise settings_incomplete(rules.missing)
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None  # noqa: S101 (the caller's tenant)
    asked = _with(invoiced, params)
    [invoice_id] = await queue_invoices(
        session, tenant, rules, [asked], clock.now(), clock.real_now()
    )
    return await get_invoice(session, tenant_id, invoice_id), True


def _with(invoiced: Invoiced, params: FiscalInvoiceRequest) -> Invoiced:
    return Invoiced(
        charge_id=invoiced.charge_id,
        customer_id=invoiced.customer_id,
        amount=invoiced.amount,
        currency=invoiced.currency,
        settled_at=invoiced.settled_at,
        lines=invoiced.lines,
        number=invoiced.number,
        metadata=params.metadata,
        service_description=params.service_description,
    )


def _charge_row(charge: Charge) -> dict[str, Any]:
    return {
        "id": charge.id,
        "customer_id": charge.customer_id,
        "amount": charge.amount,
        "currency": charge.currency,
        "settled_at": charge.settled_at,
        "items": charge.items,
        "number": charge.number,
    }


async def get_invoice(
    session: AsyncSession, tenant_id: str, invoice_id: str, *, for_update: bool = False
) -> FiscalInvoice:
    statement = select(FiscalInvoice).where(
        FiscalInvoice.tenant_id == tenant_id, FiscalInvoice.id == invoice_id
    )
    if for_update:
        statement = statement.with_for_update()
    invoice = await session.scalar(statement)
    if invoice is None:
        raise not_found("fiscal invoice", invoice_id)
    return invoice


@dataclass(frozen=True)
class InvoiceFilters:
    status: FiscalInvoiceStatus | None = None
    charge_id: str | None = None
    customer_id: str | None = None


async def list_invoices(
    session: AsyncSession, tenant_id: str, filters: InvoiceFilters, page: PageParams
) -> tuple[Sequence[FiscalInvoice], bool]:
    statement = select(FiscalInvoice).where(FiscalInvoice.tenant_id == tenant_id)
    if filters.status is not None:
        statement = statement.where(FiscalInvoice.status == filters.status)
    if filters.charge_id is not None:
        statement = statement.where(FiscalInvoice.charge_id == filters.charge_id)
    if filters.customer_id is not None:
        statement = statement.where(FiscalInvoice.customer_id == filters.customer_id)
    return await fetch_page(session, statement, FiscalInvoice.id, page)


async def request_cancellation(
    session: AsyncSession, clock: Clock, tenant_id: str, invoice_id: str, reason: str
) -> FiscalInvoice:
    """An issued invoice's cancellation asked of its issuer (the relay asks; the invoice is
    `cancelled` once the issuer confirms). 409 unless it is issued with no cancellation
    asked already."""
    invoice = await get_invoice(session, tenant_id, invoice_id, for_update=True)
    if invoice.status != FiscalInvoiceStatus.ISSUED or invoice.cancel_requested_at is not None:
        asked = " (its cancellation is under way)" if invoice.cancel_requested_at else ""
        raise conflict(
            f"Fiscal invoice {invoice_id!r} is {invoice.status.value}{asked}: only an issued "
            "invoice is cancelled.",
            "invalid-transition",
        )
    now = clock.now()
    invoice.cancel_reason = reason
    invoice.cancel_requested_at = now
    invoice.updated_at = now
    job = await session.get(FiscalIssuerJob, invoice.id)
    assert job is not None  # noqa: S101 (every invoice has its job)
    for name, value in _job(invoice.id, tenant_id, IssuerStep.CANCEL, clock.real_now()).items():
        if name not in ("id", "tenant_id", "created_at"):
            setattr(job, name, value)
    await session.flush()
    return invoice
