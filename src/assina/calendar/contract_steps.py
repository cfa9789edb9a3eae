"""One contract's calendar step for a day: cancellation at the period's end, trial end, yearly
readjustment, and the charges whose issue day has come (see calendar/run.py). Where the
contract stands in its schedule is contracts/schedule.py's."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.schemas import BillingRules
from assina.charges.models import ChargeLine
from assina.charges.schemas import stored_line
from assina.charges.service import ChargeDraft, issue_charge
from assina.contracts.changes import readjust_contract
from assina.contracts.lifecycle import cancel_contract_now, move_contract
from assina.contracts.models import Contract, ContractStatus, StatusReason
from assina.contracts.schedule import (
    ContractTerms,
    ScheduleState,
    cancellation_day,
    next_charge_total,
    next_due_date,
    stub_and_full,
    stub_pending,
    usable_adjustment,
)
from assina.core.clock import Clock
from assina.core.errors import Problem
from assina.notifications.formatting import format_date
from assina.notifications.models import Locale
from assina.price_indexes.service import last_twelve
from assina.rules.periods import Period
from assina.rules.readjustment import Readjustment, index_percent

logger = logging.getLogger("assina.calendar")

ADJUSTMENT_DESCRIPTION = "Ajuste proporcional"
# A contract years behind (a pass after a long outage) is caught up a bounded step at a time.
MAX_CHARGES_PER_STEP = 400
CHARGED_STATUSES = (ContractStatus.ACTIVE, ContractStatus.TRIALING)


@dataclass
class ContractStep:
    charges_issued: int = 0
    trial_ended: bool = False
    cancelled: bool = False
    readjusted: bool = False


async def advance_contract(
    session: AsyncSession, clock: Clock, contract_id: str, day: date, rules: BillingRules
) -> ContractStep:
    """Everything due for the contract up to `day`, then its next step day."""
    step = ContractStep()
    contract = await session.get(Contract, contract_id, with_for_update=True)
    if contract is None or contract.deleted_at is not None:
        return step
    if contract.status == ContractStatus.CANCELLED:
        contract.next_step_on = None
        return step
    cancellation = _cancellation_day(contract)
    if cancellation is not None and cancellation <= day:
        await cancel_contract_now(
            session, clock, contract, "period_end", StatusReason.PERIOD_END, ends_on=cancellation
        )
        # The customer's standing is decided again with it (reactions/standing.py): the
        # charges it invalidated may have been overdue (a due date moved back).
        step.cancelled = True
        return step
    step.trial_ended = await _end_trial(session, clock, contract, day)
    step.readjusted = await _readjust_on_anniversary(session, clock, contract, day, rules)
    drafts = take_due_charges(contract, day, rules)
    for draft in drafts:
        await issue_charge(session, clock, contract.tenant_id, draft)
    step.charges_issued = len(drafts)
    return step


def take_due_charges(contract: ContractTerms, day: date, rules: BillingRules) -> list[ChargeDraft]:
    """The last part of every step: the drafts of the charges whose issue day has come by
    `day`, oldest first, with the contract moved past them (`next_period`, `stub_amount`,
    `pending_adjustment`) and its `next_step_on` set. The caller issues them in the same
    transaction. Pure, so the per-contract step and the batch share it."""
    drafts, state = _charges_due(contract, day, rules)
    contract.next_step_on = _next_step_day(contract, state, rules, day)
    return drafts


def only_charges_due(contract: ContractTerms, day: date, rules: BillingRules) -> bool:
    """Whether the contract's step for `day` is at most issuing its due charges: live, charged
    (active or trialing), no cancellation at the period's end, no trial ending and no yearly
    readjustment due. Such steps are pure computation plus inserts, so the calendar batches
    them (calendar/charge_batch.py); any other goes through `advance_contract`."""
    return (
        contract.deleted_at is None
        and contract.status in CHARGED_STATUSES
        and not contract.cancel_at_period_end
        and not _trial_ends(contract, day)
        and _readjustment_due(contract, day, rules) is None
    )


# --- the steps ------------------------------------------------------------------------------


def _cancellation_day(contract: ContractTerms) -> date | None:
    return cancellation_day(ScheduleState.of(contract))


def _trial_ends(contract: ContractTerms, day: date) -> bool:
    return (
        contract.status == ContractStatus.TRIALING
        and contract.trial_end is not None
        and contract.trial_end <= day
    )


async def _end_trial(session: AsyncSession, clock: Clock, contract: Contract, day: date) -> bool:
    if not _trial_ends(contract, day):
        return False
    await move_contract(session, clock, contract, ContractStatus.ACTIVE, StatusReason.TRIAL_ENDED)
    return True


async def _readjust_on_anniversary(
    session: AsyncSession, clock: Clock, contract: Contract, day: date, rules: BillingRules
) -> bool:
    """The yearly readjustment by index, done on the anniversary charge's issue day (the
    anniversary less the lead days) so that the charge for the period starting on the
    anniversary carries the new amount; retried daily while the index misses months."""
    anniversary = _readjustment_due(contract, day, rules)
    if anniversary is None or contract.readjustment_index is None:
        return False
    reference = _month_before(anniversary)
    try:
        values = await last_twelve(
            session, contract.tenant_id, contract.readjustment_index, reference
        )
        applied = Readjustment(index_percent(values), contract.readjustment_index, reference)
        await readjust_contract(session, clock, contract.tenant_id, contract, applied)
    except Problem as problem:
        # Months not recorded yet (or a readjusted amount out of range): tried again tomorrow.
        logger.info("contract %s: readjustment waits: %s", contract.id, problem.detail)
        return False
    return True


def _readjustment_due(contract: ContractTerms, day: date, rules: BillingRules) -> date | None:
    """The anniversary whose readjustment by index is to be done by `day`, if any."""
    if contract.readjustment_index is None:
        return None
    lead = _lead(rules)
    anniversary = last_anniversary(contract.start_date, day + lead)
    if anniversary is None or _readjusted_for(contract, anniversary, lead):
        return None
    return anniversary


def _readjusted_for(contract: ContractTerms, anniversary: date, lead: timedelta) -> bool:
    done = contract.last_readjusted_on
    return done is not None and done >= anniversary - lead


def _charges_due(
    contract: ContractTerms, day: date, rules: BillingRules
) -> tuple[list[ChargeDraft], ScheduleState]:
    """The drafts, and where the contract stands after them."""
    state = ScheduleState.of(contract)
    # With cancel-at-period-end, the next due date is the cancellation day: nothing more.
    if contract.status not in CHARGED_STATUSES or contract.cancel_at_period_end:
        return [], state
    drafts: list[ChargeDraft] = []
    lead = _lead(rules)
    while len(drafts) < MAX_CHARGES_PER_STEP:
        due = next_due_date(state)
        if due - lead > day:
            break
        drafts.append(_draft(contract, state, due))
        _mark_charged(contract, state)
        state = ScheduleState.of(contract)
    return drafts, state


# --- when the next step comes ---------------------------------------------------------------


def _next_step_day(
    contract: ContractTerms, state: ScheduleState, rules: BillingRules, day: date
) -> date | None:
    """The first day after `day` with something to do for the contract, at `state` in its
    schedule."""
    lead = _lead(rules)
    candidates: list[date] = []
    if contract.status == ContractStatus.TRIALING and contract.trial_end is not None:
        candidates.append(contract.trial_end)
    cancellation = cancellation_day(state)
    if cancellation is not None:
        candidates.append(cancellation)
    elif contract.status in CHARGED_STATUSES:
        candidates.append(next_due_date(state) - lead)
    if contract.readjustment_index is not None:
        candidates.append(_next_readjustment_day(contract, day, lead))
    later = [candidate for candidate in candidates if candidate > day]
    if any(candidate <= day for candidate in candidates):
        # Something still waits (an index without its months): look again tomorrow.
        later.append(day + timedelta(days=1))
    return min(later) if later else None


def _next_readjustment_day(contract: ContractTerms, day: date, lead: timedelta) -> date:
    """`day` itself while this year's readjustment still waits for its index, else the next
    anniversary's issue day."""
    anniversary = last_anniversary(contract.start_date, day + lead)
    if anniversary is not None and not _readjusted_for(contract, anniversary, lead):
        return day
    years = 1 if anniversary is None else anniversary.year - contract.start_date.year + 1
    return same_day_years_later(contract.start_date, years) - lead


