"""E-mail use cases: templates, settings and previews, and reading the outbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from assina.charges.models import Charge
from assina.charges.service import first_paid_charges
from assina.config import Settings
from assina.contracts.models import Contract
from assina.core.clock import Clock
from assina.core.errors import FieldError, Problem, invalid, not_found
from assina.core.pagination import PageParams, fetch_page, in_range
from assina.customers.models import Customer
from assina.db.dialect import insert_on_conflict
from assina.fiscal.models import FiscalInvoice
from assina.notifications.budget import render_off_loop
from assina.notifications.defaults import default_sources
from assina.notifications.models import (
    Email,
    EmailKind,
    EmailSettings,
    EmailStatus,
    EmailTemplate,
    Locale,
)
from assina.notifications.outbox import EmailContext, email_context, render_for
from assina.notifications.rendering import render_unrendered
from assina.notifications.schemas import (
    EmailSettingsIn,
    EmailSettingsOut,
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
    VariableOut,
)
from assina.notifications.templates import (
    Rendered,
    Sources,
    TemplateFailure,
    render_email,
    template_failures,
)
from assina.notifications.variables import (
    FISCAL_KINDS,
    KIND_DESCRIPTIONS,
    Setting,
    Variables,
    build_variables,
    documented,
    sample_extra,
    sample_fiscal_invoice,
    sample_objects,
    sample_variables,
    sparse_variables,
)

Model = TypeVar("Model", Customer, Charge, Contract, FiscalInvoice)

# --- templates --------------------------------------------------------------------------------


def _template_out(
    kind: EmailKind, sources: Sources, customized: bool, updated_at: datetime | None
) -> TemplateOut:
    return TemplateOut(
        kind=kind,
        description=KIND_DESCRIPTIONS[kind],
        customized=customized,
        subject=sources.subject,
        html=sources.html,
        text=sources.text,
        variables=[VariableOut(name=n, description=d) for n, d in documented(kind)],
        updated_at=updated_at,
    )


def _context_out(kind: EmailKind, context: EmailContext) -> TemplateOut:
    return _template_out(kind, context.sources(kind), context.saved is not None, context.saved_at)


async def _context(session: AsyncSession, tenant_id: str, kind: EmailKind) -> EmailContext:
    try:
        return await email_context(session, tenant_id, kind)
    except LookupError:
        raise not_found("tenant", tenant_id) from None


async def get_template(session: AsyncSession, tenant_id: str, kind: EmailKind) -> TemplateOut:
    return _context_out(kind, await _context(session, tenant_id, kind))


async def list_templates(session: AsyncSession, tenant_id: str) -> list[TemplateOut]:
    locale = await tenant_locale(session, tenant_id)
    saved = {
        row.kind: row
        for row in await session.scalars(
            select(EmailTemplate).where(EmailTemplate.tenant_id == tenant_id)
        )
    }
    listed = []
    for kind in EmailKind:
        row = saved.get(kind)
        if row is None:
            listed.append(_template_out(kind, default_sources(kind, locale), False, None))
        else:
            sources = Sources(row.subject, row.html, row.text)
            listed.append(_template_out(kind, sources, True, row.updated_at))
    return listed


def check_sources(sources: Sources, kind: EmailKind, now: datetime, prefix: str = "") -> None:
    """422 naming every part (`subject`, `html`, `text`) that does not render."""
    setting = Setting(Locale.PT_BR, "America/Sao_Paulo", "Empresa Exemplo")
    samples = [sample_variables(kind, setting, now), sparse_variables(kind, setting, now)]
    failures = template_failures(sources, kind, samples)
    if not failures:
        return
    errors = [FieldError(f"{prefix}{failure.part}", failure.message) for failure in failures]
    summary = "; ".join(f"{error.field}: {error.message}" for error in errors)
    raise Problem(422, "validation-error", summary, "Unprocessable Content", errors=errors)


async def replace_template(
    session: AsyncSession, clock: Clock, tenant_id: str, kind: EmailKind, params: TemplateIn
) -> TemplateOut:
    now = clock.now()
    sources = Sources(params.subject, params.html, params.text)
    await render_off_loop(check_sources, sources, kind, now)
    values: dict[str, object] = {"subject": sources.subject, "html": sources.html}
    values |= {"text": sources.text, "updated_at": now}
    table = cast(Table, EmailTemplate.__table__)
    await session.execute(
        insert_on_conflict(session, table)
        .values(tenant_id=tenant_id, kind=kind, **values)
        .on_conflict_do_update(index_elements=[table.c.tenant_id, table.c.kind], set_=values)
    )
    return _template_out(kind, sources, True, now)


async def restore_default(session: AsyncSession, tenant_id: str, kind: EmailKind) -> TemplateOut:
    """Forget the tenant's template for the kind: the default of its locale applies again."""
    await session.execute(
        delete(EmailTemplate).where(
            EmailTemplate.tenant_id == tenant_id, EmailTemplate.kind == kind
        )
    )
    locale = await tenant_locale(session, tenant_id)
    return _template_out(kind, default_sources(kind, locale), False, None)


