"""Configurações → E-mails: every kind's template, and one edited with a live preview;
through the notifications service, as `/v1/email-templates` and its preview.

The preview is posted by htmx as the person types (`input changed delay:500ms`) and answers a
page part: the rendered subject, the HTML body inside a sandboxed `<iframe srcdoc>` (its HTML
can neither run nor style the console) and the text; each part that does not render is shown
beside its field (out-of-band swaps). Without JavaScript the "Pré-visualizar" button posts the
same form and gets the whole page back.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.forms import Form, input_of, read_form, refusal
from assina.console.web import EMAIL_PREVIEW_POLICY, render_page
from assina.core.errors import Problem, not_found
from assina.notifications import service
from assina.notifications.models import EmailKind
from assina.notifications.schemas import PreviewIn, PreviewOut, TemplateIn, TemplateOut

router = APIRouter(prefix="/console/settings/emails")

_PARTS = ("subject", "html", "text")


@router.get("")
async def template_list(caller: ConsoleCallerDep) -> Response:
    async with caller.runtime.database.read() as session:
        templates = await service.list_templates(session, caller.tenant_id)
    return render_page("settings/emails.html", caller.frame, templates=templates)


@router.get("/{kind}")
async def template_page(kind: str, caller: ConsoleCallerDep, saved: str = "") -> Response:
    email_kind = _kind(kind)
    async with caller.runtime.database.read() as session:
        template = await service.get_template(session, caller.tenant_id, email_kind)
        preview = await service.preview(
            session, caller.clock, caller.tenant_id, email_kind, PreviewIn()
        )
    values = {part: getattr(template, part) for part in _PARTS}
    return _editor(caller, template, values, preview, None, saved=bool(saved))


@router.post("/{kind}/preview")
async def preview_template(kind: str, request: Request, caller: ChangerDep) -> Response:
    """The form rendered with sample data, unsaved: a page part for htmx, else the page."""
    email_kind = _kind(kind)
    form = await read_form(request)
    values = _values(form)
    preview: PreviewOut | None = None
    problem: Problem | None = None
    try:
        params = input_of(PreviewIn, {"template": values})
        async with caller.runtime.database.read() as session:
            preview = await service.preview(
                session, caller.clock, caller.tenant_id, email_kind, params
            )
    except Problem as error:
        problem = error
    if request.headers.get("HX-Request") == "true":
        return render_page(
            "settings/email_preview.html",
            caller.frame,
            **refusal(problem),
            preview=preview,
            errors=_part_errors(problem),
            oob=True,
        )
    async with caller.runtime.database.read() as session:
        template = await service.get_template(session, caller.tenant_id, email_kind)
    return _editor(caller, template, values, preview, problem)


@router.post("/{kind}")
async def save_template(kind: str, request: Request, caller: ChangerDep) -> Response:
    email_kind = _kind(kind)
    form = await read_form(request)
    values = _values(form)
    try:
        params = input_of(TemplateIn, values)
        async with caller.runtime.database.write() as session:
            await service.replace_template(
                session, caller.clock, caller.tenant_id, email_kind, params
            )
    except Problem as problem:
        async with caller.runtime.database.read() as session:
            template = await service.get_template(session, caller.tenant_id, email_kind)
        return _editor(caller, template, values, None, problem)
    return RedirectResponse(f"/console/settings/emails/{email_kind}?saved=1", status_code=303)


@router.post("/{kind}/restore")
async def restore_default(kind: str, caller: ChangerDep) -> Response:
    email_kind = _kind(kind)
    async with caller.runtime.database.write() as session:
        await service.restore_default(session, caller.tenant_id, email_kind)
    return RedirectResponse(f"/console/settings/emails/{email_kind}?saved=1", status_code=303)


def _kind(kind: str) -> EmailKind:
    if kind not in set(EmailKind):
        raise not_found("email template", kind)
    return EmailKind(kind)


def _values(form: Form) -> dict[str, str]:
    # Browsers send a text area's line breaks as CRLF; the stored template keeps LF.
    return {part: form.get(part).replace("\r\n", "\n") for part in _PARTS}


def _part_errors(problem: Problem | None) -> dict[str, str]:
    """The preview names the parts `template.subject`…; the form's fields are `subject`…"""
    if problem is None:
        return {}
    found: dict[str, str] = {}
    for error in problem.errors:
        found.setdefault(error.field.removeprefix("template.").split(".")[0], error.message)
    return found


def _editor(
    caller: ConsoleCaller,
    template: TemplateOut,
    values: dict[str, Any],
    preview: PreviewOut | None,
    problem: Problem | None,
    *,
    saved: bool = False,
) -> Response:
    return render_page(
        "settings/email_edit.html",
        caller.frame,
        **refusal(problem),
        email_template=template,
        values=values,
        preview=preview,
        errors=_part_errors(problem),
        saved=saved,
        oob=False,
        headers={"Content-Security-Policy": EMAIL_PREVIEW_POLICY},
    )
