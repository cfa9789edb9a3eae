"""HTTP for the tenant's fiscal settings: read them, replace them."""

from __future__ import annotations

from fastapi import APIRouter

from assina.core.openapi import problem_responses
from assina.fiscal_settings import service
from assina.fiscal_settings.schemas import FiscalSettingsIn, FiscalSettingsOut
from assina.tenants.deps import CallerDep

router = APIRouter(prefix="/v1/fiscal-settings", tags=["fiscal settings"])


@router.get(
    "",
    response_model=FiscalSettingsOut,
    responses=problem_responses(401),
    summary="This tenant's fiscal settings (the defaults until changed)",
)
async def get_fiscal_settings(caller: CallerDep) -> FiscalSettingsOut:
    """The fiscal issuer (`sandbox` by default, or `asaas`), the emitter's CNPJ, inscrição
    municipal and IBGE municipality code, the national service code (cTribNac), the default
    service description, the ISS rate (basis points) and retention, and `auto_issue`."""
    async with caller.database.read() as session:
        return await service.get_fiscal_settings(session, caller.tenant_id)


@router.put(
    "",
    response_model=FiscalSettingsOut,
    responses=problem_responses(400, 401, 413, 422),
    summary="Replace the fiscal settings; a field left out takes its default",
)
async def replace_fiscal_settings(body: FiscalSettingsIn, caller: CallerDep) -> FiscalSettingsOut:
    """Replaces the fiscal settings whole: a field left out takes its default. The CNPJ's
    check digits and the IBGE code's check digit are verified; `iss_rate_bp` is 0 to 500
    (5 %, the ISS's ceiling). No event.

    Errors: 422 naming the field (nothing changes)."""
    async with caller.database.write() as session:
        return await service.replace_fiscal_settings(session, caller.clock, caller.tenant_id, body)