# --- previews ---------------------------------------------------------------------------------


async def preview(
    session: AsyncSession, clock: Clock, tenant_id: str, kind: EmailKind, params: PreviewIn
) -> PreviewOut:
    context = await _context(session, tenant_id, kind)
    if params.locale is not None:
        setting = dataclasses.replace(context.setting, locale=params.locale)
        context = dataclasses.replace(context, setting=setting)
    now = clock.now()
    today = context.setting.today(now)
    invoice = None
    if params.fiscal_invoice_id is not None:
        invoice, params = await _preview_invoice(session, tenant_id, params)
    customer, charge, contract = await _preview_objects(
        session, tenant_id, kind, params, now, today
    )
    if invoice is None and kind in FISCAL_KINDS and charge is not None:
        invoice = sample_fiscal_invoice(customer.id, charge, now)
    # A preview has no declined attempt to tell of: `card_declined` shows the sample's.
    extra = sample_extra(kind)
    variables = build_variables(
        kind, context.setting, now, customer, charge, contract, extra, fiscal_invoice=invoice
    )
    rendered = await render_off_loop(_render_preview, context, kind, variables, params, now)
    return PreviewOut(
        kind=kind,
        locale=context.locale,
        to=customer.email,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
    )


def _render_preview(
    context: EmailContext, kind: EmailKind, variables: Variables, params: PreviewIn, now: datetime
) -> Rendered:
    """The saved template (or the default), or the one in the request: 422 if it does not
    render. Run in a render thread."""
    if params.template is None:
        rendered, _note = render_for(context, kind, variables)
        return rendered
    template = params.template
    sources = Sources(template.subject, template.html, template.text)
    check_sources(sources, kind, now, "template.")
    try:
        return render_email(sources, kind, variables)
    except TemplateFailure as failure:
        raise invalid(f"template.{failure.part}", failure.message) from None


async def _preview_invoice(
    session: AsyncSession, tenant_id: str, params: PreviewIn
) -> tuple[FiscalInvoice, PreviewIn]:
    """The nota fiscal named (the tenant's: 422 otherwise), and the request naming its charge,
    whose customer and contract follow as for `charge_id`."""
    assert params.fiscal_invoice_id is not None  # noqa: S101 (the caller checked)
    field = "fiscal_invoice_id"
    invoice = await _owned(session, FiscalInvoice, tenant_id, params.fiscal_invoice_id, field)
    if params.charge_id is not None and params.charge_id != invoice.charge_id:
        raise invalid(
            field, f"{invoice.id} is the invoice of another charge than {params.charge_id}"
        )
    return invoice, params.model_copy(update={"charge_id": invoice.charge_id})


async def _preview_objects(
    session: AsyncSession,
    tenant_id: str,
    kind: EmailKind,
    params: PreviewIn,
    now: datetime,
    today: date,
) -> tuple[Customer, Charge | None, Contract | None]:
    """The objects named in the request (the tenant's: 422 otherwise), sample data for the rest."""
    charge = contract = None
    if params.charge_id is not None:
        charge = await _owned(session, Charge, tenant_id, params.charge_id, "charge_id")
    if params.contract_id is not None:
        contract = await _owned(session, Contract, tenant_id, params.contract_id, "contract_id")
    elif charge is not None and charge.contract_id is not None:
        contract = await _owned(session, Contract, tenant_id, charge.contract_id, "charge_id")
    customer_id = params.customer_id
    for field, owned in (("charge_id", charge), ("contract_id", contract)):
        if owned is None:
            continue
        if customer_id is not None and owned.customer_id != customer_id:
            raise invalid(field, f"{owned.id} belongs to another customer than {customer_id}")
        customer_id = owned.customer_id
    sample_customer, sample_charge, sample_contract = sample_objects(kind, now, today)
    customer = sample_customer
    if customer_id is not None:
        field = "customer_id" if params.customer_id else "charge_id"
        customer = await _owned(session, Customer, tenant_id, customer_id, field)
    if kind == EmailKind.TRIAL_ENDING and contract is not None and charge is None:
        # A real trial: its own first charge, or none yet (never the sample's).
        first = await first_paid_charges(session, tenant_id, [contract])
        return customer, first.get(contract.id), contract
    return customer, charge or sample_charge, contract or sample_contract


