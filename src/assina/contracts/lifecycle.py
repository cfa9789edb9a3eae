"""A contract's lifecycle: cancellation (at once or at the period's end), status moves for the
calendar and dunning, and deletion.

Rules:

- `cancelled` is final: any other move on a cancelled contract is a 409.
- Cancelling at once sets `status = cancelled`, `cancelled_at = now`, `cancel_reason`, and
  raises `contract.cancelled`; nothing more is charged (`next_charge_date` is null).
- Cancelling at the period's end sets `cancel_at_period_end` (and the reason, if given) and
  raises `contract.updated`; the calendar cancels the contract on its `cancel_at`: when the
  last period already charged ends, or, for a trialing contract, when its trial ends (its
  service never starts); a contract with nothing charged yet ends at its service start.
  Asking twice is a 409; cancelling at once afterwards is allowed.
- Either way, the open charges for periods starting on or after the day the contract ends
  (today, or its `cancel_at`) are invalidated with it (`charge.invalidated`): nothing is owed
  for service that never comes (charges/unserved.py).
- A suspended contract (the dunning policy suspends; nothing else does) resumes by the policy
  once its overdue charges are paid, or by `POST …/resume`. The periods it spent suspended are
  not charged.
- Deleting is for contracts made by mistake: only while no charge was ever issued for the
  contract (any charge, whatever its status, makes it a 409: cancel instead). The row is kept
  (`deleted_at`) and gone from the API; `contract.deleted` is raised.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge
from assina.charges.unserved import invalidate_unserved_charges
from assina.contracts.common import (
    emit_contract_event,
    emit_if_changed,
    full_state,
    get_live_contract,
    refuse_if_cancelled,
    wake_calendar,
)
from assina.contracts.models import Contract, ContractStatus, StatusReason
from assina.contracts.schedule import ScheduleState, skip_missed_charges
from assina.contracts.schemas import ContractCancel, ContractOut
from assina.core.clock import Clock
from assina.core.errors import conflict
from assina.events.catalog import EventType
from assina.events.service import Change, changed_fields, emit_typed_events
from assina.tenants.clock import tenant_today


async def cancel_contract(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    contract_id: str,
    params: ContractCancel,
) -> Contract:
    """POST …/cancel: at once, or at the end of the last period already charged."""
    contract = await get_live_contract(session, tenant_id, contract_id)
    if params.at_period_end:
        return await _cancel_at_period_end(session, clock, contract, params.reason)
    reason = params.reason or contract.cancel_reason
    return await _end(session, clock, contract, reason, StatusReason.REQUESTED)


async def cancel_contract_now(
    session: AsyncSession,
    clock: Clock,
    contract: Contract,
    reason: str | None,
    status_reason: StatusReason,
    ends_on: date | None = None,
) -> Contract:
    """Cancel at once (the calendar on the contract's `cancel_at`, the dunning policy). A
    reason recorded when the cancellation at period end was asked for is kept over `reason`.
    `ends_on`: the day the service ends (default today), from which charges are invalidated."""
    refuse_if_cancelled(contract)
    kept = contract.cancel_reason if contract.cancel_at_period_end else None
    return await _end(session, clock, contract, kept or reason, status_reason, ends_on)


async def _end(
    session: AsyncSession,
    clock: Clock,
    contract: Contract,
    reason: str | None,
    status_reason: StatusReason,
    ends_on: date | None = None,
) -> Contract:
    today = await tenant_today(session, clock, contract.tenant_id)
    before = full_state(contract, today)
    contract.status = ContractStatus.CANCELLED
    contract.status_reason = status_reason.value
    contract.cancelled_at = clock.now()
    contract.cancel_reason = reason
    contract.next_step_on = None
    now = contract.updated_at = clock.now()
    previous = changed_fields(before, full_state(contract, today))
    invalidated = await invalidate_unserved_charges(
        session, contract.tenant_id, contract.id, ends_on or today, now
    )
    # One batch, so that what reacts to the cancellation sees its charges invalidated.
    cancelled = Change(ContractOut.of(contract, today), contract.customer_id, previous)
    events = [(EventType.CONTRACT_CANCELLED, cancelled)]
    events += [(EventType.CHARGE_INVALIDATED, change) for change in invalidated]
    await emit_typed_events(
        session, clock, contract.tenant_id, events, now=now, due_at=clock.real_now()
    )
    return contract


async def _cancel_at_period_end(
    session: AsyncSession, clock: Clock, contract: Contract, reason: str | None
) -> Contract:
    if contract.cancel_at_period_end:
        raise conflict(
            f"Contract {contract.id} is already set to cancel at the end of its period.",
            "invalid-transition",
        )
    today = await tenant_today(session, clock, contract.tenant_id)
    before = full_state(contract, today)
    contract.cancel_at_period_end = True
    if reason is not None:
        contract.cancel_reason = reason
    wake_calendar(contract, today)
    await emit_if_changed(session, clock, contract, before, today)
    return contract


async def move_contract(
    session: AsyncSession,
    clock: Clock,
    contract: Contract,
    status: ContractStatus,
    reason: StatusReason,
) -> Contract:
    """A status move other than cancellation or resumption (trial → active, suspension),
    raising `contract.updated` with the old status in `previous`; none when the status is
    the same."""
    if status == ContractStatus.CANCELLED:
        raise ValueError("cancellation is cancel_contract_now's")
    refuse_if_cancelled(contract)
    today = await tenant_today(session, clock, contract.tenant_id)
    before = full_state(contract, today)
    if contract.status != status:
        contract.status_reason = reason.value
    contract.status = status
    await emit_if_changed(session, clock, contract, before, today)
    return contract


async def resume_contract(
    session: AsyncSession, clock: Clock, contract: Contract, reason: str
) -> Contract:
    """suspended → active, or back to trialing before the trial's end (`contract.updated`),
    `reason` shown as its `status_reason`. The charges that fell due while it was suspended
    are not issued: billing goes on with the first one due from today, which the calendar
    issues on its next pass."""
    if contract.status != ContractStatus.SUSPENDED:
        raise conflict(
            f"Contract {contract.id} is {contract.status}; only a suspended contract resumes.",
            "invalid-transition",
        )
    today = await tenant_today(session, clock, contract.tenant_id)
    before = full_state(contract, today)
    contract.status = _status_on_resume(contract, today)
    contract.status_reason = reason
    state = ScheduleState.of(contract)
    contract.next_period, contract.stub_amount = skip_missed_charges(state, today)
    wake_calendar(contract, today)
    await emit_if_changed(session, clock, contract, before, today)
    return contract


def _status_on_resume(contract: Contract, today: date) -> ContractStatus:
    """A trial suspended before its end goes back to its trial: `active` only once the
    service has started (an active contract is always in a period)."""
    if contract.trial_end is not None and contract.trial_end > today:
        return ContractStatus.TRIALING
    return ContractStatus.ACTIVE


async def resume_contract_by_id(
    session: AsyncSession, clock: Clock, tenant_id: str, contract_id: str
) -> Contract:
    """POST …/resume."""
    contract = await get_live_contract(session, tenant_id, contract_id)
    return await resume_contract(session, clock, contract, StatusReason.RESUMED.value)


async def delete_contract(
    session: AsyncSession, clock: Clock, tenant_id: str, contract_id: str
) -> Contract:
    contract = await get_live_contract(session, tenant_id, contract_id)
    charged = await session.scalar(
        select(exists().where(Charge.tenant_id == tenant_id, Charge.contract_id == contract.id))
    )
    if charged:
        raise conflict(
            f"Contract {contract_id} has charges and cannot be deleted; cancel it instead.",
            "contract-has-charges",
        )
    today = await tenant_today(session, clock, tenant_id)
    now = clock.now()
    contract.deleted_at = now
    contract.updated_at = now
    contract.next_step_on = None
    await emit_contract_event(session, clock, contract, EventType.CONTRACT_DELETED, today)
    return contract
