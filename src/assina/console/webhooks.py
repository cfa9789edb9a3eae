"""Webhooks (the seed's app): the endpoints with their health, **Novo** and edit, and the
tenant's validation token; through the webhooks service, as the API. Admins only, pages
included. An endpoint's own page and its actions are in webhook_endpoint.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.console.actions import new_idempotency_key, newest_first, run_once
from assina.console.auth import AdministratorDep, ConsoleCaller
from assina.console.forms import Form, field_errors, input_of, read_form, refusal
from assina.console.web import render_page
from assina.core.errors import Problem
from assina.events.catalog import CATALOG, EventKind
from assina.events.service import snapshot
from assina.webhooks import repair, service
from assina.webhooks.models import EndpointFormat
from assina.webhooks.repair import RecentDelivery
from assina.webhooks.schemas import (
    ALL_EVENTS,
    EndpointCreate,
    EndpointOut,
    EndpointUpdate,
)

router = APIRouter(prefix="/console/webhooks")

RECENT_DELIVERIES = 5  # the last attempts shown beside each endpoint
HEADER_ROWS = 3  # empty name/value rows offered for custom headers (no script adds more)
_NOTICES = {"deleted": "webhooks.done.deleted"}


@dataclass(frozen=True)
class EndpointHealth:
    """An endpoint as the list shows it: its settings, since when every attempt has failed,
    and how its last few attempts went."""

    endpoint: EndpointOut
    failing_since: datetime | None
    recent: list[RecentDelivery]


@dataclass(frozen=True)
class EventGroup:
    """The catalog's event types about one object (`charge.*`), for one block of checkboxes."""

    subject: str
    kinds: list[EventKind] = field(default_factory=list)


def event_groups() -> list[EventGroup]:
    def subject(kind: EventKind) -> str:
        return kind.name.value.split(".")[0]

    ordered = sorted(CATALOG, key=subject)  # stable: the catalog's order within a group
    return [EventGroup(name, list(kinds)) for name, kinds in groupby(ordered, key=subject)]


def event_labels() -> dict[str, str]:
    return {kind.name.value: kind.label for kind in CATALOG}


@router.get("")
async def endpoint_list(
    caller: AdministratorDep, after: str | None = None, done: str = ""
) -> Response:
    return await _endpoint_list(caller, after, notice=_NOTICES.get(done))


async def _endpoint_list(
    caller: ConsoleCaller,
    after: str | None,
    *,
    notice: str | None = None,
    token: str | None = None,
    problem: Problem | None = None,
) -> Response:
    async with caller.runtime.database.read() as session:
        endpoints, has_more = await service.list_endpoints(
            session, caller.tenant_id, newest_first(after)
        )
        recent = await repair.recent_deliveries(
            session, caller.tenant_id, [e.id for e in endpoints], RECENT_DELIVERIES
        )
        rows = [
            EndpointHealth(
                EndpointOut.of(endpoint, caller.runtime.secret_box),
                endpoint.failing_since,
                recent[endpoint.id],
            )
            for endpoint in endpoints
        ]
    return render_page(
        "webhooks/list.html",
        caller.frame,
        **refusal(problem),
        rows=rows,
        has_more=has_more,
        after=after,
        notice=notice,
        token=token,
        idempotency_key=new_idempotency_key(),
    )


@router.post("/validation-token")
async def reveal_validation_token(request: Request, caller: AdministratorDep) -> Response:
    """Shows the token sent in every delivery: in place with htmx, else on the list."""
    async with caller.runtime.database.read() as session:
        settings = await service.webhook_settings(
            session, caller.runtime.secret_box, caller.tenant_id
        )
    if request.headers.get("HX-Request"):
        return render_page("webhooks/token.html", caller.frame, token=settings.validation_token)
    return await _endpoint_list(caller, None, token=settings.validation_token)


@router.post("/validation-token/rotate")
async def rotate_validation_token(request: Request, caller: AdministratorDep) -> Response:
    """A new token, as POST /v1/webhook-settings/rotate-token: the old one stops at once."""
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        settings = await service.rotate_validation_token(
            session, caller.clock, caller.runtime.secret_box, caller.tenant_id
        )
        return snapshot(settings)

    try:
        rotated = await run_once(request, caller, form, use_case)
    except Problem as problem:
        return await _endpoint_list(caller, None, problem=problem)
    token = str(rotated["validation_token"])
    return await _endpoint_list(caller, None, notice="webhooks.done.token_rotated", token=token)


@router.get("/new")
async def new_endpoint(caller: AdministratorDep) -> Response:
    shown = {"event_types": [ALL_EVENTS], "format": EndpointFormat.STANDARD.value}
    return _endpoint_form(caller, None, shown, None)


