"""HTTP for webhook endpoints, their secrets and messages, and the tenant's validation token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery
from assina.events.schemas import EventOut
from assina.events.service import snapshot
from assina.tenants.deps import CallerDep, IdempotentCallerDep, RuntimeDep
from assina.webhooks import repair, service
from assina.webhooks.models import MessageStatus
from assina.webhooks.schemas import (
    AttemptOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointSecret,
    EndpointUpdate,
    MessageOut,
    RecoverOut,
    RecoverRequest,
    WebhookSettings,
    WebhookSettingsUpdate,
)

router = APIRouter(tags=["webhooks"])
ENDPOINTS = "/v1/webhook-endpoints"


@router.post(
    ENDPOINTS,
    status_code=201,
    response_model=EndpointCreated,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Register a URL to receive events",
)
async def create_endpoint(
    body: EndpointCreate, request: Request, caller: IdempotentCallerDep, runtime: RuntimeDep
) -> JSONResponse:
    """Registers a URL to receive the events named in `event_types` (or `["*"]`). The
    answer carries the endpoint's `whsec_` signing secret. Only events raised after its
    creation are delivered to it. URLs on loopback, private, link-local or metadata addresses
    are refused. No event.

    Errors: 422 (a refused URL, an unknown event type); 409 `webhook-endpoint-limit` when
    the tenant already has the most endpoints the server allows (50 by default,
    docs/limits.md)."""

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

    return await caller.respond_once(request, 201, use_case)


@router.get(
    ENDPOINTS,
    response_model=Page[EndpointOut],
    responses=problem_responses(401, 422),
    summary="List webhook endpoints",
)
async def list_endpoints(
    caller: CallerDep, runtime: RuntimeDep, page: PageQuery
) -> Page[EndpointOut]:
    """The tenant's webhook endpoints, oldest first, a page at a time."""
    async with caller.database.read() as session:
        endpoints, has_more = await service.list_endpoints(session, caller.tenant_id, page)
        return Page[EndpointOut](
            data=[EndpointOut.of(e, runtime.secret_box) for e in endpoints], has_more=has_more
        )


@router.get(
    ENDPOINTS + "/{endpoint_id}",
    response_model=EndpointOut,
    responses=problem_responses(401, 404),
    summary="Get a webhook endpoint",
)
async def get_endpoint(endpoint_id: str, caller: CallerDep, runtime: RuntimeDep) -> EndpointOut:
    """One webhook endpoint by id (without its secret: see `…/secret`)."""
    async with caller.database.read() as session:
        return EndpointOut.of(
            await service.get_endpoint(session, caller.tenant_id, endpoint_id), runtime.secret_box
        )


@router.patch(
    ENDPOINTS + "/{endpoint_id}",
    response_model=EndpointOut,
    responses=problem_responses(400, 401, 404, 413, 422),
    summary="Change a webhook endpoint",
)
async def update_endpoint(
    endpoint_id: str, body: EndpointUpdate, caller: CallerDep, runtime: RuntimeDep
) -> EndpointOut:
    """Changes only the fields sent; `"enabled": true` re-enables a disabled endpoint. No
    event.

    Errors: 404, 422."""
    async with caller.database.write() as session:
        endpoint = await service.update_endpoint(
            session,
            caller.clock,
            runtime.secret_box,
            caller.tenant_id,
            endpoint_id,
            body,
            runtime.settings.allow_private_targets,
        )
        return EndpointOut.of(endpoint, runtime.secret_box)


@router.delete(
    ENDPOINTS + "/{endpoint_id}",
    response_model=EndpointOut,
    responses=problem_responses(401, 404),
    summary="Delete a webhook endpoint (its messages stay readable)",
)
async def delete_endpoint(endpoint_id: str, caller: CallerDep, runtime: RuntimeDep) -> EndpointOut:
    """Deletes the endpoint: nothing more is delivered to it; its messages stay readable.
    No event. Errors: 404."""
    async with caller.database.write() as session:
        endpoint = await service.delete_endpoint(
            session, caller.clock, caller.tenant_id, endpoint_id
        )
        return EndpointOut.of(endpoint, runtime.secret_box)


