"""One tenant's unit of work, as the steps inside it pass it along."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock


@dataclass(frozen=True)
class TenantScope:
    """The transaction a use case writes in, the clock it runs by, and the tenant it is for:
    the three that every step of a use case needs, passed as one."""

    session: AsyncSession
    clock: Clock
    tenant_id: str
