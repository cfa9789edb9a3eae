"""A webhook endpoint's page: its settings and health, its signing secret (reveal, rotate),
test ping, enable/disable, delete, and its message log (each message's attempts, retry one,
recover since a day); through the webhooks service and its repairs, as the API, with the
API's limits on manual deliveries. Admins only."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.console.actions import new_idempotency_key, newest_first, run_once
from assina.console.auth import AdministratorDep, ConsoleCaller
from assina.console.forms import field_errors, input_of, read_form, refusal
from assina.console.web import render_page
from assina.console.webhooks import event_labels
from assina.core.clock import local_instant
from assina.core.errors import Problem
from assina.events.schemas import EventOut
from assina.events.service import snapshot
from assina.webhooks import repair, service
from assina.webhooks.schemas import (
    AttemptOut,
    EndpointOut,
    EndpointSecret,
    EndpointUpdate,
    MessageOut,
    RecoverOut,
    RecoverRequest,
)

router = APIRouter(prefix="/console/webhooks")

MESSAGES_SHOWN = 20  # a page of the message log
# What a redirect after an action tells the page to say (`?done=…`): nothing else is shown.
_NOTICES = {
    "created": "webhooks.done.created",
    "saved": "webhooks.done.saved",
    "pinged": "webhooks.done.pinged",
    "enabled": "webhooks.done.enabled",
    "disabled": "webhooks.done.disabled",
    "retried": "webhooks.done.retried",
    "recovered": "webhooks.done.recovered",
}


@router.get("/{endpoint_id}")
async def endpoint_page(
    endpoint_id: str,
    caller: AdministratorDep,
    after: str | None = None,
    done: str = "",
    count: int = 0,
) -> Response:
    # Just created: the signing secret is shown at once, as the API's creation answer does.
    secret = await _secret(caller, endpoint_id) if done == "created" else None
    return await _endpoint_page(
        caller, endpoint_id, after=after, notice=_NOTICES.get(done), count=count, secret=secret
    )


async def _endpoint_page(
    caller: ConsoleCaller,
    endpoint_id: str,
    *,
    after: str | None = None,
    notice: str | None = None,
    count: int = 0,
    secret: EndpointSecret | None = None,
    problem: Problem | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    box = caller.runtime.secret_box
    async with caller.runtime.database.read() as session:
        endpoint = await service.get_endpoint(session, caller.tenant_id, endpoint_id)
        messages, has_more = await service.list_messages(
            session,
            caller.tenant_id,
            endpoint_id,
            service.MessageFilters(),
            newest_first(after, MESSAGES_SHOWN),
        )
        tries = await repair.attempts_of_messages(
            session, caller.tenant_id, [message.id for message in messages]
        )
        shown = EndpointOut.of(endpoint, box)
        failing_since = endpoint.failing_since
        log = [
            (MessageOut.of(message), [AttemptOut.of(a) for a in tries[message.id]])
            for message in messages
        ]
    return render_page(
        "webhooks/show.html",
        caller.frame,
        **refusal(problem),
        endpoint=shown,
        failing_since=failing_since,
        labels=event_labels(),
        log=log,
        has_more=has_more,
        after=after,
        notice=notice,
        count=count,
        secret=secret,
        errors=field_errors(problem),
        values=values or {"since": caller.today().isoformat()},
        idempotency_key=new_idempotency_key(),
    )


async def _secret(caller: ConsoleCaller, endpoint_id: str) -> EndpointSecret:
    """As GET /v1/webhook-endpoints/{id}/secret."""
    async with caller.runtime.database.read() as session:
        endpoint = await service.get_endpoint(session, caller.tenant_id, endpoint_id)
        return EndpointSecret(
            secret=caller.runtime.secret_box.open(endpoint.secret_sealed),
            previous_secret_expires_at=service.previous_secret_expiry(
                endpoint, caller.clock.real_now()
            ),
        )


def _back(endpoint_id: str, done: str, **more: object) -> RedirectResponse:
    extra = "".join(f"&{name}={value}" for name, value in more.items())
    return RedirectResponse(f"/console/webhooks/{endpoint_id}?done={done}{extra}", status_code=303)


async def _refused(caller: ConsoleCaller, endpoint_id: str, problem: Problem) -> Response:
    """A refusal (409, 422, 429) shown on the endpoint's page; a 404 stays a 404."""
    if problem.status == 404:
        raise problem
    return await _endpoint_page(caller, endpoint_id, problem=problem)


@router.post("/{endpoint_id}/secret")
async def reveal_secret(endpoint_id: str, request: Request, caller: AdministratorDep) -> Response:
    """Shows the signing secret: in place with htmx, else on the endpoint's page."""
    secret = await _secret(caller, endpoint_id)
    if request.headers.get("HX-Request"):
        return render_page("webhooks/secret.html", caller.frame, secret=secret)
    return await _endpoint_page(caller, endpoint_id, secret=secret)


