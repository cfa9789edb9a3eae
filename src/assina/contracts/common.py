"""What every contract use case shares: loading, the final state, events."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.contracts.models import Contract, ContractStatus
from assina.contracts.schemas import ContractOut
from assina.core.clock import Clock
from assina.core.errors import conflict, not_found
from assina.events.catalog import EventType
from assina.events.service import changed_fields, emit_event, snapshot


async def get_contract(
    session: AsyncSession, tenant_id: str, contract_id: str, *, lock: bool = False
) -> Contract:
    """The contract (404 when missing, deleted or another tenant's). `lock` takes its row lock
    (PostgreSQL; SQLite has one writer anyway) so that a change computed from its state cannot
    overwrite one the calendar commits meanwhile."""
    statement = select(Contract).where(
        Contract.tenant_id == tenant_id,
        Contract.id == contract_id,
        Contract.deleted_at.is_(None),
    )
    contract = await session.scalar(statement.with_for_update() if lock else statement)
    if contract is None:
        raise not_found("contract", contract_id)
    return contract


async def get_live_contract(session: AsyncSession, tenant_id: str, contract_id: str) -> Contract:
    """A contract that may still change, locked for the change: cancelled is final (409)."""
    contract = await get_contract(session, tenant_id, contract_id, lock=True)
    refuse_if_cancelled(contract)
    return contract


def refuse_if_cancelled(contract: Contract) -> None:
    if contract.status == ContractStatus.CANCELLED:
        raise conflict(
            f"Contract {contract.id} is cancelled; a cancelled contract cannot change.",
            "invalid-transition",
        )


def wake_calendar(contract: Contract, today: date) -> None:
    """Have the calendar look at the contract on its next pass (it then sets its own next
    step): for changes that may move what it has to do."""
    if contract.next_step_on is None or contract.next_step_on > today:
        contract.next_step_on = today


def full_state(contract: Contract, today: date) -> dict[str, Any]:
    """The contract as shown: what an event's `previous` is diffed from."""
    return snapshot(ContractOut.of(contract, today))


async def emit_contract_event(
    session: AsyncSession,
    clock: Clock,
    contract: Contract,
    event_type: EventType,
    today: date,
    previous: dict[str, Any] | None = None,
    data: ContractOut | None = None,
) -> None:
    """`data` defaults to the contract as shown today (`contract.readjusted` adds to it)."""
    await emit_event(
        session,
        clock,
        contract.tenant_id,
        event_type,
        data or ContractOut.of(contract, today),
        previous=previous,
        customer_id=contract.customer_id,
    )


async def emit_if_changed(
    session: AsyncSession,
    clock: Clock,
    contract: Contract,
    before: dict[str, Any],
    today: date,
    event_type: EventType = EventType.CONTRACT_UPDATED,
) -> bool:
    """Emit `event_type` with `previous` when the contract differs from `before` (a
    `full_state`), bumping `updated_at`; nothing when nothing changed."""
    previous = changed_fields(before, full_state(contract, today))
    if not previous:
        return False
    contract.updated_at = clock.now()
    await emit_contract_event(session, clock, contract, event_type, today, previous)
    return True
