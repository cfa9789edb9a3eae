"""Charges registered with the tenant's PIX and boleto providers: the registration adapter of
the relay kernel (relay/kernel.py), over the `payment_registrations` outbox.

- What is registered (`rails_for`): a charge in reais with something to pay, on the PIX rail
  when the tenant has a PIX provider and the charge is paid by PIX or boleto (a boleto
  carries the PIX code of its charge), and on the boleto rail when the tenant's boleto
  provider numbers its own boletos (Asaas; the sandbox's boletos are numbered by assina,
  charges/boleto.py).
- `queue_registrations` writes the rows in the transaction that issued or changed the
  charges (reactions/registrations.py), one statement per batch: a charge whose amount or
  due date changed is registered again under a new version (its idempotency key
  `<id>.<version>`); `stop_registrations` (registration_cancel.py) stops those of charges
  no longer open.
- `Registrar` claims due rows in batches with a lease, calls the providers concurrently (at
  most CONCURRENCY at once) with no transaction open, and records the batch in one
  transaction: the instructions put on the charges (charges/instructions.py, which emits
  `charge.updated`), the provider's ids kept here. An answer for an older version is
  dropped (the newer one is due). A provider that does not answer is retried on
  REGISTRATION_RETRIES; a refusal is final (`failed`, with the provider's reason): the
  charge keeps the instructions it had.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.boleto import BOLETO_CURRENCY, takes_boleto
from assina.charges.instructions import (
    BoletoFromProvider,
    ProviderInstructions,
    apply_provider_instructions,
)
from assina.charges.models import Charge, ChargeStatus
from assina.charges.service import MAX_PIX_AMOUNT
from assina.contracts.models import PaymentMethod
from assina.core.clock import Clock
from assina.core.ids import new_id
from assina.customers.models import Customer
from assina.db.database import Database
from assina.db.dialect import insert_on_conflict
from assina.db.shapes import insert_rows, one_of
from assina.payment_settings.models import PaymentProvider
from assina.payment_settings.schemas import PaymentChoices
from assina.payment_settings.service import payment_choices
from assina.payments.asaas.adapter import AsaasProvider
from assina.payments.connections import ProviderConnections
from assina.payments.models import (
    Registration,
    RegistrationRail,
    RegistrationStatus,
)
from assina.payments.providers import (
    BoletoIssuer,
    Payer,
    PaymentOrder,
    PixCharge,
    PixProvider,
    ProviderRefused,
    ProviderUnavailable,
    RegisteredBoleto,
)
from assina.payments.sandbox.client import SandboxClient
from assina.relay.kernel import Claim, Relay
from assina.relay.outbox import Outbox, skip_locked
from assina.relay.outcomes import Attempted, Delivered, FailedForGood, RetryLater, Verdict
from assina.relay.schedule import RetrySchedule
from assina.rules.boleto import check_barcode, digitable_line
from assina.tenants.clock import calendar_tenant

logger = logging.getLogger("assina.registrations")

BATCH = 200
CONCURRENCY = 32
REGISTRATION_RETRIES = RetrySchedule(
    (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
        timedelta(hours=24),
    )
)
REGISTRATIONS: Table = Registration.__table__  # type: ignore[assignment]
REGISTRATION_OUTBOX = Outbox(
    REGISTRATIONS,
    pending=(RegistrationStatus.PENDING,),
    delivered=RegistrationStatus.REGISTERED,
    failed=RegistrationStatus.FAILED,
    delivered_at="registered_at",
    last_error="last_error",
)


# --- what is registered ------------------------------------------------------------------------


def rails_for(
    choices: PaymentChoices, payment_method: str, amount: int, currency: str
) -> list[tuple[RegistrationRail, PaymentProvider]]:
    """The rails a charge is registered on with the tenant's settings, and with whom."""
    if currency != BOLETO_CURRENCY or amount <= 0:
        return []
    rails: list[tuple[RegistrationRail, PaymentProvider]] = []
    pix = choices.pix_provider
    paid_by = (PaymentMethod.PIX, PaymentMethod.BOLETO)
    if pix is not None and payment_method in paid_by and amount <= MAX_PIX_AMOUNT:
        rails.append((RegistrationRail.PIX, pix))
    boleto = choices.boleto_provider
    if boleto == PaymentProvider.ASAAS and takes_boleto(payment_method, amount, currency):
        rails.append((RegistrationRail.BOLETO, boleto))
    return rails