@router.get(
    ENDPOINTS + "/{endpoint_id}/secret",
    response_model=EndpointSecret,
    responses=problem_responses(401, 404),
    summary="The endpoint's signing secret",
)
async def get_secret(endpoint_id: str, caller: CallerDep, runtime: RuntimeDep) -> EndpointSecret:
    """The endpoint's current signing secret, and until when the previous one (after a
    rotation) still signs."""
    async with caller.database.read() as session:
        endpoint = await service.get_endpoint(session, caller.tenant_id, endpoint_id)
        return EndpointSecret(
            secret=runtime.secret_box.open(endpoint.secret_sealed),
            previous_secret_expires_at=service.previous_secret_expiry(
                endpoint, caller.clock.real_now()
            ),
        )


@router.post(
    ENDPOINTS + "/{endpoint_id}/rotate-secret",
    response_model=EndpointSecret,
    responses=problem_responses(400, 401, 404, 409),
    summary="New signing secret; the old one also signs for 24 hours",
)
async def rotate_secret(
    endpoint_id: str, request: Request, caller: IdempotentCallerDep, runtime: RuntimeDep
) -> JSONResponse:
    """Makes a new signing secret; for 24 hours every delivery is signed with both, so a
    receiver can switch without losing messages. No event.

    Errors: 404."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        endpoint, secret = await service.rotate_secret(
            session, caller.clock, runtime.secret_box, caller.tenant_id, endpoint_id
        )
        expiry = service.previous_secret_expiry(endpoint, caller.clock.real_now())
        return snapshot(EndpointSecret(secret=secret, previous_secret_expires_at=expiry))

    return await caller.respond_once(request, 200, use_case)


@router.get(
    ENDPOINTS + "/{endpoint_id}/messages",
    response_model=Page[MessageOut],
    responses=problem_responses(401, 404, 422),
    summary="The endpoint's messages (one per event it subscribed to)",
)
async def list_messages(
    endpoint_id: str,
    caller: CallerDep,
    page: PageQuery,
    status: MessageStatus | None = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[MessageOut]:
    """The endpoint's messages (one per event it was subscribed to when raised), oldest
    first, filtered by `status` and `event_type`."""
    filters = service.MessageFilters(status=status, event_type=event_type)
    async with caller.database.read() as session:
        messages, has_more = await service.list_messages(
            session, caller.tenant_id, endpoint_id, filters, page
        )
        return Page[MessageOut](data=[MessageOut.of(m) for m in messages], has_more=has_more)


@router.get(
    "/v1/webhook-settings",
    response_model=WebhookSettings,
    responses=problem_responses(401),
    summary="The tenant's validation token and webhook retry schedule",
)
async def get_settings(caller: CallerDep, runtime: RuntimeDep) -> WebhookSettings:
    """The tenant's validation token (sent in every delivery) and webhook retry schedule."""
    async with caller.database.read() as session:
        return await service.webhook_settings(session, runtime.secret_box, caller.tenant_id)


@router.patch(
    "/v1/webhook-settings",
    response_model=WebhookSettings,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Change the webhook retry schedule",
)
async def update_settings(
    body: WebhookSettingsUpdate, request: Request, caller: IdempotentCallerDep, runtime: RuntimeDep
) -> JSONResponse:
    """Sets the retry schedule: seconds before each retry, 1 s to 7 days each, up to 20;
    `null` restores the default. Applies from the next failure on. No event.

    Errors: 422."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        settings = await service.update_webhook_settings(
            session, caller.clock, runtime.secret_box, caller.tenant_id, body
        )
        return snapshot(settings)

    return await caller.respond_once(request, 200, use_case)


@router.post(
    "/v1/webhook-settings/rotate-token",
    response_model=WebhookSettings,
    responses=problem_responses(400, 401, 409),
    summary="A new validation token (the old one stops at once)",
)
async def rotate_token(
    request: Request, caller: IdempotentCallerDep, runtime: RuntimeDep
) -> JSONResponse:
    """Replaces the tenant's validation token: every delivery from now on carries the new one,
    and the old one is no longer sent. No event."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        settings = await service.rotate_validation_token(
            session, caller.clock, runtime.secret_box, caller.tenant_id
        )
        return snapshot(settings)

    return await caller.respond_once(request, 200, use_case)


