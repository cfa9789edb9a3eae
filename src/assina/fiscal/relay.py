"""Notas fiscais issued and cancelled through their issuers: the issuer adapter of the relay
kernel (relay/kernel.py), over the `fiscal_issuer_jobs` outbox (one job per invoice).

A job's `step` says what to ask next:

- `issue`: the invoice handed to the issuer (its idempotency key the invoice's id, so a lost
  answer's retry makes no second invoice). `pending` → `look_up` soon (`poll_first`);
  `issued`/`rejected` at once → recorded.
- `look_up`: asked until the issuer decides: still pending → asked again on POLL (the
  attempts counting until the steps run out: then `failed`, the invoice left pending);
  issued → the invoice `issued` with the issuer's number, verification code and access key
  (`fiscal_invoice.issued`); rejected → `rejected` with the reason
  (`fiscal_invoice.rejected`); during a cancellation, cancelled → `cancelled`
  (`fiscal_invoice.cancelled`), issued again → the cancellation denied (the job `failed`
  with the reason, the invoice issued and its cancellation request cleared).
- `cancel`: the issuer asked to cancel: cancelled → recorded; cancelling → `look_up`.

No transaction is open while an issuer is called; a batch's answers are recorded in one
transaction, with the events of each tenant emitted together. An issuer that does not answer
is retried on ISSUER_RETRIES; a refusal is final: an `issue` refused rejects the invoice with
the refusal as the reason; a `cancel` refused leaves it issued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.customers.models import Customer
from assina.db.database import Database
from assina.events.catalog import EventType
from assina.events.service import Change, emit_typed_events
from assina.fiscal.issuers import FiscalIssuers
from assina.fiscal.models import (
    FiscalInvoice,
    FiscalInvoiceStatus,
    FiscalIssuerJob,
    IssuerJobStatus,
    IssuerStep,
)
from assina.fiscal.providers import (
    Emitter,
    InvoiceOrder,
    IssuerInvoice,
    IssuerStatus,
    ProviderRefused,
    ProviderUnavailable,
    Taker,
)
from assina.fiscal.schemas import FiscalInvoiceOut
from assina.relay.kernel import Relay
from assina.relay.outbox import Outbox, skip_locked
from assina.relay.outcomes import Attempted, Delivered, FailedForGood, RetryLater, Verdict
from assina.relay.schedule import RetrySchedule
from assina.tenants.clock import calendar_tenant
from assina.tenants.models import Tenant

logger = logging.getLogger("assina.fiscal")

BATCH = 100
CONCURRENCY = 16
ISSUER_RETRIES = RetrySchedule(
    tuple(timedelta(minutes=m) for m in (1, 5, 30, 120, 360, 1440)), jitter=0.1
)
# How often a pending decision is asked for: soon, then less and less, for about four days.
POLL = RetrySchedule(
    tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 60, 180, 360, 720, 1440, 1440, 1440))
)
JOBS: Table = FiscalIssuerJob.__table__  # type: ignore[assignment]
ISSUER_OUTBOX = Outbox(
    JOBS,
    pending=(IssuerJobStatus.PENDING,),
    delivered=IssuerJobStatus.DONE,
    failed=IssuerJobStatus.FAILED,
    delivered_at="done_at",
    last_error="last_error",
)


@dataclass(frozen=True)
class IssuerRelayConfig:
    batch_size: int = BATCH
    concurrency: int = CONCURRENCY
    lease: timedelta = timedelta(minutes=5)
    poll_interval_seconds: float = 5.0
    # After the issuer takes an invoice (or a cancellation) and answers pending: when to ask.
    poll_first: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class _Job:
    invoice_id: str
    tenant_id: str
    step: IssuerStep
    attempts_before: int
    invoice: FiscalInvoice
    order: InvoiceOrder | None  # for `issue`


@dataclass(frozen=True)
class _Answer:
    job: _Job
    verdict: Verdict
    answer: IssuerInvoice | None = None


class IssuerRelay:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        issuers: FiscalIssuers,
        config: IssuerRelayConfig | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.issuers = issuers
        self.config = config or IssuerRelayConfig()
        self.relay = Relay(
            database,
            clock,
            ISSUER_OUTBOX,
            lease=self.config.lease,
            poll_interval_seconds=self.config.poll_interval_seconds,
            wake_on_commits=False,
        )

    async def run_once(self, tenant_id: str | None = None) -> int:
        """One batch: claim, call, record; returns how many jobs were claimed."""
        jobs = await self._claim(tenant_id)
        if not jobs:
            return 0
        limit = asyncio.Semaphore(self.config.concurrency)

        async def called(job: _Job) -> _Answer:
            async with limit:
                return await self._call(job)

        answers = await asyncio.gather(*(called(job) for job in jobs))
        await self._record(answers)
        return len(jobs)

    async def run_all(self, tenant_id: str | None = None) -> int:
        """Batches until none is due (tests)."""
        total = 0
        while claimed := await self.run_once(tenant_id):
            total += claimed
            if claimed < self.config.batch_size:
                break
        return total

    async def run(self, stop: asyncio.Event) -> None:
        async def step() -> bool:
            return await self.run_once() >= self.config.batch_size

        await self.relay.run(stop, step, "fiscal issuer pass")

    # --- claim ---------------------------------------------------------------------------

    async def _claim(self, tenant_id: str | None) -> list[_Job]:
        async with self.relay.claiming() as claim:
            due = (
                select(FiscalIssuerJob)
                .where(ISSUER_OUTBOX.due(claim.now))
                .order_by(FiscalIssuerJob.next_attempt_at, FiscalIssuerJob.id)
                .limit(self.config.batch_size)
            )
            if tenant_id is not None:
                due = due.where(FiscalIssuerJob.tenant_id == tenant_id)
            rows = (await claim.session.scalars(skip_locked(due, self.relay.lock_rows))).all()
            if not rows:
                return []
            found = await claim.session.execute(
                select(FiscalInvoice, Customer, Tenant.name)
                .join(Customer, Customer.id == FiscalInvoice.customer_id)
                .join(Tenant, Tenant.id == FiscalInvoice.tenant_id)
                .where(FiscalInvoice.id.in_([row.id for row in rows]))
            )
            details = {invoice.id: (invoice, customer, name) for invoice, customer, name in found}
            await claim.lease([row.id for row in rows])
        return [
            _job(row, *details[row.id])
            for row in rows
            if row.id in details  # every job has its invoice (a foreign key)
        ]

    # --- call ----------------------------------------------------------------------------

    async def _call(self, job: _Job) -> _Answer:
        invoice = job.invoice
        try:
            issuer = await self.issuers.issuer(job.tenant_id, invoice.provider)
            if job.step == IssuerStep.ISSUE:
                assert job.order is not None  # noqa: S101 (made for every issue step)
                answer = await issuer.issue(job.order)
            elif invoice.provider_invoice_id is None:
                return _Answer(job, FailedForGood("the issuer never took this invoice"))
            elif job.step == IssuerStep.CANCEL:
                answer = await issuer.cancel(
                    invoice.provider_invoice_id, invoice.cancel_reason or ""
                )
            else:
                answer = await issuer.look_up(invoice.provider_invoice_id)
        except ProviderRefused as refused:
            return _Answer(job, FailedForGood(f"refused: {refused}"))
        except ProviderUnavailable as error:
            return _Answer(job, RetryLater(str(error)))
        except Exception as error:  # one job's failure, retried; the batch goes on
            logger.exception("fiscal issuer job %s failed", job.invoice_id)
            return _Answer(job, RetryLater(f"{type(error).__name__}: {error}"))
        return _Answer(job, Delivered(), answer)

    # --- record --------------------------------------------------------------------------

    async def _record(self, answers: Sequence[_Answer]) -> None:
        async with self.database.write() as session:
            now = self.clock.now()
            attempts: list[Attempted] = []
            waiting: list[str] = []
            events: dict[str, list[tuple[EventType, FiscalInvoice]]] = {}
            for answer in answers:
                invoice = await session.get(
                    FiscalInvoice, answer.job.invoice_id, with_for_update=True
                )
                if invoice is None:
                    continue
                verdict, event, wait = _outcome(answer, invoice, now)
                if wait:
                    waiting.append(invoice.id)
                else:
                    polling = isinstance(verdict, RetryLater) and answer.answer is not None
                    schedule = POLL if polling else ISSUER_RETRIES
                    attempts.append(
                        Attempted(invoice.id, answer.job.attempts_before, verdict, schedule)
                    )
                if event is not None:
                    events.setdefault(invoice.tenant_id, []).append((event, invoice))
            await self.relay.outbox.record(session, attempts, now, self.relay.rng)
            await self._poll_soon(session, waiting, now)
            await session.flush()
            await self._emit(session, events)

    async def _poll_soon(self, session: AsyncSession, ids: Sequence[str], now: datetime) -> None:
        """The issuer took it and has not decided: ask again soon, attempts counted anew."""
        if ids:
            await session.execute(
                update(FiscalIssuerJob)
                .where(FiscalIssuerJob.id.in_(ids))
                .values(
                    step=IssuerStep.LOOK_UP,
                    status=IssuerJobStatus.PENDING,
                    attempt_count=0,
                    last_attempt_at=now,
                    next_attempt_at=now + self.config.poll_first,
                    locked_until=None,
                    last_error=None,
                )
            )

    async def _emit(
        self, session: AsyncSession, events: dict[str, list[tuple[EventType, FiscalInvoice]]]
    ) -> None:
        for tenant_id, moved in events.items():
            tenant = await calendar_tenant(session, tenant_id)
            if tenant is None:
                continue
            clock = tenant.clock(self.clock)
            changes = [
                (kind, Change(FiscalInvoiceOut.of(invoice), invoice.customer_id, _previous(kind)))
                for kind, invoice in moved
            ]
            await emit_typed_events(
                session, clock, tenant_id, changes, now=clock.now(), due_at=self.clock.real_now()
            )


def _previous(kind: EventType) -> dict[str, Any]:
    before = FiscalInvoiceStatus.ISSUED if kind == EventType.FISCAL_INVOICE_CANCELLED else None
    return {"status": (before or FiscalInvoiceStatus.PENDING).value}


def _outcome(
    answer: _Answer, invoice: FiscalInvoice, now: datetime
) -> tuple[Verdict, EventType | None, bool]:
    """What the answer does to the invoice (changed in place), the job's verdict, the event
    to emit, and whether the job now waits for the issuer's decision (`_poll_soon`)."""
    job, verdict, seen = answer.job, answer.verdict, answer.answer
    if seen is None:
        if isinstance(verdict, FailedForGood) and job.step == IssuerStep.ISSUE:
            _reject(invoice, verdict.reason, now)
            return verdict, EventType.FISCAL_INVOICE_REJECTED, False
        if isinstance(verdict, FailedForGood) and job.step == IssuerStep.CANCEL:
            _cancel_denied(invoice, now)
        return verdict, None, False
    invoice.provider_invoice_id = seen.provider_invoice_id
    cancelling = invoice.cancel_requested_at is not None
    if invoice.status == FiscalInvoiceStatus.PENDING:
        if seen.status == IssuerStatus.ISSUED:
            _issue(invoice, seen, now)
            return Delivered(), EventType.FISCAL_INVOICE_ISSUED, False
        if seen.status == IssuerStatus.REJECTED:
            _reject(invoice, seen.reason or "rejected by the issuer", now)
            return Delivered(), EventType.FISCAL_INVOICE_REJECTED, False
    elif invoice.status == FiscalInvoiceStatus.ISSUED and cancelling:
        if seen.status == IssuerStatus.CANCELLED:
            invoice.status = FiscalInvoiceStatus.CANCELLED
            invoice.cancelled_at = seen.cancelled_at or now
            invoice.updated_at = now
            return Delivered(), EventType.FISCAL_INVOICE_CANCELLED, False
        if seen.status == IssuerStatus.ISSUED and job.step == IssuerStep.LOOK_UP:
            _cancel_denied(invoice, now)
            return FailedForGood(f"cancellation denied: {seen.reason or ''}"), None, False
    else:  # decided already (a late answer): nothing to change
        return Delivered(), None, False
    if job.step == IssuerStep.LOOK_UP:
        return RetryLater("the issuer has not decided yet"), None, False
    return Delivered(), None, True