async def queue_registrations(
    session: AsyncSession,
    tenant_id: str,
    charges: Sequence[Mapping[str, Any]],
    due_at: datetime,
    *,
    new: bool = False,
) -> int:
    """Registrations for these charges (their `charge.created` or `charge.updated` data),
    due at `due_at` (real time): new ones, or ones made pending again under a new version.
    One query for the settings, one INSERT … ON CONFLICT for the batch; returns the rows
    written. `new`: the charges were issued in this transaction, so they have no
    registration whose rail they no longer take (nothing to cancel, no query for it)."""
    wanted = [charge for charge in charges if charge["status"] == ChargeStatus.OPEN]
    if not wanted:
        return 0
    choices = await payment_choices(session, tenant_id)
    rows = [
        _row(tenant_id, charge["id"], rail, provider, due_at)
        for charge in wanted
        for rail, provider in rails_for(
            choices, charge["payment_method"], charge["amount"], charge["currency"]
        )
    ]
    if not new:
        await _cancel_rails_dropped(session, tenant_id, [charge["id"] for charge in wanted], rows)
    if not rows:
        return 0
    c = REGISTRATIONS.c
    statement = insert_on_conflict(session, REGISTRATIONS)
    again = {
        "provider": statement.excluded.provider,
        "status": RegistrationStatus.PENDING,
        "version": c.version + 1,
        "attempt_count": 0,
        "next_attempt_at": statement.excluded.next_attempt_at,
        "locked_until": None,
        "cancelled_at": None,
        "last_error": None,
    }
    await insert_rows(
        session,
        statement.on_conflict_do_update(
            index_elements=[c.tenant_id, c.charge_id, c.rail], set_=again
        ),
        rows,
    )
    return len(rows)


async def _cancel_rails_dropped(
    session: AsyncSession, tenant_id: str, charge_ids: Sequence[str], rows: Sequence[Any]
) -> None:
    """A charge's rail it no longer takes (a boleto charge now paid by PIX) is cancelled:
    Asaas's one payment then becomes a PIX payment, not a boleto beside it."""
    kept = {(row["charge_id"], row["rail"]) for row in rows}
    for rail in RegistrationRail:
        dropped = [charge_id for charge_id in charge_ids if (charge_id, rail) not in kept]
        if dropped:
            not_cancelled = Registration.status != RegistrationStatus.CANCELLED
            await _cancel(session, tenant_id, dropped, Registration.rail == rail, not_cancelled)


async def _cancel(
    session: AsyncSession,
    tenant_id: str,
    charge_ids: Sequence[str],
    *which: ColumnElement[bool],
) -> None:
    await session.execute(
        update(Registration)
        .where(Registration.tenant_id == tenant_id, one_of(Registration.charge_id, charge_ids))
        .where(*which)
        .values(status=RegistrationStatus.CANCELLED, locked_until=None)
    )


def _row(
    tenant_id: str,
    charge_id: str,
    rail: RegistrationRail,
    provider: PaymentProvider,
    due_at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id("reg"),
        "tenant_id": tenant_id,
        "charge_id": charge_id,
        "rail": rail,
        "provider": provider,
        "status": RegistrationStatus.PENDING,
        "version": 1,
        "attempt_count": 0,
        "next_attempt_at": due_at,
        "last_attempt_at": None,
        "locked_until": None,
        "registered_at": None,
        "cancelled_at": None,
        "provider_payment_id": None,
        "txid": None,
        "last_error": None,
        "created_at": due_at,
    }


