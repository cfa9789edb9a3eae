"""A tenant's fiscal settings stored: the rules the rest of the code reads, the row the API
shows and replaces."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.db.dialect import insert_on_conflict
from assina.fiscal_settings.models import FiscalSettings
from assina.fiscal_settings.schemas import (
    DEFAULT_FISCAL_RULES,
    FiscalRules,
    FiscalSettingsIn,
    FiscalSettingsOut,
)

_FIELDS = (
    "provider",
    "cnpj",
    "municipal_registration",
    "municipality_code",
    "service_code",
    "service_description",
    "iss_rate_bp",
    "iss_retained",
    "auto_issue",
)


def _rules_of(row: FiscalSettings | None) -> FiscalRules:
    if row is None:
        return DEFAULT_FISCAL_RULES
    return FiscalRules(**{name: getattr(row, name) for name in _FIELDS})


async def fiscal_rules(session: AsyncSession, tenant_id: str) -> FiscalRules:
    return _rules_of(await session.get(FiscalSettings, tenant_id))


async def auto_issuing(session: AsyncSession, tenant_id: str) -> FiscalRules | None:
    """The tenant's rules when it invoices settled charges by itself, else None (one query)."""
    row = await session.scalar(
        select(FiscalSettings).where(
            FiscalSettings.tenant_id == tenant_id, FiscalSettings.auto_issue.is_(True)
        )
    )
    return _rules_of(row) if row is not None else None


async def get_fiscal_settings(session: AsyncSession, tenant_id: str) -> FiscalSettingsOut:
    row = await session.get(FiscalSettings, tenant_id)
    return FiscalSettingsOut.of(_rules_of(row), row.updated_at if row else None)


async def replace_fiscal_settings(
    session: AsyncSession, clock: Clock, tenant_id: str, params: FiscalSettingsIn
) -> FiscalSettingsOut:
    """Store the whole settings (an upsert: concurrent first writes cannot collide)."""
    now = clock.now()
    rules = params.rules()
    values = {name: getattr(rules, name) for name in _FIELDS} | {"updated_at": now}
    table = cast(Table, FiscalSettings.__table__)
    statement = (
        insert_on_conflict(session, table)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(index_elements=[table.c.tenant_id], set_=values)
    )
    await session.execute(statement)
    return FiscalSettingsOut.of(rules, now)
