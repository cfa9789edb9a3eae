"""Webhook delivery: fan-out throughput and end-to-end latency against a bare aiohttp baseline.

In one run, for each backend (SQLite; PostgreSQL when reachable), with a receiver in its own
process (bench/receiver.py) and a real `assina serve` (dispatcher in-process):

(a) baseline: this process POSTs the same number of 1 KiB bodies straight to the receiver
    with aiohttp (no database, no signing);
(b) fan-out: 10 endpoints x N customers created through the API; throughput is messages
    delivered per second, from the first API call to the last arrival (also reported: the
    messages the API wrote per second, the ceiling of that figure);
(c) latency: one endpoint, events created at a steady rate; time from the API's answer to
    the event's arrival at the receiver, p50 and p99.

    .venv/bin/python bench/webhooks.py [--events 1000] [--rate 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import DEFAULT_PG, free_port, recreate_pg, run_cli, wait_ready

ASSINA = str(Path(sys.executable).with_name("assina"))
RECEIVER = str(Path(__file__).resolve().parent / "receiver.py")
ENDPOINTS = 10
BODY = json.dumps({"padding": "x" * 1000}).encode()


async def stats(http: aiohttp.ClientSession, receiver: str) -> dict[str, object]:
    async with http.get(f"{receiver}/stats") as response:
        result: dict[str, object] = await response.json()
        return result


async def wait_count(http: aiohttp.ClientSession, receiver: str, total: int) -> float:
    """Poll the receiver until `total` deliveries arrived (bounded: 10 minutes)."""
    deadline = time.perf_counter() + 600
    while time.perf_counter() < deadline:
        if int(str((await stats(http, receiver))["count"])) >= total:
            return time.perf_counter()
        await asyncio.sleep(0.02)
    raise RuntimeError("deliveries did not all arrive in 10 minutes")


async def baseline(http: aiohttp.ClientSession, receiver: str, total: int) -> float:
    await http.post(f"{receiver}/reset")
    queue = iter(range(total))
    started = time.perf_counter()

    async def sender() -> None:
        for _ in queue:
            async with http.post(f"{receiver}/hook", data=BODY) as response:
                await response.read()

    await asyncio.gather(*(sender() for _ in range(64)))
    return total / (time.perf_counter() - started)


async def create_customers(
    http: aiohttp.ClientSession, api: str, key: str, count: int, concurrency: int = 16
) -> None:
    queue = iter(range(count))

    async def creator() -> None:
        for n in queue:
            async with http.post(
                f"{api}/v1/customers",
                json={"name": f"Cliente {n}"},
                headers={"Authorization": f"Bearer {key}"},
            ) as response:
                assert response.status == 201, await response.text()

    await asyncio.gather(*(creator() for _ in range(concurrency)))


async def bench_backend(
    backend: str, url: str, events: int, rate: float, seconds: float, workers: int
) -> dict:
    data_dir = tempfile.mkdtemp(prefix="assina-bench-")
    env = {
        **os.environ,
        "ASSINA_DATABASE_URL": url,
        "ASSINA_DATA_DIR": data_dir,
        "ASSINA_ALLOW_PRIVATE_TARGETS": "1",
        "ASSINA_LOG_LEVEL": "warning",
        # One key sends the whole load: a bucket it never empties (docs/limits.md).
        "ASSINA_API_RATE_LIMIT_BURST": "1000000000",
    }
    run_cli(env, "migrate")
    key = json.loads(run_cli(env, "tenant", "create", "Bench", "--json"))["api_key"]
    receiver_port, api_port = free_port(), free_port()
    receiver = f"http://127.0.0.1:{receiver_port}"
    api = f"http://127.0.0.1:{api_port}"
    # workers == 0: the dispatcher runs inside `serve`; else `serve --no-worker` and N workers.
    serve = [ASSINA, "serve", "--port", str(api_port), *(["--no-worker"] if workers else [])]
    processes = [
        subprocess.Popen([sys.executable, RECEIVER, str(receiver_port)]),  # noqa: ASYNC220
        subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL),  # noqa: ASYNC220
        *(
            subprocess.Popen([ASSINA, "worker"], env=env, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
            for _ in range(workers)
        ),
    ]
    try:
        await wait_ready(api)
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    await stats(http, receiver)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            total = events * ENDPOINTS
            base = await baseline(http, receiver, total)

            auth = {"Authorization": f"Bearer {key}"}
            created = []
            for _ in range(ENDPOINTS):
                async with http.post(
                    f"{api}/v1/webhook-endpoints", json={"url": f"{receiver}/hook"}, headers=auth
                ) as response:
                    created.append((await response.json())["id"])
            await http.post(f"{receiver}/reset")
            started = time.perf_counter()
            await create_customers(http, api, key, events)
            written = time.perf_counter()
            finished = await wait_count(http, receiver, total)
            fan_out = total / (finished - started)
            # The API writes events (and their messages) at this pace: the fan-out's ceiling.
            written_per_s = total / (written - started)

            for endpoint_id in created[1:]:
                await http.delete(f"{api}/v1/webhook-endpoints/{endpoint_id}", headers=auth)
            await http.post(f"{receiver}/reset")
            answered: dict[str, float] = {}
            interval = 1 / rate
            next_at = time.perf_counter()
            for n in range(int(rate * seconds)):
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
                async with http.post(
                    f"{api}/v1/customers", json={"name": f"Latência {n}"}, headers=auth
                ) as response:
                    answered_at = time.time()
                    customer_id = (await response.json())["id"]
                answered[customer_id] = answered_at
            await wait_count(http, receiver, len(answered))
            events_log = (await stats(http, receiver))["arrivals"]
            event_to_customer = await customers_by_event(http, api, auth, set(answered))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
    latencies = sorted(
        (arrived - answered[event_to_customer[event_id]]) * 1000
        for event_id, arrived in dict(events_log).items()  # type: ignore[call-overload]
        if event_to_customer.get(event_id) in answered
    )
    return {
        "backend": backend + (f", {workers} workers" if workers else ", in serve"),
        "baseline_per_s": base,
        "fan_out_per_s": fan_out,
        "ratio": fan_out / base,
        "messages_written_per_s": written_per_s,
        "latency_p50_ms": statistics.median(latencies),
        "latency_p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "latency_samples": len(latencies),
    }


async def customers_by_event(
    http: aiohttp.ClientSession, api: str, auth: dict[str, str], customers: set[str]
) -> dict[str, str]:
    """event id → customer id, for the latency run's customer.created events."""
    mapping: dict[str, str] = {}
    cursor = None
    while True:
        params = {"limit": "100", "type": "customer.created"}
        if cursor:
            params["starting_after"] = cursor
        async with http.get(f"{api}/v1/events", params=params, headers=auth) as response:
            page = await response.json()
        for event in page["data"]:
            if event["data"]["id"] in customers:
                mapping[event["id"]] = event["data"]["id"]
        if not page["has_more"]:
            return mapping
        cursor = page["data"][-1]["id"]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-workers", default="0,2", help="PostgreSQL runs: 0 = dispatcher inside serve"
    )
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='assina-bench-')}/bench.db"
            results.append(
                await bench_backend(backend, url, args.events, args.rate, args.seconds, 0)
            )
            continue
        url = os.environ.get("ASSINA_BENCH_PG_URL", DEFAULT_PG)
        for workers in (int(n) for n in args.pg_workers.split(",")):
            await recreate_pg(url)
            results.append(
                await bench_backend(backend, url, args.events, args.rate, args.seconds, workers)
            )
    print(
        "| backend | baseline msg/s | messages written/s | fan-out msg/s | ratio "
        "| latency p50 ms | p99 ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['backend']} | {r['baseline_per_s']:.0f} | {r['messages_written_per_s']:.0f} "
            f"| {r['fan_out_per_s']:.0f} | {r['ratio']:.2f} "
            f"| {r['latency_p50_ms']:.1f} | {r['latency_p99_ms']:.1f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
