"""The calendar's order step: pending orders whose `expires_on` has come are expired, their open
charges invalidated (orders/moves.py). A pass for a day catches up every order due on or
before it; a batch of BATCH orders is one transaction, so a pass killed midway leaves every
order either expired with its charge and events or untouched; running it again changes
nothing more."""

from __future__ import annotations

from datetime import date

from assina.core.clock import Clock
from assina.db.database import Database
from assina.orders.moves import expire_due_orders

BATCH = 500


async def expire_orders(
    database: Database, clock: Clock, tenant_id: str, day: date, batch: int = BATCH
) -> int:
    """The tenant's pending orders due to expire by `day`, expired; how many were."""
    expired = 0
    while True:
        async with database.write() as session:
            looked_at, moved = await expire_due_orders(session, clock, tenant_id, day, batch)
        expired += moved
        if looked_at < batch:
            return expired
