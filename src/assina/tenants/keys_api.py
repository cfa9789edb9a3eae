"""HTTP for the calling tenant's API keys."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery
from assina.tenants import keys
from assina.tenants.deps import CallerDep, IdempotentCallerDep, RuntimeDep
from assina.tenants.schemas import ApiKeyIssued, ApiKeyOut
from assina.tenants.service import add_api_key

router = APIRouter(prefix="/v1/api-keys", tags=["tenant"])


@router.get(
    "",
    response_model=Page[ApiKeyOut],
    responses=problem_responses(401, 422),
    summary="List this tenant's API keys",
)
async def list_api_keys(caller: CallerDep, page: PageQuery) -> Page[ApiKeyOut]:
    """The tenant's API keys, revoked ones too, oldest first, a page at a time. A key is
    never shown again after it is issued: each has a `hint` (its first characters)."""
    async with caller.database.read() as session:
        rows, has_more = await keys.list_api_keys(session, caller.tenant_id, page)
        return Page[ApiKeyOut](
            data=[ApiKeyOut.model_validate(row) for row in rows], has_more=has_more
        )


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyIssued,
    responses=problem_responses(400, 401, 409, 413),
    summary="Issue another API key",
)
async def issue_api_key(
    request: Request, caller: IdempotentCallerDep, runtime: RuntimeDep
) -> JSONResponse:
    """Issues a new API key for this tenant (`sk_live_…`, or `sk_test_…` for a sandbox
    tenant). The answer is the only time the key is shown. The other keys keep working:
    revoke the old one once the new one is in place. No event."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        row, api_key = await add_api_key(
            session, runtime.clock, caller.tenant_id, sandbox=caller.tenant.sandbox
        )
        out = ApiKeyOut.model_validate(row).model_dump()
        return ApiKeyIssued(**out, key=api_key).model_dump(mode="json")

    return await caller.respond_once(request, 201, use_case)


@router.delete(
    "/{key_id}",
    response_model=ApiKeyOut,
    responses=problem_responses(401, 404, 409),
    summary="Revoke an API key",
)
async def revoke_api_key(key_id: str, caller: CallerDep, runtime: RuntimeDep) -> ApiKeyOut:
    """Revokes the key: every request with it answers 401 within a second, in every
    process. The key the request is made with may be revoked too. Revoking a revoked key
    answers it unchanged. No event.

    Errors: 404, 409 (the tenant's last unrevoked key: issue another one first)."""
    async with caller.database.write() as session:
        key = await keys.revoke_api_key(session, runtime.clock, caller.tenant_id, key_id)
        revoked = ApiKeyOut.model_validate(key)
    runtime.authenticator.forget_key(key_id)
    return revoked
