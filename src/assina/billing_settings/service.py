"""A tenant's billing settings stored: the rules the rest of the code reads, the row the API
shows and replaces (a tenant without a row has the defaults)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.models import BillingSettings
from assina.billing_settings.schemas import (
    DEFAULT_RULES,
    BillingRules,
    BillingSettingsIn,
    BillingSettingsOut,
)
from assina.core.clock import Clock
from assina.db.dialect import insert_on_conflict


def _rules_of(row: BillingSettings | None) -> BillingRules:
    if row is None:
        return DEFAULT_RULES
    return BillingRules(
        fine_percent=row.fine_percent,
        monthly_interest_percent=row.monthly_interest_percent,
        charge_lead_days=row.charge_lead_days,
        order_expiry_days=row.order_expiry_days,
        pix_key=row.pix_key,
        merchant_name=row.merchant_name,
        merchant_city=row.merchant_city,
    )


async def billing_rules(session: AsyncSession, tenant_id: str) -> BillingRules:
    """The tenant's billing rules (the defaults when it never saved any)."""
    return _rules_of(await session.get(BillingSettings, tenant_id))


async def get_billing_settings(session: AsyncSession, tenant_id: str) -> BillingSettingsOut:
    row = await session.get(BillingSettings, tenant_id)
    return BillingSettingsOut.of(_rules_of(row), row.updated_at if row else None)


async def replace_billing_settings(
    session: AsyncSession, clock: Clock, tenant_id: str, params: BillingSettingsIn
) -> BillingSettingsOut:
    """Store the whole settings (an upsert, so concurrent first writes cannot collide)."""
    now = clock.now()
    values = {
        "fine_percent": params.fine_percent,
        "monthly_interest_percent": params.monthly_interest_percent,
        "charge_lead_days": params.charge_lead_days,
        "order_expiry_days": params.order_expiry_days,
        "pix_key": params.pix_key,
        "merchant_name": params.merchant_name,
        "merchant_city": params.merchant_city,
        "updated_at": now,
    }
    table = cast(Table, BillingSettings.__table__)
    statement = (
        insert_on_conflict(session, table)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(index_elements=[table.c.tenant_id], set_=values)
    )
    await session.execute(statement)
    return BillingSettingsOut.of(params.rules(), now)
