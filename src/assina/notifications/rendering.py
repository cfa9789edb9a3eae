"""Rendering a queued e-mail from what the outbox keeps of it (docs/emails.md, "When an e-mail
is rendered").

An e-mail is queued with what renders it, not rendered: its kind, its customer, charge,
contract or nota fiscal by id, `created_at` (the day it speaks of: `today` and the kinds'
day counts are counted from it), and the kind's numbers the caller gave (`render_extra`).
The worker's sender renders it just before its first attempt, with the tenant's template of
that moment (or the default of its locale) and its objects as they are then, and keeps what
it sent on the row (sender.py). Whoever reads an e-mail not rendered yet (the API, the
console) gets it rendered now the same way (`render_unrendered`), nothing written.

Rendering runs in a render thread (budget.py), a batch in one hop: the objects are read
here, on the event loop, and the variables built from them before the hop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from assina.charges.models import Charge
from assina.contracts.models import Contract
from assina.customers.models import Customer
from assina.db.shapes import rows_by_id
from assina.fiscal.models import FiscalInvoice
from assina.notifications.budget import render_off_loop
from assina.notifications.models import Email, EmailKind
from assina.notifications.outbox import EmailContext, email_context, render_for
from assina.notifications.templates import Rendered, TemplateFailure
from assina.notifications.variables import Variables, build_variables


@dataclass(frozen=True)
class ToRender:
    """What renders one queued e-mail: the outbox's columns of it."""

    id: str
    tenant_id: str
    kind: EmailKind
    customer_id: str
    charge_id: str | None
    contract_id: str | None
    fiscal_invoice_id: str | None
    render_extra: Mapping[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, email: Any) -> ToRender:
        """From an `Email` or a row with the same attributes."""
        return cls(
            id=email.id,
            tenant_id=email.tenant_id,
            kind=EmailKind(email.kind),
            customer_id=email.customer_id,
            charge_id=email.charge_id,
            contract_id=email.contract_id,
            fiscal_invoice_id=email.fiscal_invoice_id,
            render_extra=email.render_extra,
            created_at=email.created_at,
        )


@dataclass(frozen=True)
class Made:
    """One e-mail rendered; `note` when the tenant's template failed and the default was
    used instead (render_for)."""

    rendered: Rendered
    note: str | None


@dataclass(frozen=True)
class Unrenderable:
    """An e-mail that cannot be rendered (its objects are gone, or even the default failed)."""

    reason: str


Outcome = Made | Unrenderable


async def render_queued(session: AsyncSession, emails: Sequence[ToRender]) -> dict[str, Outcome]:
    """Each e-mail rendered as it would be sent now, by id. Per tenant, one query per kind for
    the templates and settings, and one per kind of object for the objects."""
    jobs: list[tuple[str, EmailContext, EmailKind, Variables]] = []
    outcomes: dict[str, Outcome] = {}
    tenants: dict[str, list[ToRender]] = {}
    for email in emails:
        tenants.setdefault(email.tenant_id, []).append(email)
    for tenant_id, own in tenants.items():
        jobs += await _tenant_jobs(session, tenant_id, own, outcomes)
    if jobs:
        outcomes |= await render_off_loop(_render_all, jobs)
    return outcomes


async def _tenant_jobs(
    session: AsyncSession, tenant_id: str, emails: Sequence[ToRender], outcomes: dict[str, Outcome]
) -> list[tuple[str, EmailContext, EmailKind, Variables]]:
    """One tenant's e-mails with their variables, to render; those that cannot be go to
    `outcomes` at once."""
    contexts: dict[EmailKind, EmailContext] = {}
    for kind in dict.fromkeys(email.kind for email in emails):
        contexts[kind] = await email_context(session, tenant_id, kind)
    customers = await rows_by_id(session, Customer, tenant_id, {e.customer_id for e in emails})
    charges = await rows_by_id(session, Charge, tenant_id, {e.charge_id for e in emails})
    contracts = await rows_by_id(session, Contract, tenant_id, {e.contract_id for e in emails})
    invoices = await rows_by_id(
        session, FiscalInvoice, tenant_id, {e.fiscal_invoice_id for e in emails}
    )
    jobs: list[tuple[str, EmailContext, EmailKind, Variables]] = []
    for email in emails:
        customer = customers.get(email.customer_id)
        if customer is None:
            outcomes[email.id] = Unrenderable(f"no customer {email.customer_id}")
            continue
        context = contexts[email.kind]
        try:
            variables = build_variables(
                email.kind,
                context.setting,
                email.created_at,
                customer,
                charges.get(email.charge_id or ""),
                contracts.get(email.contract_id or ""),
                email.render_extra,
                fiscal_invoice=invoices.get(email.fiscal_invoice_id or ""),
            )
        except ValueError as error:  # an object it needs is gone
            outcomes[email.id] = Unrenderable(str(error))
            continue
        jobs.append((email.id, context, email.kind, variables))
    return jobs


def _render_all(
    jobs: Sequence[tuple[str, EmailContext, EmailKind, Variables]],
) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    for email_id, context, kind, variables in jobs:
        try:
            outcomes[email_id] = Made(*render_for(context, kind, variables))
        except TemplateFailure as failure:
            outcomes[email_id] = Unrenderable(f"the default template failed: {failure}")
    return outcomes


async def render_unrendered(session: AsyncSession, emails: Sequence[Email]) -> None:
    """The e-mails not rendered yet (`rendered_at` unset) given their subject and bodies as
    they would be sent now, in memory only: nothing is marked changed, nothing is written.
    One that cannot be rendered says why in its subject."""
    waiting = [email for email in emails if email.rendered_at is None]
    outcomes = await render_queued(session, [ToRender.of(email) for email in waiting])
    for email in waiting:
        outcome = outcomes[email.id]
        if isinstance(outcome, Made):
            parts = outcome.rendered.subject, outcome.rendered.text, outcome.rendered.html
        else:
            parts = f"(not renderable: {outcome.reason})", "", ""
        for name, value in zip(("subject", "text_body", "html_body"), parts, strict=True):
            set_committed_value(email, name, value)
