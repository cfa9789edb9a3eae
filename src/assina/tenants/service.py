"""Tenants and their API keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import not_found
from assina.core.ids import new_id
from assina.core.secrets import (
    SecretBox,
    hash_api_key,
    new_api_key,
    new_validation_token,
)
from assina.tenants.models import DEFAULT_TIME_ZONE, ApiKey, Tenant, TenantMode
from assina.tenants.schemas import CreatedTenant, TenantUpdate


@dataclass(frozen=True)
class TenantContext:
    """Who is calling: the tenant every query of the request is scoped to."""

    tenant_id: str
    time_zone: str
    mode: TenantMode = TenantMode.LIVE

    @property
    def sandbox(self) -> bool:
        return self.mode == TenantMode.SANDBOX


async def create_tenant(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    name: str,
    time_zone: str = DEFAULT_TIME_ZONE,
    *,
    sandbox: bool = False,
) -> CreatedTenant:
    """A live tenant, or with `sandbox` one for trying an integration: its keys start
    `sk_test_` and its test clock starts at real time. A tenant's mode never changes."""
    now = clock.now()
    validation_token = new_validation_token()
    tenant = Tenant(
        id=new_id("ten"),
        name=name,
        time_zone=time_zone,
        validation_token_sealed=box.seal(validation_token),
        mode=TenantMode.SANDBOX if sandbox else TenantMode.LIVE,
        clock_offset_us=0,
        created_at=now,
        updated_at=now,
    )
    session.add(tenant)
    await session.flush()
    api_key = await issue_api_key(session, clock, tenant.id, sandbox=sandbox)
    return CreatedTenant(tenant_id=tenant.id, api_key=api_key, validation_token=validation_token)


async def issue_api_key(
    session: AsyncSession, clock: Clock, tenant_id: str, *, sandbox: bool
) -> str:
    """A new API key for the tenant; only its hash is kept, so this is the one time it is seen."""
    _row, api_key = await add_api_key(session, clock, tenant_id, sandbox=sandbox)
    return api_key


async def add_api_key(
    session: AsyncSession, clock: Clock, tenant_id: str, *, sandbox: bool
) -> tuple[ApiKey, str]:
    """`issue_api_key`, with the stored row. Its times are real times, also in a sandbox
    (keys are not business objects)."""
    api_key = new_api_key(sandbox)
    row = ApiKey(
        id=new_id("key"),
        tenant_id=tenant_id,
        key_hash=hash_api_key(api_key),
        key_hint=api_key[:12],
        created_at=clock.real_now(),
        revoked_at=None,
        last_used_at=None,
    )
    session.add(row)
    await session.flush()
    return row, api_key


async def clock_offset(session: AsyncSession, tenant_id: str) -> timedelta:
    """How far a tenant's business time runs ahead of real time (a sandbox's test clock;
    zero for a live tenant). Read fresh on every request: an advance moves it."""
    offset_us = await session.scalar(select(Tenant.clock_offset_us).where(Tenant.id == tenant_id))
    return timedelta(microseconds=offset_us or 0)


async def first_tenant(session: AsyncSession) -> Tenant | None:
    return await session.scalar(select(Tenant).order_by(Tenant.id).limit(1))


async def list_tenants(session: AsyncSession) -> Sequence[Tenant]:
    """Every tenant, oldest first (for `assina tenant list`)."""
    return (await session.scalars(select(Tenant).order_by(Tenant.id))).all()


async def check_secret_key(session: AsyncSession, box: SecretBox) -> None:
    """Open one stored validation token: SecretKeyMismatch when this process's secret key is
    not the one that sealed it (then no token nor endpoint secret can be opened)."""
    sealed = await session.scalar(
        select(Tenant.validation_token_sealed).order_by(Tenant.id).limit(1)
    )
    if sealed is not None:
        box.open(sealed)


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise not_found("tenant", tenant_id)
    return tenant


async def update_tenant(
    session: AsyncSession, clock: Clock, tenant_id: str, changes: TenantUpdate
) -> Tenant:
    tenant = await get_tenant(session, tenant_id)
    fields = changes.model_dump(exclude_unset=True, exclude_none=True)
    changed = False
    for name, value in fields.items():
        if getattr(tenant, name) != value:
            setattr(tenant, name, value)
            changed = True
    if changed:
        tenant.updated_at = clock.now()
        await session.flush()
    return tenant
