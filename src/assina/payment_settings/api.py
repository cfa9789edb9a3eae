"""HTTP for the tenant's payment settings: read them, replace them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.openapi import problem_responses
from assina.payment_settings import service
from assina.payment_settings.schemas import PaymentSettingsIn, PaymentSettingsOut
from assina.tenants.deps import CallerDep, IdempotentCallerDep, Runtime, RuntimeDep

router = APIRouter(prefix="/v1/payment-settings", tags=["payment settings"])


def base_url_of(runtime: Runtime, request: Request) -> str:
    """Where providers reach this server: ASSINA_PUBLIC_URL, else the request's own base."""
    return runtime.settings.public_url or str(request.base_url)


@router.get(
    "",
    response_model=PaymentSettingsOut,
    responses=problem_responses(401),
    summary="This tenant's payment settings (its mode's defaults until changed)",
)
async def get_payment_settings(
    request: Request, caller: CallerDep, runtime: RuntimeDep
) -> PaymentSettingsOut:
    """The provider of each rail (card, boleto, PIX), the card retry days, the boleto bank
    agreement, whether Asaas credentials are stored (never the credentials), and the inbound
    URL to give each provider. The first read makes the tenant's inbound tokens (a write,
    once)."""
    base_url = base_url_of(runtime, request)
    box = runtime.secret_box
    async with caller.database.read() as session:
        inbound = await service.inbound_urls(session, box, caller.tenant_id, base_url)
        if inbound is not None:
            view = await service.payment_view(session, caller.tenant, inbound)
            return PaymentSettingsOut.of(view)
    async with caller.database.write() as session:
        inbound = await service.ensure_inbound_urls(
            session, caller.clock, box, caller.tenant_id, base_url
        )
        return PaymentSettingsOut.of(await service.payment_view(session, caller.tenant, inbound))


@router.put(
    "",
    response_model=PaymentSettingsOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Replace the payment settings; a field left out takes its default",
)
async def replace_payment_settings(
    body: PaymentSettingsIn, request: Request, caller: IdempotentCallerDep, runtime: RuntimeDep
) -> JSONResponse:
    """Replaces the payment settings whole: a section or field left out takes the tenant's
    default (sandbox tenants: the `sandbox` provider on every rail; live tenants: none).
    The Asaas `api_key` and `webhook_token` are write-only: left out keeps the stored one,
    `null` removes it, a string replaces it; they are never answered. No event.

    Errors: 422 (nothing changes) for the sandbox providers on a live tenant, `asaas` on a
    rail without an Asaas API key, the `sandbox` boleto provider without a bank agreement,
    bank data the bank's layout refuses, and invalid fields."""
    base_url = base_url_of(runtime, request)
    box = runtime.secret_box

    async def use_case(session: AsyncSession) -> dict[str, object]:
        inbound = await service.ensure_inbound_urls(
            session, caller.clock, box, caller.tenant_id, base_url
        )
        await service.replace_payment_settings(session, caller.clock, box, caller.tenant, body)
        view = await service.payment_view(session, caller.tenant, inbound)
        return PaymentSettingsOut.of(view).model_dump(mode="json")

    return await caller.respond_once(request, 200, use_case)
