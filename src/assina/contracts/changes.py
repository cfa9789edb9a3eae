"""Changing a live contract: PATCH (items, terms) and readjustment.

Rules:

- A cancelled contract cannot change (409). `billing_day` cannot change after creation (409,
  the contract's state forbids it, not the request's shape): moving a schedule would leave days
  charged twice or never; cancel and create another contract instead.
- New items follow items.py and must share the contract's interval and currency.
- Items changed mid-period are prorated by day: every period already charged that has days
  left adds to `pending_adjustment` (new - old) * days left, from today inclusive, over the
  period's days, half-even; a period charged ahead in full adds the whole difference
  (schedule.change_adjustment). The next charge carries `pending_adjustment` as a line of its
  own. Periods not yet charged need nothing: their charge carries the new amount. A stub not yet
  charged is re-prorated from the new amount.
- Readjustment by `percent`: every item's unit amount becomes `readjusted_amount(amount,
  percent)` (half-even to the centavo, never below 0), then the contract's amount is the sum of
  quantity * new unit amount. By `index` and `reference_month`: the percent is the index's 12
  monthly values ending at `reference_month`, compounded (`index_percent`); a month not
  recorded is a 422 naming it. It applies to charges not yet issued (no proration), sets
  `last_readjusted_on` to today and raises `contract.readjusted` with `previous` {items, amount}
  and, in its data, `readjustment` {percent, index, reference_month}: what was applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from assina.contracts.common import (
    emit_contract_event,
    emit_if_changed,
    full_state,
    get_live_contract,
    refuse_if_cancelled,
    wake_calendar,
)
from assina.contracts.items import Terms, resolve_items
from assina.contracts.models import Contract
from assina.contracts.schedule import (
    ScheduleState,
    change_adjustment,
    stub_amount_for,
    stub_pending,
)
from assina.contracts.schemas import (
    ContractItemIn,
    ContractReadjust,
    ContractReadjustedOut,
    ContractUpdate,
)
from assina.core.clock import Clock
from assina.core.errors import conflict, invalid
from assina.core.money import MAX_AMOUNT
from assina.core.patching import METADATA_COLUMN, apply_patch
from assina.events.catalog import EventType
from assina.price_indexes.models import PriceIndex
from assina.price_indexes.schemas import percent_text
from assina.price_indexes.service import last_twelve
from assina.rules.periods import Interval
from assina.rules.readjustment import Readjustment, index_percent, readjusted_amount
from assina.tenants.clock import tenant_today


async def update_contract(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    contract_id: str,
    changes: ContractUpdate,
) -> Contract:
    """PATCH: only the fields sent change; a PATCH that changes nothing raises no event."""
    contract = await get_live_contract(session, tenant_id, contract_id)
    today = await tenant_today(session, clock, tenant_id)
    before = full_state(contract, today)
    if changes.billing_day is not None and changes.billing_day != contract.billing_day:
        raise conflict(
            f"billing_day cannot change after creation (it is {contract.billing_day}); cancel "
            "the contract and create another",
            "billing-day-fixed",
        )
    if changes.items is not None:
        await _change_items(session, contract, changes.items, today)
    old_index = contract.readjustment_index
    apply_patch(contract, changes.plain(), METADATA_COLUMN)
    if contract.readjustment_index != old_index:
        wake_calendar(contract, today)
    await emit_if_changed(session, clock, contract, before, today)
    return contract


async def _change_items(
    session: AsyncSession, contract: Contract, requested: Sequence[ContractItemIn], today: date
) -> None:
    terms = Terms(Interval(contract.interval), contract.interval_count, contract.currency)
    resolved = await resolve_items(session, contract.tenant_id, requested, contract.items, terms)
    _set_amounts(contract, resolved.items, resolved.amount, today, prorate_change=True)


def _set_amounts(
    contract: Contract,
    items: list[dict[str, Any]],
    amount: int,
    today: date,
    *,
    prorate_change: bool,
) -> None:
    state = ScheduleState.of(contract)
    if prorate_change:
        contract.pending_adjustment += change_adjustment(state, contract.amount, amount, today)
    if stub_pending(state):
        contract.stub_amount = stub_amount_for(state, amount)
    contract.items = items
    contract.amount = amount


# --- readjustment -----------------------------------------------------------------------------


async def readjust_on_request(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    contract_id: str,
    params: ContractReadjust,
) -> Contract:
    """POST …/readjust: by `percent`, or by `index` over the 12 months to `reference_month`."""
    form = _requested_form(params)
    contract = await get_live_contract(session, tenant_id, contract_id)
    if isinstance(form, Decimal):
        readjustment = Readjustment(form)
    else:
        index, month = form
        percent = index_percent(await last_twelve(session, tenant_id, index, month))
        readjustment = Readjustment(percent, index.value, month)
    return await readjust_contract(session, clock, tenant_id, contract, readjustment)


def _requested_form(params: ContractReadjust) -> Decimal | tuple[PriceIndex, str]:
    """The percent, or (index, reference month): exactly one form (422 otherwise)."""
    by_index = params.index is not None or params.reference_month is not None
    if params.percent is not None:
        if by_index:
            raise invalid("percent", "send either percent, or index with reference_month")
        return params.percent
    if not by_index:
        raise invalid("percent", "send percent, or index with reference_month")
    if params.index is None:
        raise invalid("index", "is required with reference_month")
    if params.reference_month is None:
        raise invalid("reference_month", "is required with index")
    return params.index, params.reference_month


async def readjust_contract(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    contract: Contract,
    readjustment: Readjustment,
) -> Contract:
    """Raise (or, below zero, lower) every item's unit amount by the readjustment's percent and
    re-sum the contract; for `POST …/readjust` and the calendar's yearly readjustment by index.
    The event's data says what was applied."""
    refuse_if_cancelled(contract)
    percent = readjustment.percent
    today = await tenant_today(session, clock, tenant_id)
    previous = {"items": [dict(item) for item in contract.items], "amount": contract.amount}
    items = [
        {**item, "amount": readjusted_amount(item["amount"], percent)} for item in contract.items
    ]
    amount = sum(item["quantity"] * item["amount"] for item in items)
    if amount > MAX_AMOUNT:
        raise invalid(
            "percent", f"{percent_text(percent)} % would take the amount over {MAX_AMOUNT}"
        )
    _set_amounts(contract, items, amount, today, prorate_change=False)
    contract.last_readjusted_on = today
    contract.updated_at = clock.now()
    data = ContractReadjustedOut.readjusted(contract, today, readjustment)
    await emit_contract_event(
        session, clock, contract, EventType.CONTRACT_READJUSTED, today, previous, data
    )
    return contract