def last_anniversary(start: date, day: date) -> date | None:
    """The latest anniversary of `start` (1 year or more after it) on or before `day`."""
    years = day.year - start.year
    while years >= 1:
        candidate = same_day_years_later(start, years)
        if candidate <= day:
            return candidate
        years -= 1
    return None


def same_day_years_later(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # Feb 29 in a common year
        return date(start.year + years, 2, 28)


def _month_before(day: date) -> str:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _lead(rules: BillingRules) -> timedelta:
    return timedelta(days=rules.charge_lead_days)


# --- the charge -----------------------------------------------------------------------------


def _draft(contract: ContractTerms, state: ScheduleState, due: date) -> ChargeDraft:
    """The next charge: the stub's prorated line or the contract's items, plus the pending
    proration. A credit larger than the charge is used up to its amount (the charge is 0)
    and the rest waits for the next charge."""
    items: list[Mapping[str, Any]]
    if stub_pending(state):
        period = _stub(state)
        items = [_stub_line(contract, period)]
    else:
        period = state.period(state.next_period)
        items = [dict(item) for item in contract.items]
    adjustment = usable_adjustment(contract.pending_adjustment, _total(items))
    if adjustment:
        items.append(_line(ADJUSTMENT_DESCRIPTION, adjustment))
    return ChargeDraft(
        customer_id=contract.customer_id,
        items=items,
        due_date=due,
        payment_method=contract.payment_method,
        currency=contract.currency,
        contract_id=contract.id,
        period_start=period.start,
        period_end=period.end,
        dunning_exempt=contract.dunning_exempt,
    )


def _total(items: Sequence[Mapping[str, Any]]) -> int:
    return sum(int(item["quantity"]) * int(item["amount"]) for item in items)


def _stub(state: ScheduleState) -> Period:
    stub = stub_and_full(state)
    if stub is None:
        raise ValueError("the contract has no stub")  # callers check stub_pending first
    return stub[0]


def _stub_line(contract: ContractTerms, period: Period) -> ChargeLine:
    return _line(f"Período proporcional {period_text(period)}", contract.stub_amount)


def period_text(period: Period) -> str:
    """A period as a line's description shows it, for people reading pt-BR: its first and
    last days (the end is exclusive), `06/12/2026 a 05/01/2027`."""
    last_day = period.end - timedelta(days=1)
    first, last = (format_date(day, Locale.PT_BR) for day in (period.start, last_day))
    return f"{first} a {last}"


def _line(description: str, amount: int) -> ChargeLine:
    return stored_line(None, description, 1, amount)


def _mark_charged(contract: ContractTerms, state: ScheduleState) -> None:
    """Move the contract past the charge just issued, keeping any credit not yet used."""
    charged = next_charge_total(state, contract.amount)
    contract.pending_adjustment -= usable_adjustment(contract.pending_adjustment, charged)
    if stub_pending(state):
        contract.stub_amount = 0  # the stub is charged: none left
        return
    contract.next_period += 1
