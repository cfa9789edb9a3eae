"""Cross-process wake-ups on PostgreSQL: after a commit that wrote webhook messages, the writer
sends `pg_notify` on its own autocommit connection, coalesced to at most one per 5 ms per
process; dispatchers LISTEN on a dedicated connection outside the pool.

The NOTIFY is sent after COMMIT, never inside the transaction (a NOTIFY inside takes a global
lock at commit and serialises every writer). Correctness never depends on it: dispatchers
also poll. A listening connection the server drops (PostgreSQL restarted) is opened again,
with backoff, so that wake-ups resume instead of leaving the dispatcher on polling for good.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

logger = logging.getLogger("assina.notify")

CHANNEL = "assina_messages"
# From commit to arrival across processes at 50 events/s (an event every 20 ms), p99: a 50 ms
# window gave 57 ms, 20 ms gave 24 ms, 5 ms gives 9 ms (docs/performance.md, issue 18). At
# most 200 NOTIFYs a second per writing process: nothing to PostgreSQL.
COALESCE_SECONDS = 0.005
RELISTEN_FIRST_DELAY_SECONDS = 0.5
RELISTEN_MAX_DELAY_SECONDS = 10.0
# What a lost or refused connection raises: the server is down, restarting, or dropped us.
CONNECTION_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgNotifier:
    def __init__(self, url: URL) -> None:
        self._dsn = asyncpg_dsn(url)
        self._sender: Any = None
        self._listener: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_sent = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        # One NOTIFY at a time on the sender connection: a send still waiting on a slow or
        # restarting server when the next window opens must not overlap it (asyncpg refuses
        # two operations at once on one connection).
        self._sending = asyncio.Lock()
        self._on_notify: Callable[[], None] | None = None
        self._closing = False
        self._relisten: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Ask for one NOTIFY soon; pokes within the coalescing window share it."""
        if self._timer is not None:
            return
        delay = max(0.0, self._last_sent + COALESCE_SECONDS - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._start_send)

    def _start_send(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self._send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self) -> None:
        async with self._sending:
            self._last_sent = time.monotonic()
            try:
                if self._sender is None or self._sender.is_closed():
                    self._sender = await asyncpg.connect(self._dsn)
                await self._sender.execute("SELECT pg_notify($1, '')", CHANNEL)
            except CONNECTION_ERRORS as error:
                # Dispatchers poll anyway; a lost wake-up only delays delivery to the next poll.
                logger.warning("could not send the wake-up notification: %s", error)
                self._sender = None

    async def listen(self, on_notify: Callable[[], None]) -> None:
        """Call `on_notify` whenever any process notifies (until `close`)."""
        self._on_notify = on_notify
        if self._listener is None:
            await self._open_listener()

    async def _open_listener(self) -> None:
        listener = await asyncpg.connect(self._dsn)
        try:
            await listener.add_listener(CHANNEL, self._notified)
        except BaseException:
            listener.terminate()  # dropped right after connecting: no connection left behind
            raise
        listener.add_termination_listener(self._listener_lost)
        self._listener = listener

    def _notified(self, *_args: object) -> None:
        if self._on_notify is not None:
            self._on_notify()

    def _listener_lost(self, _connection: object) -> None:
        self._listener = None
        if self._closing:
            return
        logger.warning("the wake-up connection was lost: listening again")
        self._relisten = asyncio.ensure_future(self._listen_again())

    async def _listen_again(self) -> None:
        delay = RELISTEN_FIRST_DELAY_SECONDS
        while not self._closing:
            try:
                await self._open_listener()
            except CONNECTION_ERRORS as error:
                logger.warning("cannot listen for wake-ups yet: %s", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RELISTEN_MAX_DELAY_SECONDS)
                continue
            # Notifications sent while nobody listened are gone: look for work at once.
            self._notified()
            return

    async def close(self) -> None:
        self._closing = True
        if self._relisten is not None:
            self._relisten.cancel()
        if self._timer is not None:
            # A wake-up still waiting for its window is sent now rather than lost.
            self._timer.cancel()
            self._start_send()
        for task in list(self._tasks):
            await task
        for connection in (self._sender, self._listener):
            if connection is not None and not connection.is_closed():
                await connection.close()
        self._sender = self._listener = None
