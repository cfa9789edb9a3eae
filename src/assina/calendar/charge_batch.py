"""One batch of the billing calendar: up to a few hundred due contracts of one tenant advanced in
ONE write transaction.

Why: advanced one by one, each contract is its own transaction of about nine ORM statements,
and SQLAlchemy's ORM costs about 1 ms of CPU per statement (docs/performance.md), so a pass
runs at under 100 contracts a second. Most days a due contract only needs its charges issued,
which is computation plus inserts. Such contracts (`only_charges_due`) are computed in Python
with the per-contract step's own pure code (`take_due_charges`) and written in bulk: one
statement for their charge numbers, one for the events' sequence values, one multi-row INSERT
each for the charges, their `charge.created` events and their webhook messages, and one
executemany UPDATE of the contracts. Every other contract (a trial ending, a cancellation or a
readjustment falling due) goes through `advance_contract` in the same transaction, in the
pass's order: what the bulk writes hold is written before it, so charge numbers and event
sequences come out exactly as if every contract had been advanced one by one.

The guarantees stay those of one contract per transaction, at the scale of a batch: each
charge's event and messages commit with it, a batch commits whole or not at all, and the
calendar redoes a failed batch contract by contract (calendar/run.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.schemas import BillingRules
from assina.calendar.contract_steps import (
    ContractStep,
    advance_contract,
    only_charges_due,
    take_due_charges,
)
from assina.charges.service import ChargeDraft, issue_charges
from assina.contracts.models import Contract, ScheduleRow
from assina.contracts.schedule import DueContract
from assina.core.clock import Clock
from assina.db.shapes import one_of

# Charges held in memory before they are written: a batch's contracts usually issue one each,
# but a contract years behind issues up to MAX_CHARGES_PER_STEP at once.
FLUSH_CHARGES = 1_000
# Contracts computed between two looks at the event loop: while the batch before this one
# waits for the database, this one computes, a few milliseconds at a time.
YIELD_EVERY = 25


async def advance_batch(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    contract_ids: Sequence[str],
    day: date,
    rules: BillingRules,
    before_writing: Callable[[], Awaitable[None]],
) -> list[ContractStep]:
    """Advance the tenant's contracts `contract_ids` (in id order) for `day`, inside the
    caller's write transaction; returns the steps taken, for the pass's report. Nothing is
    written before `before_writing` returns (the batch's turn, see calendar.py): only the
    contracts are locked and their charges computed."""
    contracts = await _lock(session, tenant_id, contract_ids)
    writer = _BulkCharges(session, tenant_id, rules, clock, before_writing)
    steps: list[ContractStep] = []
    for position, contract in enumerate(contracts, 1):
        if position % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # the batch before this one may have a result to go on with
        if contract.next_step_on is None or contract.next_step_on > day:
            continue  # advanced meanwhile, by a pass in another worker
        if only_charges_due(contract, day, rules):
            steps.append(writer.add(contract, day))
            if writer.charges >= FLUSH_CHARGES:
                await writer.write()
            continue
        await writer.write()
        await before_writing()
        steps.append(await advance_contract(session, clock, contract.id, day, rules))
    await writer.write()
    return steps


_DUE_COLUMNS = [getattr(Contract, field.name) for field in fields(DueContract)]


async def _lock(
    session: AsyncSession, tenant_id: str, contract_ids: Sequence[str]
) -> list[DueContract]:
    """The contracts, locked until the transaction ends (`FOR UPDATE` on PostgreSQL, in id
    order so that two passes never deadlock; SQLite's write transaction holds its only write
    lock), read as plain rows."""
    statement = (
        select(*_DUE_COLUMNS)
        .where(Contract.tenant_id == tenant_id, one_of(Contract.id, contract_ids))
        .order_by(Contract.id)
        .with_for_update()
    )
    return [DueContract(*row) for row in await session.execute(statement)]


class _BulkCharges:
    """The batch's charges waiting to be written, and the contracts they move."""

    def __init__(
        self,
        session: AsyncSession,
        tenant_id: str,
        rules: BillingRules,
        clock: Clock,
        before_writing: Callable[[], Awaitable[None]],
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.rules = rules
        self.clock = clock
        self.now = clock.now()
        self.due_at = clock.real_now()
        self.before_writing = before_writing
        self.drafts: list[ChargeDraft] = []
        self.contracts: list[DueContract] = []

    @property
    def charges(self) -> int:
        return len(self.drafts)

    def add(self, contract: DueContract, day: date) -> ContractStep:
        drafts = take_due_charges(contract, day, self.rules)
        self.drafts.extend(drafts)
        self.contracts.append(contract)
        return ContractStep(charges_issued=len(drafts))

    async def write(self) -> None:
        """Write what waits: the charges with their events and messages, then the contracts'
        new place in their schedules."""
        if not self.contracts:
            return
        await self.before_writing()
        await issue_charges(
            self.session,
            self.clock,
            self.tenant_id,
            self.drafts,
            self.rules,
            now=self.now,
            due_at=self.due_at,
        )
        await _save_schedules(self.session, self.contracts)
        self.drafts = []
        self.contracts = []


async def _save_schedules(session: AsyncSession, contracts: Sequence[DueContract]) -> None:
    """What `take_due_charges` changed, one executemany UPDATE by primary key. `updated_at`
    stays, as in the per-contract step: issuing a charge does not change the contract."""
    if not contracts:
        return
    rows: list[ScheduleRow] = [
        {
            "id": contract.id,
            "next_period": contract.next_period,
            "stub_amount": contract.stub_amount,
            "pending_adjustment": contract.pending_adjustment,
            "next_step_on": contract.next_step_on,
        }
        for contract in contracts
    ]
    await session.execute(update(Contract), rows)
