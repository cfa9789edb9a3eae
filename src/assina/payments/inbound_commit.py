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
from collections.abc import Sequence
from dataclasses import dataclass, field

from assina.db.database import Database
from assina.payments.inbound import InboundDelivery, Recorded, record_deliveries

MAX_BATCH = 200


@dataclass
class _Waiting:
    delivery: InboundDelivery
    answer: asyncio.Future[list[Recorded]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class InboundGroupCommit:
    """One per process (the app's state): `record` returns once the delivery is committed."""

    def __init__(self, database: Database, max_batch: int = MAX_BATCH) -> None:
        self._database = database
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, delivery: InboundDelivery) -> list[Recorded]:
        waiting = _Waiting(delivery)
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
            answers = await self._commit([waiting.delivery for waiting in batch])
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

    async def _commit(self, deliveries: Sequence[InboundDelivery]) -> list[list[Recorded]]:
        async with self._database.write() as session:
            return await record_deliveries(session, deliveries)
