"""A burst from one API key against another tenant's latency (issue 13: limits).

For each backend this starts a real `assina serve --no-worker` process (SQLite, and
PostgreSQL through ASSINA_DATABASE_URL) with two tenants. The victim reads `GET /v1/tenant` at
a steady pace (`--victim-rate` a second) throughout. First the victim alone (baseline), then
`--bursts` bursts in which the attacker, a process of its own, sends `--burst` requests with
one key as fast as `--concurrency` connections allow: `POST /v1/customers` (`--attack write`,
the default: each admitted one writes a customer and its event) or `GET /v1/customers`
(`--attack read`).
Reported: the victim's p50/p99 in each phase (under bursts, of its requests sent while a burst
was in flight), and how the attacker's requests were answered.
With `--unlimited` the same runs again against a server whose limits are off
(ASSINA_API_RATE_LIMIT_PER_SECOND=0, ASSINA_API_CONCURRENCY_PER_KEY=100000), for comparison.

It also times, in this process, the limiter alone (one token taken from a PostgreSQL bucket,
one autocommit upsert, and from an in-memory one, `--takes` times each) and the CPU of one
answer of an in-process app: a refused key's 429 against `GET /healthz` and an admitted read.

    .venv/bin/python bench/rate_limits.py [--burst 1000] [--bursts 3] [--concurrency 50]
        [--victim-rate 10] [--baseline-seconds 10] [--backends sqlite,postgresql]
        [--attack write|read] [--unlimited]

PostgreSQL: ASSINA_BENCH_PG_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench);
the database is dropped and created anew.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
from api import DEFAULT_PG, ROOT, recreate_pg, run_cli, start_serve, wait_ready

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import SystemClock
from assina.core.ratelimit import MemoryBuckets, Policy, PostgresBuckets
from assina.core.secrets import SecretBox
from assina.db import migrate
from assina.db.database import Database, create_engine
from assina.tenants.service import create_tenant

BENCH_SECRET = secrets.token_urlsafe(32)


@dataclass
class Phase:
    backend: str
    limit: str
    phase: str
    victim_requests: int
    victim_p50_ms: float
    victim_p99_ms: float
    victim_max_ms: float
    victim_errors: int
    attacker: dict[str, int] = field(default_factory=dict)
    burst_seconds: float = 0.0


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


class Victim:
    """Reads its tenant at a steady pace until stopped; keeps every latency."""

    def __init__(self, http: aiohttp.ClientSession, base: str, api_key: str, rate: float):
        self.http, self.base, self.rate = http, base, rate
        self.headers = {"Authorization": f"Bearer {api_key}"}
        # (when it was sent, by time.perf_counter: the same clock in every process; latency)
        self.samples: list[tuple[float, float]] = []
        self.errors = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        interval = 1 / self.rate
        next_at = time.perf_counter()
        while not self.stop.is_set():
            started = time.perf_counter()
            async with self.http.get(f"{self.base}/v1/tenant", headers=self.headers) as answer:
                await answer.read()
                if answer.status != 200:
                    self.errors += 1
            self.samples.append((started, time.perf_counter() - started))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    def take(self, within: list[tuple[float, float]] | None = None) -> tuple[list[float], int]:
        """The latencies and errors so far (only of requests sent `within` those windows, if
        given), and start afresh."""
        taken, errors = self.samples, self.errors
        self.samples, self.errors = [], 0
        if within is not None:
            taken = [s for s in taken if any(start <= s[0] <= end for start, end in within)]
        return [latency for _, latency in taken], errors


@dataclass(frozen=True)
class Attack:
    base: str
    api_key: str
    kind: str  # "write" or "read"
    requests: int
    concurrency: int


def burst_from_another_process(attack: Attack) -> tuple[Counter[int], float, float]:
    """One burst, sent by a process of its own: the attacker is another client, and its 50
    connections must not queue the victim's requests in the victim's own event loop."""
    return asyncio.run(burst(attack))


async def burst(attack: Attack) -> tuple[Counter[int], float, float]:
    """The answers, and when the burst started and ended (time.perf_counter)."""
    headers = {"Authorization": f"Bearer {attack.api_key}"}
    statuses: Counter[int] = Counter()
    queue = iter(range(attack.requests))
    url = f"{attack.base}/v1/customers"
    connector = aiohttp.TCPConnector(limit=attack.concurrency)

    async def one_connection(http: aiohttp.ClientSession) -> None:
        for n in queue:
            if attack.kind == "read":
                answer = await http.get(url, headers=headers)
            else:
                body = {"name": f"Cliente {n}", "document": "529.982.247-25"}
                answer = await http.post(url, json=body, headers=headers)
            async with answer:
                await answer.read()
                statuses[answer.status] += 1

    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(one_connection(http) for _ in range(attack.concurrency)))
        return statuses, started, time.perf_counter()


def phase_of(backend: str, limit: str, name: str, latencies: list[float], errors: int) -> Phase:
    ordered = sorted(latencies)
    return Phase(
        backend=backend,
        limit=limit,
        phase=name,
        victim_requests=len(ordered),
        victim_p50_ms=statistics.median(ordered) * 1000,
        victim_p99_ms=percentile(ordered, 0.99) * 1000,
        victim_max_ms=ordered[-1] * 1000,
        victim_errors=errors,
    )


async def run_server(
    backend: str, database_url: str, limit: str, args: argparse.Namespace
) -> list[Phase]:
    data_dir = tempfile.mkdtemp(prefix="assina-bench-")
    env = {
        **os.environ,
        "ASSINA_DATABASE_URL": database_url,
        "ASSINA_DATA_DIR": data_dir,
        "ASSINA_LOG_LEVEL": "warning",
    }
    if limit == "off":
        env["ASSINA_API_RATE_LIMIT_PER_SECOND"] = "0"
        env["ASSINA_API_CONCURRENCY_PER_KEY"] = "100000"
    run_cli(env, "migrate")
    victim_key = json.loads(run_cli(env, "tenant", "create", "Vitima", "--json"))["api_key"]
    attacker_key = json.loads(run_cli(env, "tenant", "create", "Rajada", "--json"))["api_key"]
    server, base = start_serve(env)
    phases: list[Phase] = []
    try:
        await wait_ready(base)
        connector = aiohttp.TCPConnector(limit=4)  # the victim's
        async with aiohttp.ClientSession(connector=connector) as http:
            victim = Victim(http, base, victim_key, args.victim_rate)
            running = asyncio.create_task(victim.run())
            await asyncio.sleep(1.0)  # warm-up, not counted
            victim.take()
            await asyncio.sleep(args.baseline_seconds)
            phases.append(phase_of(backend, limit, "baseline", *victim.take()))
            statuses: Counter[int] = Counter()
            windows: list[tuple[float, float]] = []
            attack = Attack(base, attacker_key, args.attack, args.burst, args.concurrency)
            loop = asyncio.get_running_loop()
            for _ in range(args.bursts):
                with ProcessPoolExecutor(
                    1, mp_context=multiprocessing.get_context("spawn")
                ) as pool:
                    sent = loop.run_in_executor(pool, burst_from_another_process, attack)
                    answered, started, ended = await sent
                statuses += answered
                windows.append((started, ended))
            # Only while a burst was in flight: not while the attacker's process starts.
            under_burst = phase_of(backend, limit, "burst", *victim.take(windows))
            under_burst.attacker = {str(status): n for status, n in sorted(statuses.items())}
            under_burst.burst_seconds = sum(end - start for start, end in windows)
            phases.append(under_burst)
            victim.stop.set()
            await running
    finally:
        server.terminate()
        server.wait(timeout=30)
    return phases


async def limiter_cost(pg_url: str | None, takes: int) -> list[dict[str, object]]:
    """Wall and CPU time of one take, in this process, with nothing else running here."""
    policy = Policy("requests", burst=10**9, per_second=1.0, unit="requests")
    clock = SystemClock()
    rows: list[dict[str, object]] = []
    memory = MemoryBuckets()
    stores: list[tuple[str, object]] = [("memory (SQLite)", memory)]
    engine = None
    if pg_url is not None:
        await recreate_pg(pg_url)
        engine = create_engine(pg_url, pool_size=2)
        await migrate.upgrade(engine)
        stores.append(("PostgreSQL upsert", PostgresBuckets(engine)))
    try:
        for name, store in stores:
            assert isinstance(store, MemoryBuckets | PostgresBuckets)
            for _ in range(50):  # warm-up: connection, statement cache
                await store.take("requests:warm", policy, clock.real_now())
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(takes):
                await store.take("requests:bench", policy, clock.real_now())
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rows.append(
                {
                    "store": name,
                    "takes": takes,
                    "wall_ms_per_take": wall / takes * 1000,
                    "cpu_ms_per_take": cpu / takes * 1000,
                }
            )
    finally:
        if engine is not None:
            await engine.dispose()
    return rows


async def answer_costs(requests: int) -> list[dict[str, object]]:
    """CPU per answer of an app in this process (httpx over ASGI, client included) on SQLite:
    a refused key's 429, `GET /healthz` (no key, no database), and an admitted
    `GET /v1/tenant`. The bucket holds `requests` + 1, so the admitted key never runs out."""
    data_dir = Path(tempfile.mkdtemp(prefix="assina-bench-"))
    url = f"sqlite+aiosqlite:///{data_dir / 'costs.db'}"
    database = Database.from_url(url, 2)
    await migrate.upgrade(database.engine)
    clock = SystemClock()
    box = SecretBox(BENCH_SECRET)
    async with database.write() as session:
        admitted = await create_tenant(session, clock, box, "Admitida")
        refused = await create_tenant(session, clock, box, "Recusada")
    settings = Settings(
        database_url=url,
        secret_key=BENCH_SECRET,
        data_dir=data_dir,
        api_rate_limit_burst=requests + 1,
        api_rate_limit_per_second=0.001,
        api_refusal_hold_seconds=0,  # the CPU of the answer, not the hold before it
    )
    app = create_app(settings, database=database, clock=clock)
    rows: list[dict[str, object]] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        flood = {"Authorization": f"Bearer {refused.api_key}"}
        calm = {"Authorization": f"Bearer {admitted.api_key}"}
        for _ in range(requests + 2):  # empties the flooding key's bucket
            await http.get("/v1/tenant", headers=flood)
        for name, path, headers, status in (
            ("429 of a key known refused", "/v1/tenant", flood, 429),
            ("GET /healthz (no key)", "/healthz", {}, 200),
            ("GET /v1/tenant, admitted", "/v1/tenant", calm, 200),
        ):
            cpu = time.process_time()
            for _ in range(requests):
                answer = await http.get(path, headers=headers)
                assert answer.status_code == status, answer.text
            spent = time.process_time() - cpu
            rows.append({"answer": name, "requests": requests, "cpu_ms": spent / requests * 1000})
    await database.dispose()
    return rows


def report(
    phases: list[Phase], costs: list[dict[str, object]], answers: list[dict[str, object]]
) -> str:
    lines = [
        "| backend | limit | phase | victim requests | p50 ms | p99 ms | max ms | victim errors "
        "| attacker answers | burst s |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for p in phases:
        attacker = ", ".join(f"{n} x {status}" for status, n in p.attacker.items()) or "—"
        seconds = f"{p.burst_seconds:.1f}" if p.burst_seconds else "—"
        lines.append(
            f"| {p.backend} | {p.limit} | {p.phase} | {p.victim_requests} "
            f"| {p.victim_p50_ms:.1f} | {p.victim_p99_ms:.1f} | {p.victim_max_ms:.1f} "
            f"| {p.victim_errors} | {attacker} | {seconds} |"
        )
    lines += [
        "",
        "| limiter store | takes | wall ms / take | CPU ms / take |",
        "| --- | ---: | ---: | ---: |",
    ]
    for c in costs:
        lines.append(
            f"| {c['store']} | {c['takes']} | {c['wall_ms_per_take']:.3f} "
            f"| {c['cpu_ms_per_take']:.3f} |"
        )
    lines += ["", "| answer, in process | requests | CPU ms each |", "| --- | ---: | ---: |"]
    for a in answers:
        lines.append(f"| {a['answer']} | {a['requests']} | {a['cpu_ms']:.3f} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--victim-rate", type=float, default=10.0)
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--attack", choices=["write", "read"], default="write")
    parser.add_argument("--unlimited", action="store_true")
    parser.add_argument("--takes", type=int, default=2000)
    parser.add_argument("--costs-only", action="store_true", help="skip the bursts")
    args = parser.parse_args()

    pg_url = os.environ.get("ASSINA_BENCH_PG_URL", DEFAULT_PG)
    phases: list[Phase] = []
    for limit in [] if args.costs_only else ["on", "off"] if args.unlimited else ["on"]:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                path = Path(tempfile.mkdtemp(prefix="assina-bench-")) / "bench.db"
                url = f"sqlite+aiosqlite:///{path}"
            else:
                url = pg_url
                await recreate_pg(url)
            phases += await run_server(backend, url, limit, args)
    use_pg = "postgresql" in args.backends.split(",")
    costs = await limiter_cost(pg_url if use_pg else None, args.takes)
    answers = await answer_costs(args.takes)

    print(f"run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, attack {args.attack}")
    print(report(phases, costs, answers))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    results = {"phases": [asdict(p) for p in phases], "limiter": costs, "answers": answers}
    (out / f"rate_limits_{args.attack}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
