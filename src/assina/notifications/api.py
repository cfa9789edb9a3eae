"""HTTP for e-mail: templates and their previews, the tenant's e-mail settings, the outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.inputs import UtcDatetime, refuse_empty_json
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery, ReferenceFilter
from assina.events.service import snapshot
from assina.notifications import service
from assina.notifications.models import EmailKind, EmailStatus
from assina.notifications.schemas import (
    EmailDetail,
    EmailOut,
    EmailSettingsIn,
    EmailSettingsOut,
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
)
from assina.tenants.deps import CallerDep, IdempotentCallerDep, RuntimeDep

router = APIRouter(tags=["emails"])


@router.get(
    "/v1/email-templates",
    response_model=Page[TemplateOut],
    responses=problem_responses(401),
    summary="Every kind's template, saying which are customized",
)
async def list_templates(caller: CallerDep) -> Page[TemplateOut]:
    """The e-mail template of every kind, the tenant's own or the default of its locale,
    saying which are customized."""
    async with caller.database.read() as session:
        templates = await service.list_templates(session, caller.tenant_id)
        return Page[TemplateOut](data=templates, has_more=False)


@router.get(
    "/v1/email-templates/{kind}",
    response_model=TemplateOut,
    responses=problem_responses(401, 422),
    summary="A template: the tenant's own, or the default of its locale",
)
async def get_template(kind: EmailKind, caller: CallerDep) -> TemplateOut:
    """The template of one kind (`charge_created`, `reminder`, `overdue`, `suspension`,
    `cancellation`, `receipt`, `trial_ending`): the tenant's own, or the default of its locale,
    with the variables it may use."""
    async with caller.database.read() as session:
        return await service.get_template(session, caller.tenant_id, kind)


@router.put(
    "/v1/email-templates/{kind}",
    response_model=TemplateOut,
    responses=problem_responses(400, 401, 413, 422),
    summary="Save the tenant's template for a kind (422 names each part that does not render)",
)
async def replace_template(kind: EmailKind, body: TemplateIn, caller: CallerDep) -> TemplateOut:
    """Saves the tenant's template for a kind: `subject`, `html` and `text` in sandboxed
    Jinja2. No event.

    Errors: 422 naming each part that does not render."""
    async with caller.database.write() as session:
        return await service.replace_template(session, caller.clock, caller.tenant_id, kind, body)


@router.delete(
    "/v1/email-templates/{kind}",
    response_model=TemplateOut,
    responses=problem_responses(401, 422),
    summary="Restore the default template for a kind",
)
async def restore_default(kind: EmailKind, caller: CallerDep) -> TemplateOut:
    """Drops the tenant's template for a kind: the default of its locale applies again."""
    async with caller.database.write() as session:
        return await service.restore_default(session, caller.tenant_id, kind)


@router.post(
    "/v1/email-templates/{kind}/preview",
    response_model=PreviewOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Render a template with sample data or the tenant's own objects",
    dependencies=[Depends(refuse_empty_json)],
)
async def preview_template(
    kind: EmailKind,
    request: Request,
    caller: IdempotentCallerDep,
    body: Annotated[PreviewIn, Body(default_factory=PreviewIn)],
) -> JSONResponse:
    """Renders a template without sending it: the saved one (or an unsaved `template`), with
    sample data or the tenant's own `charge_id`, `contract_id`, `customer_id`. No body: the
    saved template with sample data. Nothing is stored.

    Errors: 422 for an object id that is not the tenant's, or a template that does not render."""
    params = body

    async def use_case(session: AsyncSession) -> dict[str, object]:
        rendered = await service.preview(session, caller.clock, caller.tenant_id, kind, params)
        return snapshot(rendered)

    return await caller.respond_once(request, 200, use_case)


@router.get(
    "/v1/email-settings",
    response_model=EmailSettingsOut,
    responses=problem_responses(401),
    summary="This tenant's e-mail settings (the defaults until changed)",
)
async def get_email_settings(caller: CallerDep, runtime: RuntimeDep) -> EmailSettingsOut:
    """The tenant's e-mail settings: `locale`, `from_name`, `reply_to`, `disabled_kinds`;
    the defaults until replaced."""
    async with caller.database.read() as session:
        return await service.get_email_settings(session, caller.tenant_id, runtime.settings)


@router.put(
    "/v1/email-settings",
    response_model=EmailSettingsOut,
    responses=problem_responses(400, 401, 413, 422),
    summary="Replace the e-mail settings; a field left out takes its default",
)
async def replace_email_settings(
    body: EmailSettingsIn, caller: CallerDep, runtime: RuntimeDep
) -> EmailSettingsOut:
    """Replaces the e-mail settings whole: a field left out takes its default. No event.

    Errors: 422."""
    async with caller.database.write() as session:
        return await service.replace_email_settings(
            session, caller.clock, caller.tenant_id, body, runtime.settings
        )


@router.get(
    "/v1/emails",
    response_model=Page[EmailOut],
    responses=problem_responses(401, 422),
    summary="List e-mails (the outbox): what was sent, is waiting, or failed",
)
async def list_emails(
    caller: CallerDep,
    page: PageQuery,
    customer_id: ReferenceFilter = None,
    kind: EmailKind | None = None,
    status: EmailStatus | None = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[EmailOut]:
    """The outbox, oldest first: every e-mail queued, with its status (`pending`, `sent`,
    `failed`, `not_configured`, `no_recipient`), filtered by customer, kind, status and creation
    time."""
    filters = service.EmailFilters(
        customer_id=customer_id,
        kind=kind,
        status=status,
        created_gte=created_gte,
        created_lt=created_lt,
    )
    async with caller.database.read() as session:
        emails, has_more = await service.list_emails(session, caller.tenant_id, filters, page)
        return Page[EmailOut](data=[EmailOut.of(e) for e in emails], has_more=has_more)


@router.get(
    "/v1/emails/{email_id}",
    response_model=EmailDetail,
    responses=problem_responses(401, 404),
    summary="Get an e-mail, with its text and HTML bodies",
)
async def get_email(email_id: str, caller: CallerDep) -> EmailDetail:
    """One e-mail of the outbox, with its rendered text and HTML bodies."""
    async with caller.database.read() as session:
        return EmailDetail.of(await service.get_email(session, caller.tenant_id, email_id))
