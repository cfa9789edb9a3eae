"""Queueing e-mails: the functions other domains call.

`queue_email` adds one `emails` row to the caller's session, in the caller's transaction:
the step that causes an e-mail and the e-mail commit together or not at all. The row holds
what renders the e-mail (its kind, its objects by id, the day, the kind's numbers), not the
e-mail: the worker's sender renders it with the tenant's template (or the default of its
locale) just before sending it, and keeps what it sent (rendering.py, sender.py). It does not
commit, and costs one query (tenant, settings and template at once: whether the kind is
sent, and the sender's name) plus the INSERT at the caller's flush. `queue_emails` does the
same for many e-mails of one kind with one multi-row INSERT (the billing calendar and the
dunning pass, a batch at a time).

`render_for` is how an e-mail is rendered, in a render thread (budget.py), never on the event
loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
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
from assina.db.dialect import insert_on_conflict
from assina.db.shapes import insert_rows
from assina.fiscal.models import FiscalInvoice
from assina.notifications.defaults import default_sources
from assina.notifications.models import (
    Email,
    EmailKind,
    EmailRow,
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
from assina.notifications.variables import (
    CHARGE_KINDS,
    FISCAL_KINDS,
    Setting,
    Variables,
    check_extra,
)
from assina.tenants.models import Tenant

__all__ = [
    "EmailContext",
    "EmailKind",
    "Notice",
    "email_context",
    "email_rows",
    "queue_email",
    "queue_emails",
    "render_for",
]

logger = logging.getLogger("assina.emails")


@dataclass(frozen=True)
class EmailContext:
    """What one tenant's e-mail of one kind is made with."""

    setting: Setting
    from_name: str | None
    reply_to: str | None
    saved: Sources | None  # the tenant's own template, if it saved one
    saved_at: datetime | None = None
    disabled: bool = False  # the tenant does not send this kind: nothing is queued

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
                EmailSettings.disabled_kinds,
                EmailTemplate.subject,
                EmailTemplate.html,
                EmailTemplate.text,
                EmailTemplate.updated_at,
            )
            .select_from(Tenant)
            .outerjoin(EmailSettings, EmailSettings.tenant_id == Tenant.id)
            .outerjoin(
                EmailTemplate,
                and_(EmailTemplate.tenant_id == Tenant.id, EmailTemplate.kind == kind),
            )
            .where(Tenant.id == tenant_id)
        )
    ).first()
    if row is None:
        raise LookupError(f"no tenant {tenant_id!r}")
    name, time_zone, locale, from_name, reply_to, disabled_kinds, *template = row
    subject, html, text, saved_at = template
    saved = Sources(subject, html, text) if subject is not None else None
    setting = Setting(Locale(locale or Locale.PT_BR), time_zone, name)
    disabled = kind.value in (disabled_kinds or [])
    return EmailContext(setting, from_name, reply_to, saved, saved_at, disabled)


def render_for(
    context: EmailContext, kind: EmailKind, variables: Variables
) -> tuple[Rendered, str | None]:
    """The e-mail as the tenant's template renders it. A saved template was checked with
    sample data when saved; should it still fail on real data (say, a division by a value
    that is zero here), the default is used instead and the reason is returned as a note."""
    defaults = default_sources(kind, context.locale)
    if context.saved is None:
        return render_email(defaults, kind, variables, strip_controls=True), None
    try:
        return render_email(context.saved, kind, variables), None
    except TemplateFailure as failure:
        logger.warning("the %s template failed, sending the default: %s", kind, failure)
        default = render_email(defaults, kind, variables, strip_controls=True)
        return default, f"the saved template failed ({failure}); the default was sent"[:500]


@dataclass(frozen=True)
class Notice:
    """One e-mail for `queue_emails`: to whom (the customer, and its address as it is now),
    about what (a charge kind needs `charge_id`, a contract kind `contract_id`, the fiscal
    kind `fiscal_invoice_id` and its `charge_id`), the kind's numbers in `extra`, and the
    caller's `notice_key`. `Notice.of` makes one from the objects."""

    customer_id: str
    to_address: str | None
    charge_id: str | None = None
    contract_id: str | None = None
    extra: Mapping[str, Any] | None = None
    notice_key: str | None = None
    fiscal_invoice_id: str | None = None

    @classmethod
    def of(
        cls,
        customer: Customer,
        charge: Charge | None = None,
        contract: Contract | None = None,
        extra: Mapping[str, Any] | None = None,
        notice_key: str | None = None,
        fiscal_invoice: FiscalInvoice | None = None,
    ) -> Notice:
        return cls(
            customer.id,
            customer.email,
            charge.id if charge is not None else None,
            contract.id if contract is not None else None,
            extra,
            notice_key,
            fiscal_invoice.id if fiscal_invoice is not None else None,
        )


