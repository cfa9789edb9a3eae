"""The customer's standing decided again at once (dunning/steps.py `reconsider_customers`)
after a change to its debts, so that a customer who pays is active again, its contracts
resumed, in the same transaction, not at the next day's pass.

Which events call for it, and the cause the policy is told (it names a move back to a better
standing, rules/dunning.py `DunningCause`), read from the event:

- `charge.settled` `settled`, except a charge of 0 settled as it was issued (that is its
  creation); `charge.reversed` `reversed`; `charge.reactivated` `reactivated`;
- `charge.invalidated` `invalidated`, except the charges a contract's cancellation
  invalidates in the same batch (the cancellation speaks for them);
- `charge.created` `charge_created` for a one-off charge (no contract) created overdue; a
  contract's charges are the calendar's, whose dunning pass follows;
- `charge.updated` `exempted` when `dunning_exempt` changed, else `due_date_moved` when the
  due date did; `customer.updated` `exempted` when `dunning_exempt` changed;
- `contract.cancelled` `contract_cancelled` (the charges it invalidated may have been
  overdue), unless the dunning policy cancelled it: that is this very decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from assina.charges.service import ZERO_SETTLEMENT_METHOD
from assina.contracts.models import StatusReason
from assina.dunning.steps import reconsider_customers
from assina.events.catalog import EventType
from assina.events.reacting import Emitted
from assina.reactions.notices import subject_charge
from assina.rules.dunning import DunningCause
from assina.tenants.clock import tenant_today

_BY_TYPE = {
    EventType.CHARGE_SETTLED.value: DunningCause.SETTLED,
    EventType.CHARGE_REVERSED.value: DunningCause.REVERSED,
    EventType.CHARGE_REACTIVATED.value: DunningCause.REACTIVATED,
    EventType.CHARGE_INVALIDATED.value: DunningCause.INVALIDATED,
    EventType.CONTRACT_CANCELLED.value: DunningCause.CONTRACT_CANCELLED,
}


async def reconsider_standing(emitted: Emitted) -> None:
    """Each customer the batch's events call for, once per cause, in the events' order,
    consecutive customers of one cause in one pass of the policy."""
    cancelled = {
        event["data"]["id"]
        for event in emitted.events
        if event["type"] == EventType.CONTRACT_CANCELLED.value
    }
    wanted: dict[tuple[str, DunningCause], None] = {}
    for event, row in emitted:
        cause = await _cause(emitted, event, row, cancelled)
        if cause is not None:
            wanted[(event["customer_id"], cause)] = None
    if not wanted:
        return
    await emitted.session.flush()  # the policy reads the change from the database
    for cause, customer_ids in _runs_of_one_cause(list(wanted)):
        await reconsider_customers(emitted.scope, customer_ids, cause)


def _runs_of_one_cause(
    wanted: list[tuple[str, DunningCause]],
) -> list[tuple[DunningCause, list[str]]]:
    """Consecutive customers of one cause, as one batch each: the events' order is kept
    between causes, and a batch of settlements is one pass of the policy."""
    runs: list[tuple[DunningCause, list[str]]] = []
    for customer_id, cause in wanted:
        if runs and runs[-1][0] == cause and customer_id not in runs[-1][1]:
            runs[-1][1].append(customer_id)
        else:
            runs.append((cause, [customer_id]))
    return runs


async def _cause(
    emitted: Emitted,
    event: Mapping[str, Any],
    row: Mapping[str, Any] | None,
    cancelled_contracts: set[str],
) -> DunningCause | None:
    data, changed = event["data"], event["previous"] or {}
    match event["type"]:
        case EventType.CHARGE_CREATED.value:
            return await _created_overdue(emitted, data) if data["amount"] > 0 else None
        case EventType.CHARGE_SETTLED.value:
            charge = await subject_charge(emitted.session, event, row)
            if charge.settlement_method == ZERO_SETTLEMENT_METHOD:
                return await _created_overdue(emitted, data)
        case EventType.CHARGE_INVALIDATED.value:
            if data["contract_id"] in cancelled_contracts:
                return None
        case EventType.CHARGE_UPDATED.value:
            if "dunning_exempt" in changed:
                return DunningCause.EXEMPTED
            return DunningCause.DUE_DATE_MOVED if "due_date" in changed else None
        case EventType.CUSTOMER_UPDATED.value:
            return DunningCause.EXEMPTED if "dunning_exempt" in changed else None
        case EventType.CONTRACT_CANCELLED.value:
            if data["status_reason"] == StatusReason.DUNNING.value:
                return None
    return _BY_TYPE.get(event["type"])


async def _created_overdue(emitted: Emitted, data: Mapping[str, Any]) -> DunningCause | None:
    if data["contract_id"] is not None:
        return None
    today = await tenant_today(emitted.session, emitted.clock, emitted.tenant_id)
    due = date.fromisoformat(data["due_date"])
    return DunningCause.CHARGE_CREATED if due < today else None
