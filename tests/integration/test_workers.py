"""Real `assina worker` processes sharing one PostgreSQL database: three of them deliver 3,000
messages, each exactly once while none dies; and a worker killed with SIGKILL while holding
leased messages loses none of them: another delivers them once the lease expires."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from assina.core.clock import SystemClock
from assina.core.secrets import SecretBox
from assina.customers.schemas import CustomerCreate
from assina.customers.service import create_customer
from assina.db.database import Database
from assina.tenants.service import create_tenant
from assina.webhooks.schemas import EndpointCreate
from assina.webhooks.service import create_endpoint
from tests.conftest import TEST_SECRET_KEY
from tests.integration.chaos_support import free_port

WORKER = [str(Path(sys.executable).with_name("assina")), "worker"]


@dataclass
class CountingReceiver:
    url: str = ""
    deliveries: collections.Counter[str] = field(default_factory=collections.Counter)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    hold: asyncio.Event | None = None  # when set up, requests wait for it before answering
    held: int = 0

    async def wait_for(self, condition: object, timeout: float = 120) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not condition():  # type: ignore[operator]
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def counting_receiver() -> AsyncIterator[CountingReceiver]:
    state = CountingReceiver()

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        if state.hold is not None:
            state.held += 1
            state.changed.set()
            await state.hold.wait()
            return web.Response(status=503)
        state.deliveries[request.headers["webhook-id"]] += 1
        state.changed.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hook"
    yield state
    if state.hold is not None:
        state.hold.set()
    await runner.cleanup()


def start_worker(
    db_url: str, tmp_path: Path, lease_seconds: int = 60, metrics_port: int | None = None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
    env.update(
        ASSINA_DATABASE_URL=db_url,
        ASSINA_SECRET_KEY=TEST_SECRET_KEY,
        ASSINA_DATA_DIR=str(tmp_path),
        ASSINA_ALLOW_PRIVATE_TARGETS="1",
        ASSINA_WEBHOOK_LEASE_SECONDS=str(lease_seconds),
        ASSINA_LOG_LEVEL="warning",
    )
    metrics = [] if metrics_port is None else ["--metrics-port", str(metrics_port)]
    return subprocess.Popen(  # noqa: S603 - our own console script
        [*WORKER, *metrics], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def running(metrics_port: int, timeout: float = 120) -> None:  # noqa: ASYNC109
    """Until the worker answers on its metrics port, which it opens after it has set its
    SIGTERM handler: a worker stopped before that (a loaded machine still importing) would
    end by the signal's default action, not by its clean stop."""
    async with asyncio.timeout(timeout), aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


async def seed(database: Database, url: str, endpoints: int, customers: int) -> None:
    """Endpoints and customers written the way the API writes them (messages fanned out)."""
    clock = SystemClock()
    box = SecretBox(TEST_SECRET_KEY)
    async with database.write() as session:
        tenant = await create_tenant(session, clock, box, "Escola")
        for _ in range(endpoints):
            params = EndpointCreate(url=url)
            await create_endpoint(session, clock, box, tenant.tenant_id, params, True, endpoints)
    for n in range(customers):
        async with database.write() as session:
            params_c = CustomerCreate(name=f"Cliente {n}")
            await create_customer(session, clock, tenant.tenant_id, params_c)


def postgres_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL (SQLite runs one process)")


async def test_three_workers_deliver_3000_messages_each_once(
    db_url: str, database: Database, tmp_path: Path, counting_receiver: CountingReceiver
) -> None:
    postgres_only(db_url)
    await seed(database, counting_receiver.url, endpoints=10, customers=300)
    ports = [free_port() for _ in range(3)]
    workers = [start_worker(db_url, tmp_path, metrics_port=port) for port in ports]
    try:
        for port in ports:
            await running(port)
        await counting_receiver.wait_for(lambda: len(counting_receiver.deliveries) == 3000)
    finally:
        codes = [stop(worker) for worker in workers]
    assert codes == [0, 0, 0]
    assert len(counting_receiver.deliveries) == 3000
    assert set(counting_receiver.deliveries.values()) == {1}  # none twice


async def test_a_killed_workers_leased_messages_are_delivered_by_another(
    db_url: str, database: Database, tmp_path: Path, counting_receiver: CountingReceiver
) -> None:
    postgres_only(db_url)
    counting_receiver.hold = asyncio.Event()
    await seed(database, counting_receiver.url, endpoints=1, customers=5)
    doomed = start_worker(db_url, tmp_path, lease_seconds=2)
    try:
        # The worker has claimed the messages and is waiting for the receiver's answers.
        await counting_receiver.wait_for(lambda: counting_receiver.held == 5)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=60)
    held, counting_receiver.hold = counting_receiver.hold, None  # now it answers at once
    held.set()  # let the requests of the dead worker finish (nobody reads their answers)
    survivor = start_worker(db_url, tmp_path, lease_seconds=2)
    try:
        await counting_receiver.wait_for(lambda: len(counting_receiver.deliveries) == 5)
    finally:
        assert stop(survivor) == 0
    assert set(counting_receiver.deliveries.values()) == {1}