@router.post("")
async def create_endpoint(request: Request, caller: AdministratorDep) -> Response:
    """As POST /v1/webhook-endpoints: the same checks (a private URL is refused unless the
    server allows it), then the endpoint's page with its signing secret."""
    form = await read_form(request)
    values = endpoint_values(form, creating=True)
    runtime = caller.runtime
    try:
        body = input_of(EndpointCreate, values)

        async def use_case(session: AsyncSession) -> dict[str, object]:
            return await service.register_endpoint(
                session,
                caller.clock,
                runtime.secret_box,
                caller.tenant_id,
                body,
                runtime.settings.allow_private_targets,
                runtime.limits.max_webhook_endpoints,
            )

        created = await run_once(request, caller, form, use_case)
    except Problem as problem:
        return _endpoint_form(caller, None, shown_values(form), problem)
    return RedirectResponse(f"/console/webhooks/{created['id']}?done=created", status_code=303)


@router.get("/{endpoint_id}/edit")
async def edit_endpoint(endpoint_id: str, caller: AdministratorDep) -> Response:
    endpoint = await _endpoint_out(caller, endpoint_id)
    shown: dict[str, Any] = {
        "url": endpoint.url,
        "description": endpoint.description or "",
        "event_types": endpoint.event_types,
        "format": endpoint.format.value,
        "headers": _header_rows(list(endpoint.headers.items())),
    }
    return _endpoint_form(caller, endpoint, shown, None)


@router.post("/{endpoint_id}")
async def update_endpoint(endpoint_id: str, request: Request, caller: AdministratorDep) -> Response:
    """As PATCH /v1/webhook-endpoints/{id}, with every field of the form sent."""
    form = await read_form(request)
    endpoint = await _endpoint_out(caller, endpoint_id)
    runtime = caller.runtime
    try:
        changes = input_of(EndpointUpdate, endpoint_values(form, creating=False))
        async with runtime.database.write() as session:
            await service.update_endpoint(
                session,
                caller.clock,
                runtime.secret_box,
                caller.tenant_id,
                endpoint_id,
                changes,
                runtime.settings.allow_private_targets,
            )
    except Problem as problem:
        if problem.status == 404:
            raise
        return _endpoint_form(caller, endpoint, shown_values(form), problem)
    return RedirectResponse(f"/console/webhooks/{endpoint_id}?done=saved", status_code=303)


async def _endpoint_out(caller: ConsoleCaller, endpoint_id: str) -> EndpointOut:
    async with caller.runtime.database.read() as session:
        endpoint = await service.get_endpoint(session, caller.tenant_id, endpoint_id)
        return EndpointOut.of(endpoint, caller.runtime.secret_box)


def _header_pairs(form: Form) -> list[tuple[str, str]]:
    names, values = form.values("header_name"), form.values("header_value")
    values += [""] * (len(names) - len(values))
    return [(name.strip(), value) for name, value in zip(names, values, strict=False)]


def _header_rows(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The rows the form draws: the headers kept, then empty rows to add more."""
    kept = [(name, value) for name, value in pairs if name or value]
    return kept + [("", "")] * HEADER_ROWS


def endpoint_values(form: Form, *, creating: bool) -> dict[str, Any]:
    """The form as the API's body. Every checked event type and every header row with a
    name is sent (a value without a name is sent under an empty name, for the API to refuse);
    an empty description is left unsent on create and cleared on edit."""
    headers = {name: value for name, value in _header_pairs(form) if name or value}
    values: dict[str, Any] = {
        "url": form.get("url").strip(),
        "event_types": form.values("event_types"),
        "format": form.get("format") or EndpointFormat.STANDARD.value,
        "headers": headers,
    }
    description = form.optional("description")
    if description is not None or not creating:
        values["description"] = description
    return values


def shown_values(form: Form) -> dict[str, Any]:
    """What the person typed, drawn again beside the errors."""
    return {
        "url": form.get("url"),
        "description": form.get("description"),
        "event_types": form.values("event_types"),
        "format": form.get("format"),
        "headers": _header_rows(_header_pairs(form)),
    }


def _endpoint_form(
    caller: ConsoleCaller,
    endpoint: EndpointOut | None,
    shown: dict[str, Any],
    problem: Problem | None,
) -> Response:
    shown.setdefault("headers", _header_rows([]))
    return render_page(
        "webhooks/form.html",
        caller.frame,
        **refusal(problem),
        endpoint=endpoint,
        values=shown,
        groups=event_groups(),
        all_events=ALL_EVENTS,
        formats=[kind.value for kind in EndpointFormat],
        errors=_by_form_field(field_errors(problem)),
        idempotency_key=new_idempotency_key(),
    )


def _by_form_field(errors: dict[str, str]) -> dict[str, str]:
    """A message about a part of a field (`headers.X-Erp`, `event_types.0`) is shown beside
    the field itself."""
    shown: dict[str, str] = {}
    for name, message in errors.items():
        shown.setdefault(name.split(".")[0], message)
    return shown