async def list_registrations(
    session: AsyncSession, tenant_id: str, charge_id: str
) -> Sequence[Registration]:
    found = await session.scalars(
        select(Registration)
        .where(Registration.tenant_id == tenant_id, Registration.charge_id == charge_id)
        .order_by(Registration.rail)
    )
    return found.all()


# --- the relay ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    registration_id: str
    tenant_id: str
    rail: RegistrationRail
    provider: PaymentProvider
    version: int
    attempts_before: int
    order: PaymentOrder


@dataclass(frozen=True)
class _Answer:
    job: _Job
    verdict: Verdict
    made: PixCharge | RegisteredBoleto | None = None
    boleto: BoletoFromProvider | None = None


@dataclass(frozen=True)
class RegistrarConfig:
    batch_size: int = BATCH
    concurrency: int = CONCURRENCY
    lease: timedelta = timedelta(minutes=5)
    poll_interval_seconds: float = 5.0

    def relay(self, database: Database, clock: Clock, outbox: Outbox) -> Relay:
        """The relay over `outbox` (registration's, or cancellation's) with these settings."""
        return Relay(
            database,
            clock,
            outbox,
            lease=self.lease,
            poll_interval_seconds=self.poll_interval_seconds,
            wake_on_commits=False,
        )


class Registrar:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        connections: ProviderConnections,
        config: RegistrarConfig | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.connections = connections
        self.config = config or RegistrarConfig()
        self.relay = self.config.relay(database, clock, REGISTRATION_OUTBOX)

    async def register_once(self, tenant_id: str | None = None) -> int:
        """One batch (of one tenant's registrations, or anyone's): claim, call, record;
        returns how many were claimed."""
        jobs = await self._claim(tenant_id)
        if not jobs:
            return 0
        limit = asyncio.Semaphore(self.config.concurrency)

        async def called(same_charge: list[_Job]) -> list[_Answer]:
            """One charge's jobs one after the other: its rails may share one payment at
            the provider (Asaas), which two at once would both make."""
            async with limit:
                return [await self._call(job) for job in same_charge]

        by_charge: dict[str, list[_Job]] = {}
        for job in jobs:
            by_charge.setdefault(job.order.charge_id, []).append(job)
        answered = await asyncio.gather(*(called(group) for group in by_charge.values()))
        await self._record([answer for answers in answered for answer in answers])
        return len(jobs)

    async def register_all(self, tenant_id: str | None = None) -> int:
        """Batches until none is due (tests)."""
        return await batches_until_none_due(self.register_once, self.config.batch_size, tenant_id)

    async def run(self, stop: asyncio.Event) -> None:
        async def step() -> bool:
            return await self.register_once() >= self.config.batch_size

        await self.relay.run(stop, step, "registration pass")

    # --- claim ---------------------------------------------------------------------------

    async def _claim(self, tenant_id: str | None) -> list[_Job]:
        async with self.relay.claiming() as claim:
            rows = await due_registrations(
                claim, self.relay, REGISTRATION_OUTBOX, self.config.batch_size, tenant_id
            )
            if not rows:
                return []
            charges = await _charges_of(claim.session, rows)
            gone = [row.id for row in rows if row.charge_id not in charges]
            if gone:  # settled or invalidated meanwhile: nothing to register
                await claim.session.execute(
                    update(Registration)
                    .where(one_of(Registration.id, gone))
                    .values(status=RegistrationStatus.CANCELLED)
                )
            boletos = await _boletos_registered(claim.session, list(charges))
            jobs = [
                _job(row, *charges[row.charge_id], claim.now, boletos)
                for row in rows
                if row.charge_id in charges
            ]
            await claim.lease([job.registration_id for job in jobs])
        return jobs

    # --- call ----------------------------------------------------------------------------

    async def _call(self, job: _Job) -> _Answer:
        try:
            if job.rail == RegistrationRail.PIX:
                pix = await self._pix_provider(job)
                return _Answer(job, Delivered(), await pix.create_pix(job.order))
            issuer = await self._boleto_issuer(job)
            boleto = await issuer.register_boleto(job.order)
        except ProviderRefused as refused:
            return _Answer(job, FailedForGood(f"refused: {refused}"))
        except ProviderUnavailable as error:
            return _Answer(job, RetryLater(str(error)))
        except Exception as error:  # one job's failure, retried; the batch goes on
            logger.exception("registration %s failed", job.registration_id)
            return _Answer(job, RetryLater(f"{type(error).__name__}: {error}"))
        shown = _boleto_shown(boleto)
        if shown is None:
            return _Answer(job, FailedForGood("the provider's boleto line and barcode disagree"))
        return _Answer(job, Delivered(), boleto, shown)

    async def _pix_provider(self, job: _Job) -> PixProvider:
        return await provider_account(self.database, self.connections, job.tenant_id, job.provider)

    async def _boleto_issuer(self, job: _Job) -> BoletoIssuer:
        return await provider_account(self.database, self.connections, job.tenant_id, job.provider)

    # --- record --------------------------------------------------------------------------

    async def _record(self, answers: Sequence[_Answer]) -> None:
        """One transaction: the answers of the versions still current recorded, their
        instructions put on the charges; an answer for an older version dropped."""
        async with self.database.write() as session:
            now = self.clock.now()
            ids = [answer.job.registration_id for answer in answers]
            current = dict(
                (
                    await session.execute(
                        select(Registration.id, Registration.version).where(
                            one_of(Registration.id, ids),
                            Registration.status == RegistrationStatus.PENDING,
                        )
                    )
                ).all()
            )
            fresh = [a for a in answers if current.get(a.job.registration_id) == a.job.version]
            attempts = [
                Attempted(
                    a.job.registration_id, a.job.attempts_before, a.verdict, REGISTRATION_RETRIES
                )
                for a in fresh
            ]
            # The charges first (their instructions), then their registrations: the order a
            # settlement takes them in; the other order deadlocked against one on PostgreSQL.
            await self._apply(session, fresh)
            await self.relay.outbox.record(session, attempts, now, self.relay.rng)
            await _keep_provider_ids(session, fresh)

    async def _apply(self, session: AsyncSession, answers: Sequence[_Answer]) -> None:
        by_tenant: dict[str, list[ProviderInstructions]] = {}
        for answer in answers:
            made = answer.made
            if isinstance(made, PixCharge):
                instructions = ProviderInstructions(answer.job.order.charge_id, made.pix_code)
            elif answer.boleto is not None:
                instructions = ProviderInstructions(answer.job.order.charge_id, None, answer.boleto)
            else:
                continue
            by_tenant.setdefault(answer.job.tenant_id, []).append(instructions)
        for tenant_id, made_for in by_tenant.items():
            tenant = await calendar_tenant(session, tenant_id)
            if tenant is None:
                continue
            await apply_provider_instructions(
                session, tenant.clock(self.clock), tenant_id, _merged(made_for)
            )