@router.post(
    ENDPOINTS + "/{endpoint_id}/recover",
    response_model=RecoverOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Send again every message of the endpoint that failed since a given instant",
)
async def recover_endpoint(
    endpoint_id: str,
    body: RecoverRequest,
    request: Request,
    caller: IdempotentCallerDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Every message of the endpoint that failed for good since `since` starts its retry
    schedule again (enable the endpoint first). Answers how many. No event.

    Errors: 404, 422; 429 past the endpoint's recovers per hour (docs/limits.md)."""

    async def admit(endpoint: str) -> None:
        policy = runtime.limits.endpoint_recovers
        await runtime.admit_manual_delivery(request, policy, endpoint)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        count = await repair.recover_endpoint(
            session, caller.clock, caller.tenant_id, endpoint_id, body.since, admit
        )
        return snapshot(RecoverOut(recovered=count))

    return await caller.respond_once(request, 200, use_case)


@router.get(
    "/v1/messages/{message_id}",
    response_model=MessageOut,
    responses=problem_responses(401, 404),
    summary="One message: an event for an endpoint",
)
async def get_message(message_id: str, caller: CallerDep) -> MessageOut:
    """One message (an event for one endpoint): its status, attempt count and next attempt."""
    async with caller.database.read() as session:
        return MessageOut.of(await repair.get_message(session, caller.tenant_id, message_id))


@router.get(
    "/v1/messages/{message_id}/attempts",
    response_model=Page[AttemptOut],
    responses=problem_responses(401, 404, 422),
    summary="The delivery attempts of a message, oldest first",
)
async def list_attempts(message_id: str, caller: CallerDep, page: PageQuery) -> Page[AttemptOut]:
    """The delivery attempts of a message, oldest first: time, status code, latency, the
    first 4 KiB of the answer, or the connection error."""
    async with caller.database.read() as session:
        attempts, has_more = await repair.list_attempts(session, caller.tenant_id, message_id, page)
        return Page[AttemptOut](data=[AttemptOut.of(a) for a in attempts], has_more=has_more)


@router.post(
    "/v1/messages/{message_id}/retry",
    response_model=MessageOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Send a message again now",
)
async def retry_message(
    message_id: str, request: Request, caller: IdempotentCallerDep, runtime: RuntimeDep
) -> JSONResponse:
    """One more delivery attempt now, whatever the message's state.

    Errors: 404; 409 while the message is being delivered; 429 past the endpoint's manual
    retries per hour (docs/limits.md)."""

    async def admit(endpoint_id: str) -> None:
        policy = runtime.limits.message_retries
        await runtime.admit_manual_delivery(request, policy, endpoint_id)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        message = await repair.retry_message(
            session, caller.clock, caller.tenant_id, message_id, admit
        )
        return snapshot(MessageOut.of(message))

    return await caller.respond_once(request, 200, use_case)


@router.post(
    ENDPOINTS + "/{endpoint_id}/ping",
    response_model=EventOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Send a `webhook.ping` event to this endpoint alone",
)
async def ping_endpoint(
    endpoint_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Raises a `webhook.ping` event delivered to this endpoint alone, to test a receiver.

    Event: `webhook.ping`. Errors: 404; 409 if the endpoint is disabled."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        event = await service.ping_endpoint(session, caller.clock, caller.tenant_id, endpoint_id)
        return snapshot(EventOut.of(event))

    return await caller.respond_once(request, 200, use_case)
