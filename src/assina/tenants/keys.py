"""A tenant's API keys: who a key authenticates, listing, revoking, and when each was last
used. Issuing is `service.issue_api_key` (a tenant is created with its first key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import conflict, not_found
from assina.core.paging import PageParams, fetch_page
from assina.tenants.models import ApiKey, Tenant
from assina.tenants.service import TenantContext

# `last_used_at` is exact to this much: a key in use is written at most once per interval.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyOwner:
    """What a valid key tells: its id, when it was last used, and its tenant."""

    key_id: str
    last_used_at: datetime | None
    tenant: TenantContext


async def authenticate(session: AsyncSession, key_hash: str) -> KeyOwner | None:
    """The unrevoked API key with this hash (see `hash_api_key`) and its tenant."""
    statement = (
        select(ApiKey.id, ApiKey.last_used_at, Tenant.id, Tenant.time_zone, Tenant.mode)
        .join(ApiKey, ApiKey.tenant_id == Tenant.id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )
    row = (await session.execute(statement)).first()
    if row is None:
        return None
    key_id, last_used_at, tenant_id, time_zone, mode = row
    tenant = TenantContext(tenant_id=tenant_id, time_zone=time_zone, mode=mode)
    return KeyOwner(key_id=key_id, last_used_at=last_used_at, tenant=tenant)


def needs_touch(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION


async def touch_api_key(session: AsyncSession, key_id: str, now: datetime) -> None:
    """Record a use of the key, unless one was recorded less than a minute ago (the guard
    is in the statement, so processes racing for the same key write it once)."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at <= now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )


async def list_api_keys(
    session: AsyncSession, tenant_id: str, page: PageParams
) -> tuple[Sequence[ApiKey], bool]:
    """The tenant's keys, revoked ones too, oldest first."""
    return await fetch_page(
        session, select(ApiKey).where(ApiKey.tenant_id == tenant_id), ApiKey.id, page
    )


async def all_api_keys(session: AsyncSession, tenant_id: str) -> Sequence[ApiKey]:
    """Every key of the tenant, oldest first (for `assina tenant keys`)."""
    return (
        await session.scalars(
            select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)
        )
    ).all()


async def get_api_key(session: AsyncSession, tenant_id: str, key_id: str) -> ApiKey:
    key = await session.scalar(
        select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id)
    )
    if key is None:
        raise not_found("API key", key_id)
    return key


async def revoke_api_key(
    session: AsyncSession, clock: Clock, tenant_id: str, key_id: str
) -> ApiKey:
    """Revoke one of the tenant's keys (the calling one included). Revoking a revoked key
    changes nothing; revoking the tenant's last unrevoked key is a 409, so that a tenant
    always keeps a way in (issue another key first)."""
    # One revocation per tenant at a time (SQLite's write lock does the same), so two
    # concurrent revocations cannot together take the last two keys.
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    key = await get_api_key(session, tenant_id, key_id)
    if key.revoked_at is not None:
        return key
    others = await session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.id != key_id, ApiKey.revoked_at.is_(None))
    )
    if not others:
        raise conflict(
            f"{key_id} is the tenant's last unrevoked API key; issue another one "
            "(POST /v1/api-keys) before revoking it.",
            slug="last-api-key",
        )
    key.revoked_at = clock.real_now()
    await session.flush()
    return key