async def due_registrations(
    claim: Claim, relay: Relay, outbox: Outbox, batch_size: int, tenant_id: str | None
) -> Sequence[Registration]:
    """The rows `outbox` (registration's, or cancellation's) has due, oldest first, locked
    for the claim."""
    due = (
        select(Registration)
        .where(outbox.due(claim.now))
        .order_by(Registration.next_attempt_at, Registration.id)
        .limit(batch_size)
    )
    if tenant_id is not None:
        due = due.where(Registration.tenant_id == tenant_id)
    return (await claim.session.scalars(skip_locked(due, relay.lock_rows))).all()


async def batches_until_none_due(
    one_batch: Callable[[str | None], Awaitable[int]], batch_size: int, tenant_id: str | None
) -> int:
    """`one_batch` again while it finds a full batch; how many rows it took in all."""
    total = 0
    while claimed := await one_batch(tenant_id):
        total += claimed
        if claimed < batch_size:
            break
    return total


async def provider_account(
    database: Database, connections: ProviderConnections, tenant_id: str, provider: PaymentProvider
) -> SandboxClient | AsaasProvider:
    """The tenant's account at a registration's provider (both are PIX providers and boleto
    issuers); ProviderRefused when the tenant stored no Asaas API key."""
    if provider == PaymentProvider.SANDBOX:
        return await connections.sandbox_client(tenant_id)
    async with database.read() as session:
        asaas = await connections.asaas(session, tenant_id)
    if asaas is None:
        raise ProviderRefused("no Asaas API key is stored in the payment settings")
    return asaas


