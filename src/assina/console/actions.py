"""A console action runs as the API's would: one write transaction, the same service, and the
same `Idempotency-Key` rules, its key a hidden field of the form (made when the form is drawn),
so that a double click or a resent form creates one object."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from assina.console.auth import ConsoleCaller
from assina.console.forms import Form
from assina.core.errors import Problem
from assina.core.idempotency import MAX_KEY_LENGTH, UseCase, respond_once
from assina.core.paging import DEFAULT_LIMIT, PageParams

IDEMPOTENCY_FIELD = "idempotency_key"


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def _form_key(form: Form) -> str | None:
    key = form.get(IDEMPOTENCY_FIELD)
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        return None  # a form drawn without one (or tampered with) still works, unguarded
    return key


async def run_once(
    request: Request, caller: ConsoleCaller, form: Form, use_case: UseCase
) -> dict[str, Any]:
    """Run `use_case` in one write transaction, once per the form's key: a resent form gets
    the first answer. Problems propagate as the API's do (the page shows them)."""
    runtime = caller.runtime
    answer = await respond_once(
        request,
        runtime.database,
        caller.clock,
        runtime.secret_box,
        caller.tenant_id,
        _form_key(form),
        200,
        use_case,
    )
    body: dict[str, Any] = json.loads(bytes(answer.body))
    return body


# Draws the page an action came from again, with the action's refusal.
Refused = Callable[[Problem], Awaitable[Response]]


async def act(
    request: Request,
    caller: ConsoleCaller,
    form: Form,
    use_case: UseCase,
    *,
    done: str | Callable[[dict[str, Any]], str],
    refused: Refused,
) -> Response:
    """A page's action: `use_case` run once (`run_once`), then to `done` (a path, or one made
    from the answer). A refusal (409, 422, 429) is shown by `refused` on the page the action
    came from; a 404 (not the tenant's object) stays the 404 page."""
    try:
        answer = await run_once(request, caller, form, use_case)
    except Problem as problem:
        if problem.status == 404:
            raise
        return await refused(problem)
    return RedirectResponse(done if isinstance(done, str) else done(answer), status_code=303)


def newest_first(after: str | None, limit: int = DEFAULT_LIMIT) -> PageParams:
    """A console list's page: newest first, `after` the last id of the page before."""
    cursor = after if after and len(after) <= 64 else None
    return PageParams(limit=limit, starting_after=cursor, newest_first=True)
