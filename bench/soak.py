"""A mixed-load soak on PostgreSQL: does any process's memory grow while the load stays steady?

One `assina serve --no-worker`, two `assina worker` processes and a webhook receiver (in this
process, answering 204 and only counting), on database `assina_soak` (or `--database`) of the
server of ASSINA_BENCH_PG_URL (default postgres@127.0.0.1:5432), created anew at the start and
dropped at the end. Paced clients write and read through the API for `--minutes`: each round
creates a customer, a contract, a charge, settles every other charge, lists customers and
events and reads the charge back; two endpoints receive every event; `assina billing run` runs
every two minutes (the workers' own calendar passes run every minute). Every 10 s the VmRSS of
each assina process is read from /proc/<pid>/status (psutil is not installed) and a table row
printed; at the end, each process's slope in MB per minute over the last 8 minutes (least
squares; `--slope-minutes`; the whole run when it is shorter), which is flat memory when close
to 0.

    .venv/bin/python bench/soak.py [--minutes 10] [--clients 4] [--round-seconds 1.0]
        [--database assina_soak] [--worker-env KEY=VALUE ...] [--statement-cache N]
        [--malloc-trim SECONDS] [--traced-workers DIR] [--keep-logs DIR] [--slope-minutes 8]

`--database` names the database (so that two soaks can run at once on one server);
`--worker-env KEY=VALUE` (repeatable) adds to the workers' environment only, e.g.
`MALLOC_ARENA_MAX=2`. `--statement-cache N` and `--traced-workers DIR` start the workers through
bench/soak_worker.py, the same `assina worker` with N prepared statements per connection, or
under tracemalloc writing a snapshot, the cached statements and malloc's account into DIR
every minute (compare snapshots with bench/traced_diff.py); `--malloc-trim SECONDS` too, the
worker then calling glibc's malloc_trim(0) that often. `--keep-logs DIR` keeps the processes'
logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import ASSINA, free_port, recreate_pg, run_cli

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench"
DATABASE_NAME = "assina_soak"
SAMPLE_SECONDS = 10.0
BILLING_RUN_SECONDS = 120.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def slope_mb_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (minutes, MB)."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (m - mean_m) for t, m in points) / spread


@dataclass
class Counts:
    writes: int = 0
    reads: int = 0
    errors: int = 0
    deliveries: int = 0
    billing_runs: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass
class Soak:
    args: argparse.Namespace
    url: str
    work: Path
    http: aiohttp.ClientSession
    stack: contextlib.ExitStack
    counts: Counts = field(default_factory=Counts)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    base: str = ""
    api_key: str = ""
    product_id: str = ""

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
        env.update(
            ASSINA_DATABASE_URL=self.url,
            ASSINA_DATA_DIR=str(self.work),  # one secret key for every process
            ASSINA_ALLOW_PRIVATE_TARGETS="1",
            ASSINA_LOG_LEVEL="warning",
            # One key drives the whole load: a bucket it never empties (docs/limits.md).
            ASSINA_API_RATE_LIMIT_BURST="1000000000",
        )
        return env

    def spawn(self, name: str, args: Sequence[str], extra: dict[str, str] | None = None) -> None:
        env = {**self.env, **(extra or {})}
        with (self.work / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.stack.callback(_stop, process)
        self.processes[name] = process

    async def wait_ready(self, seconds: float = 120.0) -> None:
        """Start-up takes seconds more when other work shares the cores."""
        give_up = time.monotonic() + seconds
        while time.monotonic() < give_up:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.get(f"{self.base}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise RuntimeError("assina serve did not become ready")

    async def call(self, method: str, path: str, body: object = None) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        async with self.http.request(
            method, f"{self.base}{path}", json=body, headers=headers
        ) as response:
            payload = await response.json(content_type=None)
            statuses = self.counts.statuses
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status >= 400:
                self.counts.errors += 1
                raise RuntimeError(f"{method} {path}: {response.status} {payload}")
            if method == "GET":
                self.counts.reads += 1
            else:
                self.counts.writes += 1
            return payload

    async def start(self, receiver_url: str) -> None:
        run_cli(self.env, "migrate")
        tenant = run_cli(self.env, "tenant", "create", "Soak", "--json")
        self.api_key = __import__("json").loads(tenant)["api_key"]
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.spawn("serve", [ASSINA, "serve", "--no-worker", "--port", str(port)])
        for name in ("worker-1", "worker-2"):
            self.spawn(name, self.worker_command(name), self.worker_env(name))
        await self.wait_ready()
        for _ in range(2):
            await self.call("POST", "/v1/webhook-endpoints", {"url": receiver_url})
        product = await self.call("POST", "/v1/products", {"name": "Mensalidade", "amount": 45000})
        self.product_id = product["id"]

    def worker_command(self, name: str) -> list[str]:
        wrapped = (self.args.traced_workers, self.args.statement_cache, self.args.malloc_trim)
        if wrapped == (None, None, None):
            return [ASSINA, "worker"]
        return [sys.executable, str(Path(__file__).with_name("soak_worker.py"))]

    def worker_env(self, name: str) -> dict[str, str]:
        extra = dict(pair.split("=", 1) for pair in self.args.worker_env)
        if self.args.traced_workers is not None:
            traced = Path(self.args.traced_workers).resolve() / name
            traced.mkdir(parents=True, exist_ok=True)
            extra["ASSINA_SOAK_TRACE_DIR"] = str(traced)
        if self.args.statement_cache is not None:
            extra["ASSINA_SOAK_STATEMENT_CACHE"] = str(self.args.statement_cache)
        if self.args.malloc_trim is not None:
            extra["ASSINA_SOAK_MALLOC_TRIM_SECONDS"] = str(self.args.malloc_trim)
        return extra

    async def client_rounds(self, client: int, until: float) -> None:
        """Paced rounds: the load stays the same all along, whatever the latency."""
        due = (datetime.now(UTC).date() + timedelta(days=20)).isoformat()
        n = 0
        while time.monotonic() < until:
            started = time.monotonic()
            n += 1
            customer = await self.call(
                "POST",
                "/v1/customers",
                {"name": f"Cliente {client}-{n}", "email": f"c{client}.{n}@example.com"},
            )
            items = [{"product_id": self.product_id}]
            await self.call(
                "POST", "/v1/contracts", {"customer_id": customer["id"], "items": items}
            )
            lines = [{"description": "Taxa", "amount": 1000 + n}]
            charge = await self.call(
                "POST",
                "/v1/charges",
                {"customer_id": customer["id"], "items": lines, "due_date": due},
            )
            if n % 2 == 0:
                await self.call("POST", f"/v1/charges/{charge['id']}/settle", {})
            await self.call("GET", "/v1/customers?limit=20")
            await self.call("GET", "/v1/events?limit=20")
            await self.call("GET", f"/v1/charges/{charge['id']}")
            await asyncio.sleep(max(0.0, self.args.round_seconds - (time.monotonic() - started)))

    async def billing_runs(self, until: float) -> None:
        while time.monotonic() + BILLING_RUN_SECONDS < until:
            await asyncio.sleep(BILLING_RUN_SECONDS)
            await asyncio.to_thread(run_cli, self.env, "billing", "run")
            self.counts.billing_runs += 1

    async def sample(self, began: float, until: float) -> None:
        names = list(self.processes)
        print("minute  " + "  ".join(f"{name:>9}" for name in names) + "   writes  deliveries")
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}")
            row = {name: rss_mb(process.pid) for name, process in self.processes.items()}
            minute = (time.monotonic() - began) / 60
            self.samples.append((minute, row))
            cells = "  ".join(f"{row[name]:>6.1f} MB" for name in names)
            print(
                f"{minute:6.2f}  {cells}  {self.counts.writes:>7}  {self.counts.deliveries:>10}",
                flush=True,
            )
            if time.monotonic() + SAMPLE_SECONDS > until + 1:
                return
            await asyncio.sleep(SAMPLE_SECONDS)

    def report(self) -> None:
        last = self.samples[-1][0]
        window = min(self.args.slope_minutes, last)
        print(f"\nslope over the last {window:.1f} minutes (least squares, MB per minute):")
        for name in self.processes:
            points = [(t, row[name]) for t, row in self.samples if t >= last - window]
            first, end = points[0][1], points[-1][1]
            print(
                f"  {name:>9}: {slope_mb_per_minute(points):+.3f} MB/min  "
                f"({first:.1f} → {end:.1f} MB in the window, peak "
                f"{max(row[name] for _, row in self.samples):.1f} MB)"
            )
        c = self.counts
        print(
            f"writes {c.writes}, reads {c.reads}, errors {c.errors}, deliveries {c.deliveries}, "
            f"billing runs {c.billing_runs}, statuses {dict(sorted(c.statuses.items()))}"
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def work_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="assina-soak-") as directory:
        yield Path(directory)


def banner(args: argparse.Namespace) -> str:
    line = (
        f"soak: {args.minutes:g} min, {args.clients} clients, one round each per "
        f"{args.round_seconds:g} s; serve + 2 workers on {args.database}"
    )
    if args.worker_env:
        line += "; workers with " + " ".join(args.worker_env)
    if args.statement_cache is not None:
        line += f"; {args.statement_cache} prepared statements per connection"
    if args.malloc_trim is not None:
        line += f"; workers call malloc_trim every {args.malloc_trim:g} s"
    if args.traced_workers:
        line += "; workers traced"
    return line


def keep_logs(work: Path, keep: Path) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    for log in work.glob("*.log"):
        shutil.copy(log, keep / log.name)


async def receiver(counts: Counts) -> tuple[web.AppRunner, str]:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        counts.deliveries += 1
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/hook"


async def backlog(url: str) -> int:
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM webhook_messages WHERE status = 'pending'")
        )
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--round-seconds", type=float, default=1.0)
    parser.add_argument("--database", default=DATABASE_NAME, help="created and dropped")
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="KEY=VALUE", help="workers only"
    )
    parser.add_argument("--traced-workers", metavar="DIR", help="tracemalloc snapshots here")
    parser.add_argument(
        "--statement-cache", type=int, metavar="N", help="prepared statements per connection"
    )
    parser.add_argument(
        "--malloc-trim", type=float, metavar="SECONDS", help="workers call malloc_trim(0)"
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the processes' logs here")
    parser.add_argument(
        "--slope-minutes", type=float, default=8.0, help="the slope's window, at the end"
    )
    args = parser.parse_args()
    server = os.environ.get("ASSINA_BENCH_PG_URL", DEFAULT_SERVER)
    url = make_url(server).set(database=args.database).render_as_string(hide_password=False)
    await recreate_pg(url)
    counts = Counts()
    runner, receiver_url = await receiver(counts)
    try:
        with work_directory() as work, contextlib.ExitStack() as stack:
            try:
                async with aiohttp.ClientSession() as http:
                    soak = Soak(args, url, work, http, stack, counts)
                    await soak.start(receiver_url)
                    began = time.monotonic()
                    until = began + args.minutes * 60
                    print(banner(args), flush=True)
                    load = [soak.client_rounds(c, until) for c in range(args.clients)]
                    await asyncio.gather(soak.sample(began, until), soak.billing_runs(until), *load)
                    print(f"pending messages at the end: {await backlog(url)}")
                    soak.report()
            finally:
                if args.keep_logs:
                    stack.close()  # the processes stop and flush their logs first
                    keep_logs(work, Path(args.keep_logs))
    finally:
        await runner.cleanup()
        await drop_database(url)


if __name__ == "__main__":
    asyncio.run(main())