def _merged(made: Sequence[ProviderInstructions]) -> list[ProviderInstructions]:
    """One entry per charge (its PIX code and its boleto may come in one batch)."""
    merged: dict[str, ProviderInstructions] = {}
    for entry in made:
        before = merged.get(entry.charge_id)
        if before is None:
            merged[entry.charge_id] = entry
            continue
        merged[entry.charge_id] = ProviderInstructions(
            entry.charge_id, entry.pix_code or before.pix_code, entry.boleto or before.boleto
        )
    return list(merged.values())


async def _keep_provider_ids(session: AsyncSession, answers: Sequence[_Answer]) -> None:
    rows = [
        {
            "job": answer.job.registration_id,
            "payment": answer.made.provider_payment_id,
            "txid": answer.made.txid if isinstance(answer.made, PixCharge) else None,
        }
        for answer in answers
        if answer.made is not None
    ]
    if rows:
        c = REGISTRATIONS.c
        await session.execute(
            update(REGISTRATIONS)
            .where(c.id == bindparam("job"))
            .values(provider_payment_id=bindparam("payment"), txid=bindparam("txid")),
            rows,
        )


async def _charges_of(
    session: AsyncSession, rows: Sequence[Registration]
) -> dict[str, tuple[Charge, Customer]]:
    """The open charges the registrations are for, with their customers, by charge id."""
    found = await session.execute(
        select(Charge, Customer)
        .join(
            Customer,
            (Customer.tenant_id == Charge.tenant_id) & (Customer.id == Charge.customer_id),
        )
        .where(
            one_of(Charge.id, list({row.charge_id for row in rows})),
            Charge.status == ChargeStatus.OPEN,
        )
    )
    return {charge.id: (charge, customer) for charge, customer in found.all()}


async def _boletos_registered(
    session: AsyncSession, charge_ids: Sequence[str]
) -> set[tuple[str, PaymentProvider]]:
    """The charges (and with whom) that have a boleto registration still wanted."""
    if not charge_ids:
        return set()
    found = await session.execute(
        select(Registration.charge_id, Registration.provider).where(
            one_of(Registration.charge_id, charge_ids),
            Registration.rail == RegistrationRail.BOLETO,
            Registration.status != RegistrationStatus.CANCELLED,
        )
    )
    return {(charge_id, provider) for charge_id, provider in found.all()}


def _job(
    row: Registration,
    charge: Charge,
    customer: Customer,
    now: datetime,
    boletos: set[tuple[str, PaymentProvider]],
) -> _Job:
    with_boleto = row.rail == RegistrationRail.PIX and (charge.id, row.provider) in boletos
    order = PaymentOrder(
        charge_id=charge.id,
        charge_number=charge.number,
        payer=Payer(charge.customer_id, customer.name, customer.document, customer.email),
        amount=charge.amount,
        due_date=charge.due_date,
        description=f"Cobrança {charge.number}",
        idempotency_key=f"{row.id}.{row.version}",
        requested_at=now,
        with_boleto=with_boleto,
    )
    return _Job(
        row.id, row.tenant_id, row.rail, row.provider, row.version, row.attempt_count, order
    )


def _boleto_shown(boleto: RegisteredBoleto) -> BoletoFromProvider | None:
    """The provider's boleto as assina shows one (the line formatted from the barcode); None
    when its barcode does not check or its line is not the barcode's."""
    try:
        check_barcode(boleto.boleto_barcode)
    except ValueError:
        return None
    line = digitable_line(boleto.boleto_barcode)
    given = "".join(char for char in boleto.boleto_line if char.isdigit())
    if given != digitable_line(boleto.boleto_barcode, formatted=False):
        return None
    return BoletoFromProvider(line, boleto.boleto_barcode, boleto.our_number)