@router.post("/{endpoint_id}/rotate-secret")
async def rotate_secret(endpoint_id: str, request: Request, caller: AdministratorDep) -> Response:
    """As POST …/rotate-secret: a new secret, the old one signing 24 hours more; the page
    shows the new one."""
    form = await read_form(request)
    box = caller.runtime.secret_box

    async def use_case(session: AsyncSession) -> dict[str, object]:
        endpoint, secret = await service.rotate_secret(
            session, caller.clock, box, caller.tenant_id, endpoint_id
        )
        expiry = service.previous_secret_expiry(endpoint, caller.clock.real_now())
        return snapshot(EndpointSecret(secret=secret, previous_secret_expires_at=expiry))

    try:
        rotated = EndpointSecret.model_validate(await run_once(request, caller, form, use_case))
    except Problem as problem:
        return await _refused(caller, endpoint_id, problem)
    return await _endpoint_page(caller, endpoint_id, notice="webhooks.done.rotated", secret=rotated)


@router.post("/{endpoint_id}/ping")
async def ping_endpoint(endpoint_id: str, request: Request, caller: AdministratorDep) -> Response:
    """As POST …/ping: a `webhook.ping` event for this endpoint alone (409 when disabled)."""
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        event = await service.ping_endpoint(session, caller.clock, caller.tenant_id, endpoint_id)
        return snapshot(EventOut.of(event))

    try:
        await run_once(request, caller, form, use_case)
    except Problem as problem:
        return await _refused(caller, endpoint_id, problem)
    return _back(endpoint_id, "pinged")


@router.post("/{endpoint_id}/enable")
async def enable_endpoint(endpoint_id: str, request: Request, caller: AdministratorDep) -> Response:
    return await _switch(request, caller, endpoint_id, enabled=True)


@router.post("/{endpoint_id}/disable")
async def disable_endpoint(
    endpoint_id: str, request: Request, caller: AdministratorDep
) -> Response:
    return await _switch(request, caller, endpoint_id, enabled=False)


async def _switch(
    request: Request, caller: ConsoleCaller, endpoint_id: str, *, enabled: bool
) -> Response:
    """As PATCH with `enabled`: re-enabling also clears the automatic reason and the streak."""
    runtime = caller.runtime
    async with runtime.database.write() as session:
        await service.update_endpoint(
            session,
            caller.clock,
            runtime.secret_box,
            caller.tenant_id,
            endpoint_id,
            EndpointUpdate(enabled=enabled),
            runtime.settings.allow_private_targets,
        )
    return _back(endpoint_id, "enabled" if enabled else "disabled")


@router.post("/{endpoint_id}/delete")
async def delete_endpoint(endpoint_id: str, caller: AdministratorDep) -> Response:
    """As DELETE: nothing more is delivered to it; its messages stay readable by the API."""
    async with caller.runtime.database.write() as session:
        await service.delete_endpoint(session, caller.clock, caller.tenant_id, endpoint_id)
    return RedirectResponse("/console/webhooks?done=deleted", status_code=303)


@router.post("/{endpoint_id}/messages/{message_id}/retry")
async def retry_message(
    endpoint_id: str, message_id: str, request: Request, caller: AdministratorDep
) -> Response:
    """As POST /v1/messages/{id}/retry, counted against the endpoint's manual retries."""
    form = await read_form(request)
    runtime = caller.runtime

    async def admit(endpoint: str) -> None:
        await runtime.admit_manual_delivery(request, runtime.limits.message_retries, endpoint)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        message = await repair.get_message(session, caller.tenant_id, message_id)
        if message.endpoint_id != endpoint_id:  # another endpoint's message: not on this page
            raise Problem(404, "not-found", "No such message for this endpoint.")
        retried = await repair.retry_message(
            session, caller.clock, caller.tenant_id, message_id, admit
        )
        return snapshot(MessageOut.of(retried))

    try:
        await run_once(request, caller, form, use_case)
    except Problem as problem:
        return await _refused(caller, endpoint_id, problem)
    return _back(endpoint_id, "retried")


@router.post("/{endpoint_id}/recover")
async def recover_endpoint(
    endpoint_id: str, request: Request, caller: AdministratorDep
) -> Response:
    """As POST …/recover, from the start of the day chosen (in the tenant's time zone),
    counted against the endpoint's recovers per hour."""
    form = await read_form(request)
    runtime = caller.runtime
    typed = form.get("since").strip()

    async def admit(endpoint: str) -> None:
        await runtime.admit_manual_delivery(request, runtime.limits.endpoint_recovers, endpoint)

    try:
        body = input_of(RecoverRequest, _recover_values(typed, caller))

        async def use_case(session: AsyncSession) -> dict[str, object]:
            count = await repair.recover_endpoint(
                session, caller.clock, caller.tenant_id, endpoint_id, body.since, admit
            )
            return snapshot(RecoverOut(recovered=count))

        recovered = await run_once(request, caller, form, use_case)
    except Problem as problem:
        if problem.status == 404:
            raise
        return await _endpoint_page(caller, endpoint_id, problem=problem, values={"since": typed})
    return _back(endpoint_id, "recovered", count=recovered["recovered"])


def _recover_values(typed: str, caller: ConsoleCaller) -> dict[str, Any]:
    """`since`: the day's first instant where the tenant is. Anything else goes to the API's
    model as typed, for its own message (an empty field is a missing one)."""
    if not typed:
        return {}
    try:
        day = date.fromisoformat(typed)
    except ValueError:
        return {"since": typed}
    return {"since": local_instant(day, caller.tenant.time_zone).isoformat()}