def _issue(invoice: FiscalInvoice, seen: IssuerInvoice, now: datetime) -> None:
    invoice.status = FiscalInvoiceStatus.ISSUED
    invoice.nfse_number = seen.nfse_number
    invoice.verification_code = seen.verification_code
    invoice.access_key = seen.access_key
    invoice.issued_at = seen.issued_at or now
    invoice.updated_at = now


def _reject(invoice: FiscalInvoice, reason: str, now: datetime) -> None:
    invoice.status = FiscalInvoiceStatus.REJECTED
    invoice.rejection_reason = reason[:512]
    invoice.updated_at = now


def _cancel_denied(invoice: FiscalInvoice, now: datetime) -> None:
    invoice.cancel_reason = None
    invoice.cancel_requested_at = None
    invoice.updated_at = now


def _job(row: FiscalIssuerJob, invoice: FiscalInvoice, customer: Customer, name: str) -> _Job:
    order = None
    if row.step == IssuerStep.ISSUE:
        order = invoice_order(invoice, customer, name)
    return _Job(row.id, row.tenant_id, row.step, row.attempt_count, invoice, order)


def invoice_order(invoice: FiscalInvoice, customer: Customer, tenant_name: str) -> InvoiceOrder:
    """What the issuer is given for an invoice (and what its DPS says)."""
    address = {key: str(value) for key, value in (customer.address or {}).items() if value}
    return InvoiceOrder(
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        idempotency_key=invoice.id,
        charge_id=invoice.charge_id,
        emitter=Emitter(
            invoice.emitter_cnpj,
            invoice.emitter_municipal_registration,
            invoice.municipality_code,
            tenant_name,
        ),
        taker=Taker(customer.id, customer.name, customer.document, customer.email, address or None),
        amount=invoice.amount,
        iss_rate_bp=invoice.iss_rate_bp,
        iss_amount=invoice.iss_amount,
        iss_retained=invoice.iss_retained,
        service_code=invoice.service_code,
        service_description=invoice.service_description,
        competence_date=invoice.competence_date,
        requested_at=invoice.created_at,
    )
