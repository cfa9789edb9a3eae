"""Notas fiscais that follow a settlement: for a tenant whose fiscal settings ask for
`auto_issue`, each settled charge with something to invoice gets its pending invoice in the
settlement's own transaction (fiscal/service.py), for the issuer relay to issue. One query
for the settings (none at all when the tenant does not auto-issue), one for the charges'
live invoices, two INSERTs for the batch."""

from __future__ import annotations

import logging

from assina.events.reacting import Emitted
from assina.fiscal.service import invoiceable, invoiced_of, queue_invoices
from assina.fiscal_settings.service import auto_issuing
from assina.tenants.models import Tenant

logger = logging.getLogger("assina.fiscal")


async def issue_fiscal_invoices(emitted: Emitted) -> None:
    session, tenant_id = emitted.session, emitted.tenant_id
    rules = await auto_issuing(session, tenant_id)
    if rules is None:
        return
    if rules.missing:
        # Settings incomplete: nothing can be issued; the settlement goes on.
        logger.warning("tenant %s auto-issues without %s", tenant_id, ", ".join(rules.missing))
        return
    charges = [invoiced_of(event["data"]) for event, _row in emitted]
    wanted = [charge for charge in charges if invoiceable(charge)]
    if not wanted:
        return
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        return
    await queue_invoices(session, tenant, rules, wanted, emitted.now, emitted.due_at)
