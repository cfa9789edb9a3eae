"""Group commit for the inbound route: the notifications that arrive while a transaction is
being written wait, and go together in the next one, through the batch paths (the charges
locked in one statement, settled in one batch of events, the reactions run once). Each
request is answered once its transaction commits, so a provider never hears "received" for
what a crash could lose.

A provider sends its notifications one per request and many at once at the start of a
business day (every boleto paid overnight); one transaction each made the route cost what
a settlement by hand costs (docs/performance.md, "Money coming in"). Nothing waits on a
timer: a batch is whatever arrived while the previous one committed, up to `max_batch`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assina.core.clock import Clock
from assina.db.database import Database
from assina.payment_settings.models import PaymentProvider
from assina.payments.inbound import InboundDelivery, Recorded, record_deliveries
from assina.payments.providers import Notification
from assina.tenants.clock import calendar_tenant

MAX_BATCH = 200


@dataclass
class _Waiting:
    """A provider's request for one tenant, verified, waiting for its transaction."""

    tenant_id: str
    provider: PaymentProvider
    notifications: Sequence[Notification]
    payload: Mapping[str, Any]
    answer: asyncio.Future[list[Recorded]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class InboundGroupCommit:
    """One per process (the app's state): `record` returns once the notifications are
    committed. `clock` is the process's: each tenant's own (a sandbox tenant's test clock) is
    read in the transaction that records its notifications."""

    def __init__(self, database: Database, clock: Clock, max_batch: int = MAX_BATCH) -> None:
        self._database = database
        self._clock = clock
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(
        self,
        tenant_id: str,
        provider: PaymentProvider,
        notifications: Sequence[Notification],
        payload: Mapping[str, Any],
    ) -> list[Recorded]:
        waiting = _Waiting(tenant_id, provider, notifications, payload)
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        # Shielded: a request whose client went away still has its batch committed (the
        # provider's retry then finds it recorded and changes nothing).
        return await asyncio.shield(waiting.answer)

    async def _write_all(self) -> None:
        batch: Sequence[_Waiting] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._write(batch)
        finally:
            # Stopped midway (the process shutting down): nobody is left waiting forever.
            stranded, self._queue = [*batch, *self._queue], []
            for waiting in stranded:
                if not waiting.answer.done():
                    waiting.answer.set_exception(RuntimeError("the inbound writer stopped"))

    async def _write(self, batch: Sequence[_Waiting]) -> None:
        try:
            answers = await self._commit(batch)
        except Exception as error:
            if len(batch) == 1:
                batch[0].answer.set_exception(error)
                return
            # One delivery's failure must not fail the others: each goes alone again.
            for waiting in batch:
                await self._write([waiting])
            return
        for waiting, answer in zip(batch, answers, strict=True):
            waiting.answer.set_result(answer)

    async def _commit(self, batch: Sequence[_Waiting]) -> list[list[Recorded]]:
        async with self._database.write() as session:
            clocks: dict[str, Clock] = {}
            for tenant_id in sorted({waiting.tenant_id for waiting in batch}):
                tenant = await calendar_tenant(session, tenant_id)
                if tenant is None:
                    raise LookupError(f"no tenant {tenant_id}")
                clocks[tenant_id] = tenant.clock(self._clock)
            deliveries = [
                InboundDelivery(
                    waiting.tenant_id,
                    clocks[waiting.tenant_id],
                    waiting.provider,
                    waiting.notifications,
                    waiting.payload,
                )
                for waiting in batch
            ]
            return await record_deliveries(session, deliveries)
