"""HTTP for the calling tenant's own settings."""

from __future__ import annotations

from fastapi import APIRouter

from assina.core.openapi import problem_responses
from assina.tenants import service
from assina.tenants.deps import CallerDep, RuntimeDep
from assina.tenants.schemas import TenantOut, TenantUpdate

router = APIRouter(prefix="/v1/tenant", tags=["tenant"])


@router.get(
    "",
    response_model=TenantOut,
    responses=problem_responses(401),
    summary="This tenant",
)
async def get_tenant(caller: CallerDep) -> TenantOut:
    """The tenant the API key belongs to: name and time zone."""
    async with caller.database.read() as session:
        return TenantOut.model_validate(await service.get_tenant(session, caller.tenant_id))


@router.patch(
    "",
    response_model=TenantOut,
    responses=problem_responses(400, 401, 413, 422),
    summary="Change this tenant's name or time zone",
)
async def update_tenant(body: TenantUpdate, caller: CallerDep, runtime: RuntimeDep) -> TenantOut:
    """Changes the tenant's `name` or IANA `time_zone` (which decides its calendar days). No
    event.

    Errors: 422 (an unknown time zone)."""
    async with caller.database.write() as session:
        tenant = await service.update_tenant(session, caller.clock, caller.tenant_id, body)
    runtime.authenticator.forget_tenant(caller.tenant_id)
    return TenantOut.model_validate(tenant)
