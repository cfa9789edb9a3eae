"""HTTP for the tenant's dunning policy: read it, replace it."""

from __future__ import annotations

from fastapi import APIRouter

from assina.core.openapi import problem_responses
from assina.dunning import policy
from assina.dunning.schemas import DunningPolicyIn, DunningPolicyOut
from assina.tenants.deps import CallerDep

router = APIRouter(prefix="/v1/dunning-policy", tags=["dunning"])


@router.get(
    "",
    response_model=DunningPolicyOut,
    responses=problem_responses(401),
    summary="This tenant's dunning policy (the defaults until changed)",
)
async def get_dunning_policy(caller: CallerDep) -> DunningPolicyOut:
    """When an unpaid customer becomes delinquent, is suspended and is cancelled, and which
    reminders are e-mailed; the defaults until replaced."""
    async with caller.database.read() as session:
        return await policy.get_dunning_policy(session, caller.tenant_id)


@router.put(
    "",
    response_model=DunningPolicyOut,
    responses=problem_responses(400, 401, 413, 422),
    summary="Replace the dunning policy; a field left out takes its default",
)
async def replace_dunning_policy(body: DunningPolicyIn, caller: CallerDep) -> DunningPolicyOut:
    """Replaces the dunning policy whole: a field left out takes its default. The next
    calendar pass applies it. No event.

    Errors: 422 (nothing changes)."""
    async with caller.database.write() as session:
        return await policy.replace_dunning_policy(session, caller.clock, caller.tenant_id, body)
