"""POST /v1/customers against a bare route of the same app that touches no database.

For each backend (SQLite, and PostgreSQL when reachable) this starts a real `assina serve`
process on loopback with the bench route enabled, then drives it from this process with
aiohttp at a fixed concurrency for a fixed time: first the bare route (HTTP + validation +
serialisation, the baseline), then the real one (auth, counters, insert, event, commit).

    .venv/bin/python bench/api.py [--seconds 10] [--concurrency 32] [--backends sqlite,postgresql]
        [--workers 1,2]

PostgreSQL: ASSINA_BENCH_PG_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench);
the database is dropped and created anew.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu import postgres_cpu_seconds, tree_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
ASSINA = str(Path(sys.executable).with_name("assina"))
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench"


@dataclass
class Result:
    backend: str
    route: str
    requests: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    # CPU per request: the `serve` processes', and the PostgreSQL server's (None on SQLite)
    server_cpu_ms: float = 0.0
    postgres_cpu_ms: float | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def recreate_pg(url: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([ASSINA, *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def start_serve(env: dict[str, str], processes: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """`assina serve --no-worker` on a free port (with `--workers processes`), with `env`: the
    process and its base URL (wait for it with `wait_ready`)."""
    port = free_port()
    server = subprocess.Popen(
        [ASSINA, "serve", "--port", str(port), "--no-worker", "--workers", str(processes)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}"


async def wait_ready(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not become ready")


async def drive(
    base: str, path: str, headers: dict[str, str], seconds: float, concurrency: int
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def one_client(http: aiohttp.ClientSession, worker: int) -> None:
        nonlocal errors
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            body = {
                "name": f"Cliente {worker}-{n}",
                "email": f"c{worker}.{n}@example.com",
                "document": "529.982.247-25",
                "metadata": {"origem": "bench"},
            }
            started = time.perf_counter()
            async with http.post(f"{base}{path}", json=body, headers=headers) as response:
                await response.read()
                if response.status != 201:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(one_client(http, w) for w in range(concurrency)))
    return latencies, errors


def summarize(
    backend: str, route: str, latencies: list[float], errors: int, seconds: float
) -> Result:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Result(
        backend=backend,
        route=route,
        requests=len(ordered),
        errors=errors,
        seconds=seconds,
        throughput=len(ordered) / seconds,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=p99 * 1000,
    )


async def bench_backend(
    backend: str, database_url: str, seconds: float, concurrency: int, processes: int = 1
) -> list[Result]:
    data_dir = tempfile.mkdtemp(prefix="assina-bench-")
    env = {
        **os.environ,
        "ASSINA_DATABASE_URL": database_url,
        "ASSINA_DATA_DIR": data_dir,
        "ASSINA_BENCH_ENDPOINTS": "1",
        "ASSINA_LOG_LEVEL": "warning",
        # One key drives every request: a bucket it never empties keeps the limiter's cost
        # in the numbers without refusals. ASSINA_API_RATE_LIMIT_PER_SECOND=0 turns it off.
        "ASSINA_API_RATE_LIMIT_BURST": os.environ.get("ASSINA_API_RATE_LIMIT_BURST", "1000000000"),
        # Likewise every request of the one key runs at once (bench/rate_limits.py measures
        # the key's turns).
        "ASSINA_API_CONCURRENCY_PER_KEY": os.environ.get("ASSINA_API_CONCURRENCY_PER_KEY", "1000"),
    }
    run_cli(env, "migrate")
    api_key = json.loads(run_cli(env, "tenant", "create", "Bench", "--json"))["api_key"]
    server, base = start_serve(env, processes)
    results = []
    label = backend if processes == 1 else f"{backend}, {processes} processes"
    try:
        await wait_ready(base)
        auth = {"Authorization": f"Bearer {api_key}"}
        await drive(base, "/_bench/bare", {}, 1.0, concurrency)  # warm-up
        await drive(base, "/v1/customers", auth, 1.0, concurrency)
        for route, path, headers in (
            ("bare", "/_bench/bare", {}),
            ("POST /v1/customers", "/v1/customers", auth),
        ):
            started = time.perf_counter()
            server_cpu, postgres_cpu = tree_cpu_seconds(server.pid), postgres_cpu_seconds()
            latencies, errors = await drive(base, path, headers, seconds, concurrency)
            elapsed = time.perf_counter() - started
            result = summarize(label, route, latencies, errors, elapsed)
            result.server_cpu_ms = (tree_cpu_seconds(server.pid) - server_cpu) * 1000
            result.server_cpu_ms /= max(1, result.requests)
            if backend == "postgresql":
                used = (postgres_cpu_seconds() - postgres_cpu) * 1000
                result.postgres_cpu_ms = used / max(1, result.requests)
            results.append(result)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def report(results: list[Result]) -> str:
    lines = [
        "| backend | route | requests | errors | req/s | p50 ms | p99 ms | ratio to bare "
        "| serve CPU ms/req | PostgreSQL CPU ms/req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    bare = {r.backend: r.throughput for r in results if r.route == "bare"}
    for r in results:
        ratio = r.throughput / bare[r.backend] if bare.get(r.backend) else float("nan")
        lines.append(
            f"| {r.backend} | {r.route} | {r.requests} | {r.errors} | {r.throughput:.0f} "
            f"| {r.p50_ms:.1f} | {r.p99_ms:.1f} | {ratio:.2f} | {r.server_cpu_ms:.2f} "
            f"| {'' if r.postgres_cpu_ms is None else f'{r.postgres_cpu_ms:.2f}'} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--workers", default="1", help="PostgreSQL runs: `serve --workers N` for each N, e.g. 1,2"
    )
    args = parser.parse_args()

    results: list[Result] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            path = Path(tempfile.mkdtemp(prefix="assina-bench-")) / "bench.db"
            url = f"sqlite+aiosqlite:///{path}"
            results += await bench_backend(backend, url, args.seconds, args.concurrency)
            continue
        url = os.environ.get("ASSINA_BENCH_PG_URL", DEFAULT_PG)
        for processes in (int(n) for n in args.workers.split(",")):
            await recreate_pg(url)
            results += await bench_backend(backend, url, args.seconds, args.concurrency, processes)

    print(report(results))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "api.json").write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    asyncio.run(main())
