"""Webhook endpoints, their secrets, the tenant's validation token, and message reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import conflict, not_found
from assina.core.ids import new_id
from assina.core.paging import PageParams, fetch_page
from assina.core.patching import METADATA_COLUMN, apply_patch
from assina.core.secrets import SecretBox, new_validation_token
from assina.events.catalog import EventType
from assina.events.models import Event
from assina.events.service import emit_event, get_event, snapshot
from assina.events.shapes import PingShape
from assina.tenants.models import Tenant
from assina.tenants.service import get_tenant
from assina.webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage
from assina.webhooks.retries import schedule_from_seconds, schedule_in_seconds
from assina.webhooks.schemas import (
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    WebhookSettings,
    WebhookSettingsUpdate,
)
from assina.webhooks.signing import new_secret
from assina.webhooks.targets import check_target

PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)


async def register_endpoint(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    tenant_id: str,
    params: EndpointCreate,
    allow_private: bool,
    max_endpoints: int,
) -> dict[str, object]:
    """A new endpoint as its creation is answered (the API's 201, the console's page): the
    endpoint with its signing secret, shown this once."""
    endpoint, secret = await create_endpoint(
        session, clock, box, tenant_id, params, allow_private, max_endpoints
    )
    out = EndpointOut.of(endpoint, box).model_dump()
    return snapshot(EndpointCreated(**out, secret=secret))


async def create_endpoint(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    tenant_id: str,
    params: EndpointCreate,
    allow_private: bool,
    max_endpoints: int,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (in clear, for the creation answer only)."""
    await check_target(params.url, allow_private)
    await _check_room_for_endpoint(session, tenant_id, max_endpoints)
    now = clock.now()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id("whe"),
        tenant_id=tenant_id,
        url=params.url,
        description=params.description,
        event_types=params.event_types,
        enabled=params.enabled,
        format=params.format,
        headers_sealed=box.seal_values(params.headers),
        rate_limit=params.rate_limit,
        ordering=params.ordering,
        secret_sealed=box.seal(secret),
        previous_secret_sealed=None,
        previous_secret_expires_at=None,
        disabled_reason=None,
        failing_since=None,
        metadata_=params.metadata,
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def _check_room_for_endpoint(
    session: AsyncSession, tenant_id: str, max_endpoints: int
) -> None:
    """Refuses an endpoint past the tenant's cap: each endpoint multiplies every event into
    one more delivery, so an unbounded number lets one request fan out without end."""
    # The tenant row locked first, so two concurrent creations on PostgreSQL count one after
    # the other. NO KEY UPDATE, not UPDATE: it does not wait on the key-share locks other
    # inserts of the tenant hold (two of those upgrading to UPDATE would deadlock).
    await session.execute(
        select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True)
    )
    count = await session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None))
    )
    if (count or 0) >= max_endpoints:
        raise conflict(
            f"The tenant already has {count} webhook endpoints, the most this server allows "
            f"({max_endpoints}); delete one before creating another.",
            slug="webhook-endpoint-limit",
        )


async def get_endpoint(session: AsyncSession, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id,
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    if endpoint is None:
        raise not_found("webhook endpoint", endpoint_id)
    return endpoint


async def list_endpoints(
    session: AsyncSession, tenant_id: str, page: PageParams
) -> tuple[Sequence[WebhookEndpoint], bool]:
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None)
    )
    return await fetch_page(session, statement, WebhookEndpoint.id, page)


async def update_endpoint(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    tenant_id: str,
    endpoint_id: str,
    changes: EndpointUpdate,
    allow_private: bool,
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, tenant_id, endpoint_id)
    if changes.url is not None:
        await check_target(changes.url, allow_private)
    apply_patch(endpoint, changes, METADATA_COLUMN | {"headers": "headers_sealed"})
    if changes.headers is not None:  # stored sealed, not as sent
        endpoint.headers_sealed = box.seal_values(changes.headers)
    if changes.enabled:
        # Re-enabled by hand: the automatic reason no longer holds, and the clock restarts.
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    endpoint.updated_at = clock.now()
    return endpoint


async def delete_endpoint(
    session: AsyncSession, clock: Clock, tenant_id: str, endpoint_id: str
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, tenant_id, endpoint_id)
    now = clock.now()
    endpoint.deleted_at = now
    endpoint.enabled = False
    endpoint.updated_at = now
    return endpoint


