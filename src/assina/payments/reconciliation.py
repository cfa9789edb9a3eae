"""Reconciliation: assina asks a provider what it received since the last look and records
what no notification brought (the real providers lose some). Each payment comes back with
the event id its notification carries, so what was already recorded is a replay that changes
nothing. The call to the provider is made outside any transaction; what it found is recorded
in one, with the new mark."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.db.database import Database
from assina.db.dialect import insert_on_conflict
from assina.payment_settings.models import PaymentProvider
from assina.payment_settings.service import payment_choices
from assina.payments.connections import ProviderConnections
from assina.payments.inbound import (
    FROM_RECONCILIATION,
    InboundDelivery,
    Recorded,
    record_deliveries,
)
from assina.payments.models import ReconciliationMark
from assina.payments.providers import ProviderError, Reconciler
from assina.tenants.clock import calendar_tenants

logger = logging.getLogger("assina.payments")

# How far back the first look goes, and how much each look repeats of the last one (a
# payment the provider recorded just before the last look but listed only after it).
FIRST_LOOK_BACK = timedelta(days=3)
OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Reconciled:
    provider: PaymentProvider
    looked_since: datetime
    found: int
    recorded: list[Recorded]


async def reconcile(
    database: Database,
    clock: Clock,
    tenant_id: str,
    provider: PaymentProvider,
    reconciler: Reconciler,
) -> Reconciled:
    """One look at `provider` for the tenant. `clock` is the tenant's (what is settled is
    stamped with it); the marks are in real time, the provider's."""
    started = clock.real_now()
    async with database.read() as session:
        looked_until = await session.scalar(
            select(ReconciliationMark.looked_until).where(
                ReconciliationMark.tenant_id == tenant_id, ReconciliationMark.provider == provider
            )
        )
    since = (looked_until - OVERLAP) if looked_until else started - FIRST_LOOK_BACK
    payments = await reconciler.received_since(since)
    deliveries = [
        InboundDelivery(
            tenant_id,
            clock,
            provider,
            [payment],
            {"reconciled": _plain(asdict(payment))},
            FROM_RECONCILIATION,
        )
        for payment in payments
    ]
    async with database.write() as session:
        recorded = await record_deliveries(session, deliveries)
        await _move_mark(session, tenant_id, provider, started)
    fresh = [entry for entry in chain.from_iterable(recorded) if entry.inbound_event_id is not None]
    return Reconciled(provider, since, len(payments), fresh)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in values.items()
    }


async def _move_mark(
    session: AsyncSession, tenant_id: str, provider: PaymentProvider, until: datetime
) -> None:
    statement = (
        insert_on_conflict(session, ReconciliationMark)
        .values(tenant_id=tenant_id, provider=provider, looked_until=until)
        .on_conflict_do_update(
            index_elements=[ReconciliationMark.tenant_id, ReconciliationMark.provider],
            set_={"looked_until": until},
        )
    )
    await session.execute(statement)


async def reconcile_every_tenant(
    database: Database, clock: Clock, connections: ProviderConnections
) -> list[Reconciled]:
    """One look at every provider each tenant uses (the worker, periodically). A provider that
    fails is logged and looked at again next time; the others go on."""
    done: list[Reconciled] = []
    for tenant in await calendar_tenants(database):
        async with database.read() as session:
            choices = await payment_choices(session, tenant.id)
            providers = {provider for provider in choices.rails().values() if provider}
            reconcilers = {
                provider: await connections.reconciler(session, tenant.id, provider)
                for provider in sorted(providers)
            }
        for provider, reconciler in reconcilers.items():
            if reconciler is None:
                continue
            try:
                done.append(
                    await reconcile(database, tenant.clock(clock), tenant.id, provider, reconciler)
                )
            except ProviderError:
                logger.warning("reconciliation with %s failed for %s", provider, tenant.id)
    return done