def _check(kind: EmailKind, notice: Notice) -> None:
    """What the kind is about must be named (ValueError otherwise: a caller's mistake, found
    when queueing rather than when sending); its numbers must be the kind's."""
    if kind in FISCAL_KINDS:
        if notice.fiscal_invoice_id is None or notice.charge_id is None:
            raise ValueError(f"a {kind} e-mail needs a fiscal invoice and its charge")
    elif kind in CHARGE_KINDS:
        if notice.charge_id is None:
            raise ValueError(f"a {kind} e-mail needs a charge")
    elif notice.contract_id is None:
        raise ValueError(f"a {kind} e-mail needs a contract")
    check_extra(kind, notice.extra)


def email_rows(
    tenant_id: str,
    kind: EmailKind,
    notices: Sequence[Notice],
    context: EmailContext,
    now: datetime,
    due_at: datetime,
) -> list[EmailRow]:
    """The `emails` rows of the notices, by attribute name, to be rendered when sent
    (rendering.py): `pending`, or `no_recipient` when the customer has no e-mail address.
    Dated `now` (business time, the day the e-mail speaks of), due to be sent at `due_at`
    (real time: `Clock.real_now`)."""
    rows: list[EmailRow] = []
    for notice in notices:
        _check(kind, notice)
        address = notice.to_address
        rows.append(
            {
                "id": new_id("eml"),
                "tenant_id": tenant_id,
                "customer_id": notice.customer_id,
                "charge_id": notice.charge_id,
                "contract_id": notice.contract_id,
                "fiscal_invoice_id": notice.fiscal_invoice_id,
                "kind": kind,
                "notice_key": notice.notice_key,
                "to_address": address,
                "from_name": context.from_name,
                "reply_to": context.reply_to,
                "subject": "",
                "text_body": "",
                "html_body": "",
                "rendered_at": None,
                "render_extra": dict(notice.extra) if notice.extra else None,
                "status": EmailStatus.PENDING if address else EmailStatus.NO_RECIPIENT,
                "attempt_count": 0,
                "next_attempt_at": due_at,
                "locked_until": None,
                "last_attempt_at": None,
                "last_error": None,
                "sent_at": None,
                "created_at": now,
            }
        )
    return rows


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
    fiscal_invoice: FiscalInvoice | None = None,
) -> Email | None:
    """Queue one e-mail to `customer`, rendered when sent (not committed: the caller's
    boundary commits); None, and nothing queued, when the tenant disabled the kind. A charge kind
    (`charge_created`, `reminder`, `overdue`, `receipt`) needs `charge`; a contract kind
    (`suspension`, `cancellation`, `trial_ending`) `contract`; `fiscal_invoice` its
    `fiscal_invoice` and the invoiced `charge`.
    `extra` may set `days_until_due` (reminder), `days_overdue` (overdue) or `days_left`
    (trial_ending); they are computed from today in the tenant's time zone otherwise.

    The row is `pending`, or `no_recipient` when the customer has no e-mail address.

    `context`: what `email_context(session, tenant_id, kind)` answered, for a caller queueing
    many e-mails of one kind (saves the query). `notice_key`: the caller's key for this notice
    (e.g. kind, object and day), unique per tenant in the outbox (a second one with the same
    key fails on the unique constraint at flush); callers skip the keys already there."""
    if context is None:
        context = await email_context(session, tenant_id, kind)
    if context.disabled:
        return None
    if customer.tenant_id != tenant_id:
        raise ValueError("the customer belongs to another tenant")
    notice = Notice.of(customer, charge, contract, extra, notice_key, fiscal_invoice)
    [row] = email_rows(tenant_id, kind, [notice], context, clock.now(), clock.real_now())
    email = Email(**row)
    session.add(email)
    return email


async def queue_emails(
    session: AsyncSession,
    tenant_id: str,
    kind: EmailKind,
    notices: Sequence[Notice],
    now: datetime,
    context: EmailContext | None = None,
    *,
    due_at: datetime,
) -> int:
    """Queue many e-mails of one kind with one multi-row INSERT, at once (not at
    the next flush: the rows their foreign keys name must be written already). For the
    billing calendar's and the dunning pass's batches. A notice whose `notice_key` is in the
    outbox already is skipped by the database (ON CONFLICT DO NOTHING), which needs no lookup
    whose plan could go wrong while the table grows. Returns how many were queued (0 when
    the tenant disabled the kind)."""
    if not notices:
        return 0
    if context is None:
        context = await email_context(session, tenant_id, kind)
    if context.disabled:
        return 0
    rows = email_rows(tenant_id, kind, notices, context, now, due_at)
    table = Email.__table__
    statement = (
        insert_on_conflict(session, Email)
        .on_conflict_do_nothing(index_elements=[table.c.tenant_id, table.c.notice_key])
        .returning(Email.id)
    )
    return len(await insert_rows(session, statement, rows))