async def _owned(
    session: AsyncSession, model: type[Model], tenant_id: str, object_id: str, field: str
) -> Model:
    found = await session.scalar(
        select(model).where(model.tenant_id == tenant_id, model.id == object_id)
    )
    if found is None:
        raise invalid(field, f"no {model.__tablename__[:-1]} with id {object_id!r}")
    return found


# --- settings ---------------------------------------------------------------------------------


async def tenant_locale(session: AsyncSession, tenant_id: str) -> Locale:
    locale = await session.scalar(
        select(EmailSettings.locale).where(EmailSettings.tenant_id == tenant_id)
    )
    return Locale(locale or Locale.PT_BR)


def _settings_out(
    locale: Locale,
    from_name: str | None,
    reply_to: str | None,
    disabled_kinds: list[str],
    updated_at: datetime | None,
    server: Settings,
) -> EmailSettingsOut:
    return EmailSettingsOut(
        locale=locale,
        from_name=from_name,
        reply_to=reply_to,
        disabled_kinds=[EmailKind(kind) for kind in disabled_kinds],
        from_address=server.smtp_from,
        smtp_configured=server.smtp_url is not None,
        updated_at=updated_at,
    )


async def get_email_settings(
    session: AsyncSession, tenant_id: str, server: Settings
) -> EmailSettingsOut:
    row = await session.get(EmailSettings, tenant_id)
    if row is None:
        return _settings_out(Locale.PT_BR, None, None, [], None, server)
    return _settings_out(
        Locale(row.locale), row.from_name, row.reply_to, row.disabled_kinds, row.updated_at, server
    )


async def replace_email_settings(
    session: AsyncSession, clock: Clock, tenant_id: str, params: EmailSettingsIn, server: Settings
) -> EmailSettingsOut:
    """Store the whole settings (an upsert, so concurrent first writes cannot collide)."""
    now = clock.now()
    disabled = [kind.value for kind in params.disabled_kinds]
    values = {
        "locale": params.locale.value,
        "from_name": params.from_name,
        "reply_to": params.reply_to,
        "disabled_kinds": disabled,
        "updated_at": now,
    }
    table = cast(Table, EmailSettings.__table__)
    await session.execute(
        insert_on_conflict(session, table)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(index_elements=[table.c.tenant_id], set_=values)
    )
    return _settings_out(params.locale, params.from_name, params.reply_to, disabled, now, server)


# --- the outbox -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailFilters:
    customer_id: str | None = None
    kind: EmailKind | None = None
    status: EmailStatus | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def list_emails(
    session: AsyncSession, tenant_id: str, filters: EmailFilters, page: PageParams
) -> tuple[Sequence[Email], bool]:
    statement = (
        select(Email)
        .options(defer(Email.text_body), defer(Email.html_body))
        .where(Email.tenant_id == tenant_id)
    )
    if filters.customer_id is not None:
        statement = statement.where(Email.customer_id == filters.customer_id)
    if filters.kind is not None:
        statement = statement.where(Email.kind == filters.kind)
    if filters.status is not None:
        statement = statement.where(Email.status == filters.status)
    statement = in_range(statement, Email.created_at, filters.created_gte, filters.created_lt)
    emails, more = await fetch_page(session, statement, Email.id, page)
    await render_unrendered(session, emails)
    return emails, more


async def get_email(session: AsyncSession, tenant_id: str, email_id: str) -> Email:
    email = await session.scalar(
        select(Email).where(Email.tenant_id == tenant_id, Email.id == email_id)
    )
    if email is None:
        raise not_found("email", email_id)
    await render_unrendered(session, [email])
    return email
