"""Configurações → Chaves de API (admins only): the tenant's keys (hint, created, last used),
issue one (shown once, on the answer to the form), revoke one; through the same services as
`/v1/api-keys`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.console.actions import new_idempotency_key, newest_first, run_once
from assina.console.auth import AdministratorDep, ConsoleCaller
from assina.console.forms import read_form, refusal
from assina.console.web import render_page
from assina.core.errors import Problem
from assina.tenants import keys
from assina.tenants.schemas import ApiKeyIssued, ApiKeyOut
from assina.tenants.service import add_api_key

router = APIRouter(prefix="/console/settings/api-keys")


@router.get("")
async def key_list(caller: AdministratorDep, after: str | None = None) -> Response:
    return await _key_page(caller, after=after)


@router.post("")
async def issue_key(request: Request, caller: AdministratorDep) -> Response:
    """The new key is on this answer's page and nowhere else (a resent form gets the same
    answer, as the API's `Idempotency-Key` does)."""
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        row, api_key = await add_api_key(
            session, caller.runtime.clock, caller.tenant_id, sandbox=caller.tenant.sandbox
        )
        out = ApiKeyOut.model_validate(row).model_dump()
        return ApiKeyIssued(**out, key=api_key).model_dump(mode="json")

    issued = ApiKeyIssued.model_validate(await run_once(request, caller, form, use_case))
    return await _key_page(caller, issued=issued)


@router.post("/{key_id}/revoke")
async def revoke_key(key_id: str, caller: AdministratorDep) -> Response:
    runtime = caller.runtime
    try:
        async with runtime.database.write() as session:
            await keys.revoke_api_key(session, runtime.clock, caller.tenant_id, key_id)
    except Problem as problem:
        if problem.status == 404:
            raise
        return await _key_page(caller, problem=problem)  # the last key: 409
    runtime.authenticator.forget_key(key_id)
    return RedirectResponse("/console/settings/api-keys", status_code=303)


async def _key_page(
    caller: ConsoleCaller,
    *,
    after: str | None = None,
    issued: ApiKeyIssued | None = None,
    problem: Problem | None = None,
) -> Response:
    async with caller.runtime.database.read() as session:
        rows, has_more = await keys.list_api_keys(session, caller.tenant_id, newest_first(after))
        listed = [ApiKeyOut.model_validate(row) for row in rows]
    return render_page(
        "settings/api_keys.html",
        caller.frame,
        **refusal(problem),
        keys=listed,
        has_more=has_more,
        after=after,
        issued=issued,
        idempotency_key=new_idempotency_key(),
    )
