"""HTTP for the tenant's billing settings: read them, replace them."""

from __future__ import annotations

from fastapi import APIRouter

from assina.billing_settings import service
from assina.billing_settings.schemas import BillingSettingsIn, BillingSettingsOut
from assina.core.openapi import problem_responses
from assina.tenants.deps import CallerDep

router = APIRouter(prefix="/v1/billing-settings", tags=["billing settings"])


@router.get(
    "",
    response_model=BillingSettingsOut,
    responses=problem_responses(401),
    summary="This tenant's billing settings (the defaults until changed)",
)
async def get_billing_settings(caller: CallerDep) -> BillingSettingsOut:
    """The tenant's late-fee rates, charge lead days, order expiry and PIX receiver; the
    defaults until replaced."""
    async with caller.database.read() as session:
        return await service.get_billing_settings(session, caller.tenant_id)


@router.put(
    "",
    response_model=BillingSettingsOut,
    responses=problem_responses(400, 401, 413, 422),
    summary="Replace the billing settings; a field left out takes its default",
)
async def replace_billing_settings(
    body: BillingSettingsIn, caller: CallerDep
) -> BillingSettingsOut:
    """Replaces the billing settings whole: a field left out takes its default. Percentages
    are answered as strings with 4 decimal places. No event.

    Errors: 422 (nothing changes)."""
    async with caller.database.write() as session:
        return await service.replace_billing_settings(session, caller.clock, caller.tenant_id, body)
