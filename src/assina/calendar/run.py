"""The billing calendar: what happens to a contract by itself as days pass (product.md §5).

For a day D (by default today in each tenant's time zone), every live contract whose
`next_step_on` has come is advanced:

1. a contract set to cancel at its period's end whose last charged period ended by D (or,
   with nothing charged, whose service start came) → `cancelled` (`contract.cancelled`);
2. a trial that ended by D → `active` (`contract.updated`);
3. on each anniversary of `start_date`, a contract with a `readjustment_index` is readjusted
   by the index's 12 monthly values ending the month before the anniversary
   (`contract.readjusted`). It happens on the issue day of the anniversary's charge, so that
   charge carries the new amount, and is retried daily while months are missing;
4. every charge whose issue day (due date minus `charge_lead_days`) is on or before D is
   issued, oldest first: the stub, then period after period (`charge.created`), carrying any
   pending proration as its own line. Suspended contracts are not charged.

After the contracts, pending orders whose `expires_on` has come are expired, their open
charges invalidated (calendar/order_expiry.py); then the card charges and the dunning pass.

Then `next_step_on` is set to the first day with something to do. Contracts are taken by id
in batches of BATCH, each batch in ONE write transaction (calendar/charge_batch.py: the
contracts that only need charges are written in bulk, the others step by step), because a
transaction per contract cannot go past a few hundred contracts a second. On PostgreSQL two
batches are in flight: the next one locks and computes while the one before writes, and
writes only once that one has finished, so numbers and sequences keep the contracts' order.

A pass for D catches up on everything earlier passes missed; running it twice changes nothing
the second time (each step moves the contract's state in the same transaction as its
effects, and a charge per contract and period is unique in the database). A pass killed
midway leaves every batch, so every contract, either advanced with its charges, events and
messages, or untouched, and running it again finishes the job. A batch that fails is rolled
back and redone contract by contract, a transaction each, so that one broken contract holds
back no other: it is reported in `failed` and stays due.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, time
from time import perf_counter, process_time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.schemas import DEFAULT_RULES, BillingRules
from assina.billing_settings.service import billing_rules
from assina.calendar.charge_batch import advance_batch
from assina.calendar.contract_steps import ContractStep, advance_contract
from assina.calendar.order_expiry import expire_orders
from assina.contracts.models import Contract
from assina.core.clock import Clock, ShiftedClock, local_date, local_instant
from assina.db.database import Database
from assina.db.dialect import runs_concurrent_writers
from assina.dunning.incremental import YesterdayDone
from assina.dunning.run import DunningDays, run_dunning
from assina.dunning.steps import DunningStep
from assina.payments.card_schedule import CardRun, CardStep, attempt_due_cards
from assina.tenants.clock import calendar_tenants, hold_test_clock

logger = logging.getLogger("assina.calendar")

BATCH = 500
PASS_TIME = time(12, 0)
# After a tenant's contracts step issued this many charges, PostgreSQL's statistics of the
# tables it filled are refreshed before the dunning pass reads them (see run_calendar).
REFRESH_STATISTICS_AFTER = 1_000


@dataclass
class CalendarReport:
    """What one pass did, summed over tenants."""

    contracts: int = 0
    charges_issued: int = 0
    trials_ended: int = 0
    cancelled: int = 0
    readjusted: int = 0
    # Pending orders expired (calendar/order_expiry.py), after the contracts.
    orders_expired: int = 0
    # The dunning policy, applied after the contracts (dunning/run.py).
    dunning: DunningStep = field(default_factory=DunningStep)
    # Card charges tried (payments/card_schedule.py), after the contracts, before dunning.
    cards: CardStep = field(default_factory=CardStep)
    failed: list[str] = field(default_factory=list)

    def add(self, step: ContractStep) -> None:
        self.contracts += 1
        self.charges_issued += step.charges_issued
        self.trials_ended += int(step.trial_ended)
        self.cancelled += int(step.cancelled)
        self.readjusted += int(step.readjusted)


@dataclass(frozen=True)
class PassOptions:
    """How a pass groups its work. `batched=False` advances every contract in its own
    transaction, the reference the batches are tested against (and a way out, should a batch
    ever misbehave). `in_flight`: batches open at once on PostgreSQL, so that the next batch
    is computed while the database writes the one before (SQLite has one writer: always 1)."""

    batch_size: int = BATCH
    batched: bool = True
    in_flight: int = 2


async def run_calendar(
    database: Database,
    clock: Clock,
    day: date | None = None,
    tenant_id: str | None = None,
    options: PassOptions = PassOptions(),
    dunning_days: DunningDays | None = None,
    cards: CardRun | None = None,
) -> CalendarReport:
    """One pass of the calendar for each tenant's today (by its own clock: a sandbox tenant's
    is its test clock), for every tenant or only `tenant_id`. `dunning_days`: the worker's
    record of the dunning passes done, so that each tenant's runs once a day (dunning/run.py);
    without it (`assina billing run`), the dunning pass always runs. `cards`: how card
    charges are tried (without it, they are not: a caller with no providers at hand).

    `day`, for tests that walk the calendar of live tenants through the days: a pass for
    another day than the tenant's today acts as of noon that day in its time zone (what it
    writes is dated that day; what it sends is due at once). Nothing else runs a day but the
    tenant's today: a sandbox tenant moves through days by advancing its test clock
    (sandbox/clock.py), which holds the clock while it runs them, and those passes are
    skipped here meanwhile."""
    report = CalendarReport()
    for tenant in await calendar_tenants(database, tenant_id):
        tenant_clock = tenant.clock(clock)
        today = local_date(tenant_clock.now(), tenant.time_zone)
        pass_day, pass_clock = today, tenant_clock
        if day is not None and day != today:
            noon = local_instant(day, tenant.time_zone, PASS_TIME)
            pass_day, pass_clock = day, ShiftedClock(clock, noon - clock.now())
        if not tenant.sandbox:
            await run_tenant_day(
                database,
                pass_clock,
                tenant.id,
                pass_day,
                report,
                options,
                dunning_days,
                cards=cards,
            )
            continue
        async with hold_test_clock(database, clock, tenant.id) as held:
            if held:  # else an advance is running this tenant's days
                await run_tenant_day(
                    database,
                    pass_clock,
                    tenant.id,
                    pass_day,
                    report,
                    options,
                    dunning_days,
                    cards=cards,
                )
    return report


async def run_tenant_day(
    database: Database,
    clock: Clock,
    tenant_id: str,
    day: date,
    report: CalendarReport,
    options: PassOptions = PassOptions(),
    dunning_days: DunningDays | None = None,
    yesterday: YesterdayDone | None = None,
    cards: CardRun | None = None,
) -> None:
    """One tenant's calendar for `day`, by `clock`: the contracts, the orders due to expire,
    the card charges due a try (with `cards`), then the dunning pass (`yesterday`: see
    run_dunning)."""
    issued_before = report.charges_issued
    await _TenantPass(database, clock, tenant_id, day, options, report).run()
    if report.charges_issued - issued_before >= REFRESH_STATISTICS_AFTER:
        # Autovacuum would only catch up in a minute or so; until then the planner reads
        # the charges table by status and due date whole for every batch of customers.
        await database.refresh_statistics("charges", "webhook_messages", "emails")
    await _expire_orders(database, clock, tenant_id, day, report)
    if cards is not None:
        await _try_cards(database, clock, tenant_id, day, report, cards)
    dunned = await run_dunning(
        database, clock, tenant_id, day, report.failed, dunning_days, yesterday
    )
    report.dunning.add(dunned)


async def _expire_orders(
    database: Database, clock: Clock, tenant_id: str, day: date, report: CalendarReport
) -> None:
    try:
        report.orders_expired += await expire_orders(database, clock, tenant_id, day)
    except Exception:  # one tenant's failure must not stop the others' pass
        logger.exception("orders of %s on %s", tenant_id, day)
        report.failed.append(f"orders:{tenant_id}")


async def _try_cards(
    database: Database,
    clock: Clock,
    tenant_id: str,
    day: date,
    report: CalendarReport,
    cards: CardRun,
) -> None:
    try:
        step = await attempt_due_cards(
            database, clock, cards.connections, tenant_id, day, cards.base_url
        )
    except Exception:  # one tenant's failure must not stop the others' pass
        logger.exception("card charges of %s on %s", tenant_id, day)
        report.failed.append(f"cards:{tenant_id}")
        return
    report.cards.add(step)


@dataclass
class _TenantPass:
    """One tenant's pass for one day: its due contracts, a batch at a time, by id."""

    database: Database
    clock: Clock
    tenant_id: str
    day: date
    options: PassOptions
    report: CalendarReport
    rules: BillingRules = DEFAULT_RULES

    async def run(self) -> None:
        started, cpu_started, before = perf_counter(), process_time(), self.report.contracts
        await self._advance_due_contracts()
        seconds = perf_counter() - started  # how long, for operators: not business time
        cpu = process_time() - cpu_started  # of the whole process, every thread
        advanced = self.report.contracts - before
        logger.info(
            "tenant %s: %d contracts in %.3f s (%.3f s of CPU)",
            self.tenant_id,
            advanced,
            seconds,
            cpu,
        )

    async def _advance_due_contracts(self) -> None:
        async with self.database.read() as session:
            self.rules = await billing_rules(session, self.tenant_id)
        if not self.options.batched:
            async for ids in self._due_batches():
                await self._one_by_one(ids)
        elif self.options.in_flight < 2 or not runs_concurrent_writers(self.database.engine):
            async for ids in self._due_batches():
                await self._in_one_transaction(ids, _Turn(None))
        else:
            await self._overlapping()

    async def _overlapping(self) -> None:
        """Up to `in_flight` batches at once: while one writes, the next locks its contracts
        and computes its charges. Each writes only after the one before it has finished
        (`_Turn`), so numbers and sequences come out as with one batch at a time."""
        turn: _Turn | None = None
        async with asyncio.TaskGroup() as batches:
            running: deque[asyncio.Task[None]] = deque()
            async for ids in self._due_batches():
                turn = _Turn(turn)
                running.append(batches.create_task(self._in_one_transaction(ids, turn)))
                if len(running) >= self.options.in_flight:
                    await running.popleft()

    async def _due_batches(self) -> AsyncIterator[list[str]]:
        after = ""
        while True:
            async with self.database.read() as session:
                ids = await self._due_contracts(session, after)
            if ids:
                yield ids
            if len(ids) < self.options.batch_size:
                return
            after = ids[-1]

    async def _in_one_transaction(self, ids: list[str], turn: _Turn) -> None:
        """The batch in one transaction; if it fails, nothing of it stays and it is redone
        contract by contract, so that one broken contract holds back no other."""
        try:
            try:
                async with self.database.write() as session:
                    steps = await advance_batch(
                        session, self.clock, self.tenant_id, ids, self.day, self.rules, turn.wait
                    )
            except Exception:
                logger.exception("calendar batch of %d contracts failed; one by one now", len(ids))
                await turn.wait()
                await self._one_by_one(ids)
                return
            for step in steps:
                self.report.add(step)
        finally:
            turn.finish()

    async def _one_by_one(self, ids: list[str]) -> None:
        for contract_id in ids:
            try:
                async with self.database.write() as session:
                    step = await advance_contract(
                        session, self.clock, contract_id, self.day, self.rules
                    )
            except Exception:
                # One broken contract must not stop the others; it stays due for the next pass.
                logger.exception("calendar step failed for contract %s", contract_id)
                self.report.failed.append(contract_id)
                continue
            self.report.add(step)

    async def _due_contracts(self, session: AsyncSession, after: str) -> list[str]:
        statement = (
            select(Contract.id)
            .where(
                Contract.tenant_id == self.tenant_id,
                Contract.next_step_on <= self.day,
                Contract.deleted_at.is_(None),
                Contract.id > after,
            )
            .order_by(Contract.id)
            .limit(self.options.batch_size)
        )
        return list((await session.scalars(statement)).all())


class _Turn:
    """A batch's turn to write: once the batch before it has finished (committed, or been
    redone one by one)."""

    def __init__(self, previous: _Turn | None) -> None:
        self._previous = previous
        self._finished = asyncio.Event()

    async def wait(self) -> None:
        if self._previous is not None:
            await self._previous._finished.wait()
            self._previous = None  # no chain of every batch of the pass

    def finish(self) -> None:
        self._previous = None
        self._finished.set()