class SealedSecrets(Protocol):
    """An endpoint's sealed secrets: the ORM row, or the dispatcher's plain row."""

    @property
    def secret_sealed(self) -> str: ...
    @property
    def previous_secret_sealed(self) -> str | None: ...
    @property
    def previous_secret_expires_at(self) -> datetime | None: ...


def live_secrets(endpoint: SealedSecrets, box: SecretBox, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one for 24 h."""
    secrets = [box.open(endpoint.secret_sealed)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed is not None and expires is not None and expires > now:
        secrets.append(box.open(endpoint.previous_secret_sealed))
    return secrets


def previous_secret_expiry(endpoint: WebhookEndpoint, now: datetime) -> datetime | None:
    expires = endpoint.previous_secret_expires_at
    return expires if expires is not None and expires > now else None


async def rotate_secret(
    session: AsyncSession, clock: Clock, box: SecretBox, tenant_id: str, endpoint_id: str
) -> tuple[WebhookEndpoint, str]:
    endpoint = await get_endpoint(session, tenant_id, endpoint_id)
    now = clock.real_now()  # the dispatcher signs in real time, even for a sandbox tenant
    secret = new_secret()
    endpoint.previous_secret_sealed = endpoint.secret_sealed
    endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_LIFETIME
    endpoint.secret_sealed = box.seal(secret)
    endpoint.updated_at = now
    return endpoint, secret


async def webhook_settings(
    session: AsyncSession, box: SecretBox, tenant_id: str
) -> WebhookSettings:
    tenant = await get_tenant(session, tenant_id)
    return _settings_of(tenant, box)


async def update_webhook_settings(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    tenant_id: str,
    changes: WebhookSettingsUpdate,
) -> WebhookSettings:
    tenant = await get_tenant(session, tenant_id)
    if "retry_schedule" in changes.model_fields_set:
        tenant.webhook_retry_schedule = changes.retry_schedule
        tenant.updated_at = clock.now()
    return _settings_of(tenant, box)


def _settings_of(tenant: Tenant, box: SecretBox) -> WebhookSettings:
    return WebhookSettings(
        validation_token=box.open(tenant.validation_token_sealed),
        retry_schedule=schedule_in_seconds(schedule_from_seconds(tenant.webhook_retry_schedule)),
    )


async def rotate_validation_token(
    session: AsyncSession, clock: Clock, box: SecretBox, tenant_id: str
) -> WebhookSettings:
    tenant = await get_tenant(session, tenant_id)
    tenant.validation_token_sealed = box.seal(new_validation_token())
    tenant.updated_at = clock.now()
    return _settings_of(tenant, box)


@dataclass(frozen=True)
class MessageFilters:
    status: MessageStatus | None = None
    event_type: str | None = None


async def list_messages(
    session: AsyncSession,
    tenant_id: str,
    endpoint_id: str,
    filters: MessageFilters,
    page: PageParams,
) -> tuple[Sequence[WebhookMessage], bool]:
    await get_endpoint(session, tenant_id, endpoint_id)
    statement = select(WebhookMessage).where(
        WebhookMessage.tenant_id == tenant_id, WebhookMessage.endpoint_id == endpoint_id
    )
    if filters.status is not None:
        statement = statement.where(WebhookMessage.status == filters.status)
    if filters.event_type is not None:
        statement = statement.where(WebhookMessage.event_type == filters.event_type)
    return await fetch_page(session, statement, WebhookMessage.id, page)


async def ping_endpoint(
    session: AsyncSession, clock: Clock, tenant_id: str, endpoint_id: str
) -> Event:
    """A `webhook.ping` event delivered to this endpoint alone, to test a receiver."""
    endpoint = await get_endpoint(session, tenant_id, endpoint_id)
    if not endpoint.enabled:
        raise conflict("The endpoint is disabled; enable it (PATCH) to ping it.")
    ping = PingShape(endpoint_id=endpoint.id, message="Olá! Este é um teste do assina.")
    row = await emit_event(
        session, clock, tenant_id, EventType.WEBHOOK_PING, ping, only_endpoint=endpoint.id
    )
    return await get_event(session, tenant_id, row["id"])
