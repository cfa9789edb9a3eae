"""What happens when an event is emitted, in the emitting transaction: the one place to read
to answer "what happens when a charge is settled?".

Every event first gets its webhook messages (reactions/webhooks.py). Then `REACTIONS` lists,
by event type, what else follows, in order:

- `charge_created_email`: the `charge_created` e-mail (reactions/notices.py);
- `reconsider_standing`: the customer's standing decided again by the dunning policy, with
  the cause the event gives (reactions/standing.py);
- `receipt_email`: the `receipt` e-mail, after the standing (reactions/notices.py);
- `card_declined_email`: the `card_declined` e-mail with the payment page's link
  (reactions/notices.py);
- `register_charges`: the charge's registrations with the tenant's PIX and boleto providers,
  for the registration relay to make; for a charge invalidated or settled, what they made
  marked for the cancellation relay to cancel there (reactions/registrations.py);
- `issue_fiscal_invoices`: for a tenant with `auto_issue` in its fiscal settings, a pending
  nota fiscal for each settled charge, for the issuer relay to issue (reactions/fiscal.py);
- `pay_orders`: the pending orders of settled charges become `paid`, and their recurring
  items start contracts whose first period the order's charge paid (reactions/orders.py);
- `fiscal_invoice_email`: the `fiscal_invoice` e-mail of an issued nota fiscal, its PDF
  attached when sent (reactions/notices.py).

Events emitted together (a batch of the billing calendar, a contract's cancellation with the
charges it invalidates) are reacted to together: each reaction runs once for the events of
the batch whose type lists it, in the order of `STEPS`. A reaction may emit events itself
(the policy moving a customer or a contract); those are reacted to the same way inside it,
before it returns, so the events of one transaction keep the order they were written in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from assina.events.catalog import EventType
from assina.events.reacting import Emitted
from assina.reactions.fiscal import issue_fiscal_invoices
from assina.reactions.notices import (
    card_declined_email,
    charge_created_email,
    fiscal_invoice_email,
    receipt_email,
)
from assina.reactions.orders import pay_orders
from assina.reactions.registrations import register_charges
from assina.reactions.standing import reconsider_standing
from assina.reactions.webhooks import webhook_messages

Reaction = Callable[[Emitted], Awaitable[None]]

REACTIONS: dict[EventType, tuple[Reaction, ...]] = {
    EventType.CHARGE_CREATED: (charge_created_email, reconsider_standing, register_charges),
    EventType.CHARGE_SETTLED: (
        reconsider_standing,
        receipt_email,
        register_charges,
        issue_fiscal_invoices,
        pay_orders,
    ),
    EventType.CHARGE_REVERSED: (reconsider_standing,),
    EventType.CHARGE_INVALIDATED: (reconsider_standing, register_charges),
    EventType.CHARGE_REACTIVATED: (reconsider_standing, register_charges),
    EventType.CHARGE_UPDATED: (reconsider_standing, register_charges),
    EventType.CUSTOMER_UPDATED: (reconsider_standing,),
    EventType.CONTRACT_CANCELLED: (reconsider_standing,),
    EventType.CARD_DECLINED: (card_declined_email,),
    EventType.FISCAL_INVOICE_ISSUED: (fiscal_invoice_email,),
}

# The order the reactions of a batch run in; every row of REACTIONS follows it.
STEPS: tuple[Reaction, ...] = (
    charge_created_email,
    reconsider_standing,
    receipt_email,
    card_declined_email,
    register_charges,
    issue_fiscal_invoices,
    pay_orders,
    fiscal_invoice_email,
)

# For each step, the event types that call for it.
_TYPES_OF_STEP = {
    step: frozenset(kind.value for kind, row in REACTIONS.items() if step in row) for step in STEPS
}


async def run_reactions(emitted: Emitted) -> None:
    """The installed reactor (events/reacting.py)."""
    await webhook_messages(emitted)
    for step in STEPS:
        concerned = emitted.of_types(_TYPES_OF_STEP[step])
        if concerned.events:
            await step(concerned)
