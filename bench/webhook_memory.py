"""Webhook worker memory with a large backlog, and the plan of the dispatcher's claim query.

One tenant and ONE endpoint (`event_types: ["*"]`, created disabled through the API of a
short-lived `assina serve --no-worker`) on a receiver in its own process (bench/receiver.py).
N `customer.created` events (about 1 KiB of data each) and N pending messages for that
endpoint are written straight into the database in bulk, the tables analysed, and the plan
of the real claim (`due_messages_query`) printed: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL,
EXPLAIN QUERY PLAN on SQLite. Then ONE real `assina worker` process starts with the endpoint
still disabled (its start-up RSS is read once it has settled), the endpoint is enabled, and
the worker drains the backlog while this process samples its /proc/<pid>/status (VmRSS, and
VmHWM for the peak) every 100 ms and counts arrivals through the receiver's /stats.

    .venv/bin/python bench/webhook_memory.py [--messages 100000] [--drain-seconds S]
        [--backend postgresql|sqlite]

PostgreSQL: database `assina_bench_memory` on the server of ASSINA_BENCH_PG_URL (default
postgres@127.0.0.1:5432), created anew at the start and dropped at the end. SQLite: a file
in a temporary directory. Every process started here is stopped, even on error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import Select, func, insert, select, text, update
from sqlalchemy.engine import make_url

from assina.core.ids import new_id
from assina.db.database import create_engine
from assina.db.notify import CHANNEL, asyncpg_dsn
from assina.events.models import Event
from assina.webhooks.dispatcher import due_messages_query
from assina.webhooks.models import WebhookEndpoint, WebhookMessage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import ASSINA, DEFAULT_PG, free_port, recreate_pg, run_cli, wait_ready

RECEIVER = str(Path(__file__).resolve().parent / "receiver.py")
DATABASE_NAME = "assina_bench_memory"
CHUNK = 5_000
SAMPLE_SECONDS = 0.1
POLL_SECONDS = 1.0
STALL_SECONDS = 120.0

Rows = list[dict[str, Any]]


# --- the backlog and the database ----------------------------------------------------------


def customer(n: int, customer_id: str, stamp: str) -> dict[str, Any]:
    """A customer as `GET /v1/customers/{id}` shows it, about 1 KiB of JSON."""
    note = "Cobrança no dia 10; enviar boleto e PIX ao financeiro e ao sócio. "
    return {
        "id": customer_id,
        "number": n,
        "name": f"Padaria e Confeitaria Pão de Mel {n} Comércio de Alimentos Ltda",
        "email": f"financeiro.cliente{n}@padariapaodemel.com.br",
        "document": "11222333000181",
        "address": f"Av. Brigadeiro Faria Lima, {1000 + n}, Jardim Paulistano, São Paulo, SP",
        "status": "active",
        "metadata": {"vendedor": "Mariana Albuquerque", "observacao": note * 6},
        "created_at": stamp,
        "updated_at": stamp,
    }


def backlog(
    total: int, tenant_id: str, endpoint_id: str, now: datetime
) -> Iterator[tuple[Rows, Rows]]:
    """Events and messages in chunks: event n was created n ms after the first, and its
    message is due from then (as the fan-out writes it), so all are due by `now`."""
    first = now - timedelta(milliseconds=total)
    for start in range(1, total + 1, CHUNK):
        events: Rows = []
        messages: Rows = []
        for n in range(start, min(total + 1, start + CHUNK)):
            created = first + timedelta(milliseconds=n - 1)
            ids = {"tenant_id": tenant_id, "customer_id": new_id("cus")}
            stamp = created.isoformat().replace("+00:00", "Z")
            data = customer(n, ids["customer_id"], stamp)
            event = {"id": new_id("evt"), "sequence": n, "type": "customer.created", **ids}
            events.append({**event, "data": data, "previous": None, "created_at": created})
            message: dict[str, Any] = {"id": new_id("msg"), "endpoint_id": endpoint_id, **ids}
            message |= {"event_id": event["id"], "event_type": event["type"], "status": "pending"}
            message |= dict.fromkeys(("locked_until", "last_attempt_at", "delivered_at"))
            message |= {"attempt_count": 0, "next_attempt_at": created, "created_at": created}
            messages.append(message)
        yield events, messages


class Store:
    """The bench's own connection to the database the worker uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = not url.startswith("sqlite")
        self.engine = create_engine(url, pool_size=1)

    async def create(self) -> None:
        if self.postgres:
            await recreate_pg(self.url)

    async def load(self, chunks: Iterator[tuple[Rows, Rows]], total: int) -> None:
        """Every column given (checked against the models), then ANALYZE; `total` is the
        last event sequence loaded."""
        async with self.engine.begin() as conn:
            for events, messages in chunks:
                for table, rows in ((Event, events), (WebhookMessage, messages)):
                    assert set(rows[0]) == set(table.__table__.columns.keys()), table
                    await conn.execute(insert(table), rows)
            if self.postgres:  # later events (endpoint.disabled) must not reuse 1..N
                await conn.execute(text("SELECT setval('event_sequence', :n)"), {"n": total})
            await conn.execute(text("ANALYZE"))

    async def explain(self, query: Select[str, str, int | None]) -> str:
        sql = query.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True})
        async with self.engine.connect() as conn:  # rolled back: the FOR UPDATE locks go
            if self.postgres:
                lines = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                return "\n".join(line for (line,) in lines)
            nodes: Any = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            plan = "\n".join(f"{node:>3} {parent:>3} {detail}" for node, parent, _, detail in nodes)
            started = time.perf_counter()  # EXPLAIN QUERY PLAN runs nothing: time one run
            claimed = len((await conn.exec_driver_sql(str(sql))).all())
        elapsed = (time.perf_counter() - started) * 1000
        return f"{plan}\n(one run: {claimed} rows in {elapsed:.1f} ms)"

    async def set_enabled(self, endpoint_ids: Sequence[str], enabled: bool) -> None:
        async with self.engine.begin() as conn:
            endpoints = update(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids))
            await conn.execute(endpoints.values(enabled=enabled))
            if enabled and self.postgres:  # wake the worker, as a commit with messages does
                await conn.execute(select(func.pg_notify(CHANNEL, "")))

    async def delivered(self) -> int:
        query = select(func.count()).where(WebhookMessage.status == "delivered")
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def drop(self) -> None:
        await self.engine.dispose()
        if self.postgres:
            conn = await asyncpg.connect(asyncpg_dsn(make_url(self.url).set(database="postgres")))
            try:
                name = make_url(self.url).database
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()


