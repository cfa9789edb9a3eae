"""Queueing e-mails: the one function other domains call.

`queue_email` renders the tenant's template for the kind (or the default of its locale) with
the documented variables and adds one `emails` row to the caller's session, in the caller's
transaction: the step that causes an e-mail and the e-mail commit together or not at all. It
does not commit, and costs one query (tenant, settings and template at once) plus the INSERT
at the caller's flush. The worker's sender sends the row later (sender.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge
from assina.contracts.models import Contract
from assina.core.clock import Clock
from assina.core.ids import new_id
from assina.customers.models import Customer
from assina.notifications.defaults import default_sources
from assina.notifications.models import (
    Email,
    EmailKind,
    EmailSettings,
    EmailStatus,
    EmailTemplate,
    Locale,
)
from assina.notifications.templates import (
    Rendered,
    Sources,
    TemplateFailure,
    render_email,
)
from assina.notifications.variables import Setting, Variables, build_variables
from assina.tenants.models import Tenant

__all__ = ["EmailContext", "EmailKind", "email_context", "queue_email", "render_for"]

logger = logging.getLogger("assina.emails")


@dataclass(frozen=True)
class EmailContext:
    """What one tenant's e-mail of one kind is made with."""

    setting: Setting
    from_name: str | None
    reply_to: str | None
    saved: Sources | None  # the tenant's own template, if it saved one
    saved_at: datetime | None = None

    @property
    def locale(self) -> Locale:
        return self.setting.locale

    def sources(self, kind: EmailKind) -> Sources:
        return self.saved or default_sources(kind, self.setting.locale)


async def email_context(session: AsyncSession, tenant_id: str, kind: EmailKind) -> EmailContext:
    """Tenant, e-mail settings and the saved template, in one query. LookupError when there
    is no such tenant."""
    row = (
        await session.execute(
            select(
                Tenant.name,
                Tenant.time_zone,
                EmailSettings.locale,
                EmailSettings.from_name,
                EmailSettings.reply_to,
                EmailTemplate.subject,
                EmailTemplate.html,
                EmailTemplate.text,
                EmailTemplate.updated_at,
            )
            .select_from(Tenant)
            .outerjoin(EmailSettings, EmailSettings.tenant_id == Tenant.id)
            .outerjoin(
                EmailTemplate,
                and_(EmailTemplate.tenant_id == Tenant.id, EmailTemplate.kind == kind.value),
            )
            .where(Tenant.id == tenant_id)
        )
    ).first()
    if row is None:
        raise LookupError(f"no tenant {tenant_id!r}")
    name, time_zone, locale, from_name, reply_to, subject, html, text, saved_at = row
    saved = Sources(subject, html, text) if subject is not None else None
    setting = Setting(Locale(locale or Locale.PT_BR), time_zone, name)
    return EmailContext(setting, from_name, reply_to, saved, saved_at)


def render_for(
    context: EmailContext, kind: EmailKind, variables: Variables
) -> tuple[Rendered, str | None]:
    """The e-mail as the tenant's template renders it. A saved template was checked with
    sample data when saved; should it still fail on real data (say, a division by a value
    that is zero here), the default is used instead and the reason is returned as a note."""
    if context.saved is None:
        return render_email(default_sources(kind, context.locale), kind, variables), None
    try:
        return render_email(context.saved, kind, variables), None
    except TemplateFailure as failure:
        logger.warning("the %s template failed, sending the default: %s", kind, failure)
        default = render_email(default_sources(kind, context.locale), kind, variables)
        return default, f"the saved template failed ({failure}); the default was sent"[:500]


async def queue_email(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    kind: EmailKind,
    customer: Customer,
    *,
    charge: Charge | None = None,
    contract: Contract | None = None,
    extra: Mapping[str, Any] | None = None,
    context: EmailContext | None = None,
    notice_key: str | None = None,
) -> Email:
    """Render and queue one e-mail to `customer` (not committed: the caller's boundary
    commits). A charge kind (`charge_created`, `reminder`, `overdue`, `receipt`) needs
    `charge`; a contract kind (`suspension`, `cancellation`, `trial_ending`) `contract`.
    `extra` may set `days_until_due` (reminder), `days_overdue` (overdue) or `days_left`
    (trial_ending); they are computed from today in the tenant's time zone otherwise.

    The row is `pending`, or `no_recipient` when the customer has no e-mail address.

    `context`: what `email_context(session, tenant_id, kind)` answered, for a caller queueing
    many e-mails of one kind (saves the query). `notice_key`: the caller's key for this notice
    (e.g. kind, object and day), unique per tenant in the outbox (a second one with the same
    key fails on the unique constraint at flush); callers skip the keys already there."""
    if customer.tenant_id != tenant_id:
        raise ValueError("the customer belongs to another tenant")
    if context is None:
        context = await email_context(session, tenant_id, kind)
    now = clock.now()
    variables = build_variables(kind, context.setting, now, customer, charge, contract, extra)
    rendered, note = render_for(context, kind, variables)
    status = EmailStatus.PENDING if customer.email else EmailStatus.NO_RECIPIENT
    email = Email(
        id=new_id("eml"),
        tenant_id=tenant_id,
        customer_id=customer.id,
        charge_id=charge.id if charge is not None else None,
        contract_id=contract.id if contract is not None else None,
        kind=kind.value,
        notice_key=notice_key,
        to_address=customer.email,
        from_name=context.from_name,
        reply_to=context.reply_to,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        status=status.value,
        attempt_count=0,
        next_attempt_at=now,
        locked_until=None,
        last_attempt_at=None,
        last_error=note,
        sent_at=None,
        created_at=now,
    )
    session.add(email)
    return email