# --- processes and memory ------------------------------------------------------------------


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process, in KiB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    found = dict(line.split(":", 1) for line in lines)
    return int(found["VmRSS"].split()[0]), int(found["VmHWM"].split()[0])


@dataclass
class Sampler:
    """Reads the process's memory every 100 ms until cancelled or the process ends."""

    pid: int
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # time, RSS, HWM

    async def run(self) -> None:
        with contextlib.suppress(OSError, KeyError):  # the process is gone
            while True:
                self.samples.append((time.time(), *memory_kib(self.pid)))
                await asyncio.sleep(SAMPLE_SECONDS)

    async def settled(self, worker: subprocess.Popen[bytes]) -> int:
        """The idle worker's RSS once it has not moved for 2 s (waits at most 30 s)."""
        for _ in range(60):
            await asyncio.sleep(0.5)
            if worker.poll() is not None:
                raise RuntimeError("the worker exited during start-up")
            recent = {rss for at, rss, _ in self.samples if at >= time.time() - 2}
            if self.samples[-1][0] - self.samples[0][0] > 3 and len(recent) == 1:
                break
        return self.samples[-1][1]


# --- the run -------------------------------------------------------------------------------


@dataclass
class Bench:
    """One run: its settings, processes, receiver and HTTP session, and what it measured."""

    args: argparse.Namespace
    store: Store
    work: Path
    stack: contextlib.ExitStack
    http: aiohttp.ClientSession
    receiver: str = ""
    endpoint_id: str = ""
    startup_kib: int = 0
    peak_kib: int = 0
    end_kib: int = 0
    stopped: str = ""
    # (seconds since the endpoint was enabled, delivered, RSS KiB) at each poll
    timeline: list[tuple[float, int, int]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ASSINA_DATABASE_URL": self.store.url,
            "ASSINA_DATA_DIR": str(self.work),  # the same secret for the tenant and the worker
            "ASSINA_ALLOW_PRIVATE_TARGETS": "1",
            "ASSINA_LOG_LEVEL": "warning",
            # One key sends the whole load: a bucket it never empties (docs/limits.md).
            "ASSINA_API_RATE_LIMIT_BURST": "1000000000",
        }

    def spawn(self, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start a process whose output goes to WORK/name.log; the stack stops it."""
        with (self.work / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(args, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.stack.callback(stop_process, process)
        return process

    async def arrived(self) -> int:
        async with self.http.get(f"{self.receiver}/stats") as response:
            return int((await response.json())["count"])

    async def start_receiver(self) -> None:
        port = free_port()
        self.receiver = f"http://127.0.0.1:{port}"
        self.spawn("receiver", [sys.executable, RECEIVER, str(port)])
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                await self.arrived()
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    async def create_endpoint(self, api_key: str) -> None:
        """One endpoint for every event type, created disabled through the API of a
        short-lived `serve --no-worker` (the worker must start before it has work); and a
        second, quiet one (enabled, for `charge.settled` only, never sent anything), so that
        the claim that skips the first still has an endpoint to look at."""
        port = free_port()
        server = self.spawn("serve", [ASSINA, "serve", "--no-worker", "--port", str(port)])
        endpoints = f"http://127.0.0.1:{port}/v1/webhook-endpoints"
        auth = {"Authorization": f"Bearer {api_key}"}
        busy = {"url": f"{self.receiver}/hook", "event_types": ["*"], "enabled": False}
        quiet = {"url": f"{self.receiver}/quiet", "event_types": ["charge.settled"]}
        try:
            await wait_ready(f"http://127.0.0.1:{port}")
            for body in (busy, quiet):
                async with self.http.post(endpoints, json=body, headers=auth) as response:
                    assert response.status == 201, await response.text()
                    if body is busy:
                        self.endpoint_id = (await response.json())["id"]
        finally:
            stop_process(server)

    async def prepare(self) -> None:
        """Schema, tenant, receiver, endpoint, the backlog and the plans of the two claims a
        dispatcher sends with one endpoint: while the endpoint has free sending slots, and
        while its 10 are all taken (it is then skipped)."""
        run_cli(self.env, "migrate")
        tenant = json.loads(run_cli(self.env, "tenant", "create", "Bench memória", "--json"))
        await self.start_receiver()
        await self.create_endpoint(tenant["api_key"])
        started, total = time.perf_counter(), self.args.messages
        chunks = backlog(total, tenant["tenant_id"], self.endpoint_id, datetime.now(UTC))
        await self.store.load(chunks, total)
        print(f"{total} events and messages loaded in {time.perf_counter() - started:.1f} s")
        await self.store.set_enabled([self.endpoint_id], True)  # as the worker will see it
        now, lock_rows = datetime.now(UTC), self.store.postgres
        for label, skip in (("()", ()), ("(endpoint,): its slots are full", (self.endpoint_id,))):
            query = due_messages_query(now, 50, skip=skip, lock_rows=lock_rows)
            print(f"\nclaim, skip={label}:\n{await self.store.explain(query)}\n", flush=True)
        await self.store.set_enabled([self.endpoint_id], False)

    def stop_reason(self, worker: subprocess.Popen[bytes]) -> str:
        """Why the drain ends now, or "" while it goes on."""
        elapsed, delivered, _ = self.timeline[-1]
        window, limit = int(STALL_SECONDS / POLL_SECONDS), self.args.drain_seconds
        if delivered >= self.args.messages:
            return "all delivered"
        if worker.poll() is not None:
            return f"the worker exited ({worker.returncode})"
        if limit is not None and elapsed >= limit:
            return f"--drain-seconds {limit:g} reached"
        if len(self.timeline) > window and self.timeline[-1 - window][1] == delivered:
            return f"stalled: nothing arrived for {STALL_SECONDS:g} s"
        return ""

    async def measure(self) -> None:
        """ONE worker: settle idle, then drain the backlog while its memory is sampled."""
        worker = self.spawn("worker", [ASSINA, "worker"])
        sampler = Sampler(worker.pid)
        sampling = asyncio.create_task(sampler.run())
        try:
            self.startup_kib = await sampler.settled(worker)
            await self.store.set_enabled([self.endpoint_id], True)
            started = time.time()
            while not self.stopped:
                delivered = await self.arrived()
                self.timeline.append((time.time() - started, delivered, sampler.samples[-1][1]))
                self.stopped = self.stop_reason(worker)
                if not self.stopped:
                    await asyncio.sleep(POLL_SECONDS)
            await asyncio.sleep(SAMPLE_SECONDS * 2)  # one more sample after the last arrival
        finally:
            sampling.cancel()
        self.peak_kib = max(hwm for _, _, hwm in sampler.samples)
        self.end_kib = sampler.samples[-1][1]
        stop_process(worker)
        if worker.returncode not in (0, -signal.SIGTERM):
            log = (self.work / "worker.log").read_text()[-4000:]
            raise RuntimeError(f"the worker ended with {worker.returncode}:\n{log}")

    async def report(self) -> str:
        seconds, delivered, _ = self.timeline[-1]  # at the poll that saw the drain end
        rate = delivered / seconds if seconds else 0.0
        in_db = await self.store.delivered()
        lines = [
            "| backend | pending at start | delivered | start-up RSS MiB "
            "| peak RSS (VmHWM) MiB | RSS at the end MiB | drain s | msg/s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {self.args.backend} | {self.args.messages} | {delivered} "
            f"| {self.startup_kib / 1024:.1f} | {self.peak_kib / 1024:.1f} "
            f"| {self.end_kib / 1024:.1f} | {seconds:.1f} | {rate:.0f} |",
            "",
            f"drain ended: {self.stopped}; delivered in the database: {in_db}",
            "",
            "| s | delivered | RSS MiB |",
            "| ---: | ---: | ---: |",
        ]
        step = max(1, len(self.timeline) // 10)
        for elapsed, count, rss in [*self.timeline[:-1:step], self.timeline[-1]]:
            lines.append(f"| {elapsed:.0f} | {count} | {rss / 1024:.1f} |")
        return "\n".join(lines)


async def run(args: argparse.Namespace, store: Store, work: Path) -> str:
    with contextlib.ExitStack() as stack:  # stops every process started, even on error
        async with aiohttp.ClientSession() as http:
            bench = Bench(args, store, work, stack, http)
            await bench.prepare()
            await bench.measure()
    return await bench.report()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--drain-seconds", type=float, help="stop the drain after S seconds")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    main_task = asyncio.current_task()
    if main_task is not None:  # SIGTERM unwinds like Ctrl-C: processes stopped, database dropped
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)

    work = Path(tempfile.mkdtemp(prefix="assina-bench-memory-"))
    if args.backend == "sqlite":
        store = Store(f"sqlite+aiosqlite:///{work / 'bench.db'}")
    else:
        base = make_url(os.environ.get("ASSINA_BENCH_PG_URL", DEFAULT_PG))
        store = Store(base.set(database=DATABASE_NAME).render_as_string(False))
    try:
        await store.create()
        print(await run(args, store, work))
    finally:
        await store.drop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
