"""Webhook drain: ONE `assina worker` delivering a backlog, against a bare sender in the same run.

10 endpoints of one tenant (created disabled through the API of a short-lived `assina serve
--no-worker`) on one receiver in its own process (bench/receiver.py). Each round:

- baseline: `bench/drain.py --bare-sender` in a process of its own POSTs as many 1 KiB bodies
  to the same receiver, 100 at a time (the worker's 10 endpoints x 10 sends in flight), with
  aiohttp and nothing else: no database, no signing, no recording;
- drain: N `customer.created` events (about 1 KiB of data each) and N pending messages, N/10
  per endpoint, are written straight into the database in bulk and analysed; ONE real `assina
  worker` starts with the endpoints disabled, settles, and the endpoints are enabled. Timed
  from then until the database holds every message as delivered (sent, signed and recorded:
  attempt rows and status), read every 20 ms.

    .venv/bin/python bench/drain.py [--messages 10000] [--rounds 3]
        [--backends postgresql,sqlite] [--profile DIR]

`--profile DIR` runs each drain's worker under py-spy (`pip install py-spy`), writing
DIR/<backend>-<round>.txt (collapsed stacks) and a summary of the hottest frames. PostgreSQL:
database `assina_bench_drain` on the server of ASSINA_BENCH_PG_URL, created anew and dropped
at the end. SQLite: a file in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import shutil
import signal
import statistics
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
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from assina.core.ids import new_id
from assina.webhooks.models import WebhookMessage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webhook_memory
from api import ASSINA, DEFAULT_PG, free_port, run_cli, wait_ready
from cpu import postgres_cpu_seconds, tree_cpu_seconds
from webhook_memory import Sampler, customer, stop_process

RECEIVER = str(Path(__file__).resolve().parent / "receiver.py")
DATABASE_NAME = "assina_bench_drain"
ENDPOINTS = 10
IN_FLIGHT = 100  # the worker's 10 endpoints x 10 sends in flight each
CHUNK = 5_000
READ_EVERY = 0.02
GIVE_UP_SECONDS = 300.0

Rows = list[dict[str, Any]]


# --- the bare sender, in its own process ---------------------------------------------------


async def bare_send(url: str, count: int) -> tuple[float, float]:
    """POST `count` 1 KiB bodies to `url`, IN_FLIGHT at a time: seconds from the first send to
    the last answer, and the CPU seconds this process used meanwhile."""
    stamp = datetime.now(UTC).isoformat()
    bodies = [
        json.dumps({"id": new_id("evt"), "data": customer(n, new_id("cus"), stamp)}).encode()
        for n in range(count)
    ]
    pending = iter(bodies)
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    headers = {"Content-Type": "application/json"}

    async def one_lane(http: aiohttp.ClientSession) -> None:
        for body in pending:
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                assert response.status == 204, response.status

    async with aiohttp.ClientSession(connector=connector) as http:
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one_lane(http) for _ in range(IN_FLIGHT)))
        return time.perf_counter() - started, time.process_time() - cpu


# --- the backlog and the database ----------------------------------------------------------


def backlog(
    total: int, first_sequence: int, tenant_id: str, endpoint_ids: Sequence[str], now: datetime
) -> Iterator[tuple[Rows, Rows]]:
    """Events and messages in chunks, the messages dealt to the endpoints in turn; message n is
    due n ms after the first, all by `now`."""
    first = now - timedelta(milliseconds=total)
    for start in range(0, total, CHUNK):
        events: Rows = []
        messages: Rows = []
        for n in range(start, min(total, start + CHUNK)):
            created = first + timedelta(milliseconds=n)
            ids = {"tenant_id": tenant_id, "customer_id": new_id("cus")}
            stamp = created.isoformat().replace("+00:00", "Z")
            sequence = first_sequence + n
            data = customer(sequence, ids["customer_id"], stamp)
            event = {"id": new_id("evt"), "sequence": sequence, "type": "customer.created"}
            events.append({**event, **ids, "data": data, "previous": None, "created_at": created})
            endpoint_id = endpoint_ids[n % len(endpoint_ids)]
            message: dict[str, Any] = {"id": new_id("msg"), "endpoint_id": endpoint_id, **ids}
            message |= {"event_id": event["id"], "event_type": event["type"], "status": "pending"}
            message |= dict.fromkeys(("locked_until", "last_attempt_at", "delivered_at"))
            message |= {"attempt_count": 0, "next_attempt_at": created, "created_at": created}
            messages.append(message)
        yield events, messages


class Store(webhook_memory.Store):
    """webhook_memory's store of the bench's database, and the drain's own count."""

    async def counts(self) -> dict[str, int]:
        """Messages by status, and attempts."""
        by_status = select(WebhookMessage.status, func.count()).group_by(WebhookMessage.status)
        async with self.engine.connect() as conn:
            found = {str(status): int(n) for status, n in (await conn.execute(by_status)).all()}
            attempts = await conn.execute(text("SELECT count(*) FROM webhook_attempts"))
            found["attempts"] = int(attempts.scalar_one())
        return found


# --- the run -------------------------------------------------------------------------------


@dataclass
class Round:
    baseline: float  # msg/s
    baseline_cpu_ms: float  # the bare sender's CPU time per message
    drain: float  # msg/s
    peak_mib: float
    seconds: float
    cpu_ms: float  # the worker's CPU time (user + system) per message
    postgres_cpu_ms: float | None  # the PostgreSQL server's, per message


@dataclass
class Bench:
    args: argparse.Namespace
    backend: str
    store: Store
    work: Path
    stack: contextlib.ExitStack
    http: aiohttp.ClientSession
    receiver: str = ""
    endpoint_ids: list[str] = field(default_factory=list)
    tenant_id: str = ""
    loaded: int = 0
    rounds: list[Round] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ASSINA_DATABASE_URL": self.store.url,
            "ASSINA_DATA_DIR": str(self.work),  # the same secret for the tenant and the worker
            "ASSINA_ALLOW_PRIVATE_TARGETS": "1",
            "ASSINA_LOG_LEVEL": "warning",
        }

    def spawn(self, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        with (self.work / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(args, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.stack.callback(stop_process, process)
        return process

    async def arrived(self) -> int:
        async with self.http.get(f"{self.receiver}/stats") as response:
            return int((await response.json())["count"])

    async def reset_receiver(self) -> None:
        async with self.http.post(f"{self.receiver}/reset") as response:
            assert response.status == 204

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

    async def create_endpoints(self, api_key: str) -> None:
        port = free_port()
        server = self.spawn("serve", [ASSINA, "serve", "--no-worker", "--port", str(port)])
        endpoints = f"http://127.0.0.1:{port}/v1/webhook-endpoints"
        auth = {"Authorization": f"Bearer {api_key}"}
        try:
            await wait_ready(f"http://127.0.0.1:{port}")
            for n in range(ENDPOINTS):
                body = {"url": f"{self.receiver}/hook?endpoint={n}", "event_types": ["*"]}
                async with self.http.post(
                    endpoints, json={**body, "enabled": False}, headers=auth
                ) as response:
                    assert response.status == 201, await response.text()
                    self.endpoint_ids.append((await response.json())["id"])
        finally:
            stop_process(server)

    async def prepare(self) -> None:
        await self.store.create()
        run_cli(self.env, "migrate")
        tenant = json.loads(run_cli(self.env, "tenant", "create", "Bench drain", "--json"))
        self.tenant_id = tenant["tenant_id"]
        await self.start_receiver()
        await self.create_endpoints(tenant["api_key"])

    async def baseline(self) -> tuple[float, float]:
        """(msg/s, CPU ms per message) of the bare sender."""
        await self.reset_receiver()
        count = self.args.messages
        sender = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--bare-sender",
            f"{self.receiver}/hook",
            str(count),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await sender.communicate()
        assert sender.returncode == 0, sender.returncode
        assert await self.arrived() == count
        seconds, cpu = (float(value) for value in out.decode().split())
        return count / seconds, cpu * 1000 / count

    def worker_command(self, label: str) -> list[str]:
        if self.args.profile is None:
            return [ASSINA, "worker"]
        out = Path(self.args.profile) / f"{label}.txt"
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        return [
            spy,
            "record",
            "--format",
            "raw",
            "--rate",
            "250",
            "-o",
            str(out),
            "--",
            ASSINA,
            "worker",
        ]

    async def drain(self, label: str) -> tuple[float, float, float, float, float | None]:
        """(msg/s, seconds, peak RSS MiB, worker CPU ms per message, PostgreSQL's CPU ms per
        message) for a fresh backlog of N messages."""
        count = self.args.messages
        chunks = backlog(
            count, self.loaded + 1, self.tenant_id, self.endpoint_ids, datetime.now(UTC)
        )
        await self.store.load(chunks, self.loaded + count)
        self.loaded += count
        already = await self.store.delivered()
        await self.reset_receiver()
        worker = self.spawn("worker", self.worker_command(label))
        worker_pid = worker.pid if self.args.profile is None else await child_pid(worker.pid)
        sampler = Sampler(worker_pid)
        sampling = asyncio.create_task(sampler.run())
        try:
            await sampler.settled(worker)
            cpu_before, postgres_before = tree_cpu_seconds(worker_pid), postgres_cpu_seconds()
            await self.store.set_enabled(self.endpoint_ids, True)
            started = time.perf_counter()
            while await self.store.delivered() < already + count:
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited ({worker.returncode})")
                if time.perf_counter() - started > GIVE_UP_SECONDS:
                    raise RuntimeError("the drain did not end")
                await asyncio.sleep(READ_EVERY)
            seconds = time.perf_counter() - started
            cpu_ms = (tree_cpu_seconds(worker_pid) - cpu_before) * 1000 / count
            postgres_ms = (postgres_cpu_seconds() - postgres_before) * 1000 / count
        finally:
            sampling.cancel()
        peak = max(hwm for _, _, hwm in sampler.samples) / 1024
        await self.store.set_enabled(self.endpoint_ids, False)
        worker.send_signal(signal.SIGINT if self.args.profile else signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=60)
        stop_process(worker)
        assert await self.arrived() >= count
        return count / seconds, seconds, peak, cpu_ms, postgres_ms if self.store.postgres else None

    async def run(self) -> None:
        await self.prepare()
        for n in range(self.args.rounds):
            base, base_cpu = await self.baseline()
            rate, seconds, peak, cpu_ms, pg_ms = await self.drain(f"{self.backend}-{n + 1}")
            self.rounds.append(Round(base, base_cpu, rate, peak, seconds, cpu_ms, pg_ms))
            print(
                f"{self.backend} round {n + 1}: bare {base:.0f} msg/s, drain {rate:.0f} msg/s "
                f"({seconds:.2f} s, ratio {rate / base:.2f}), CPU ms/msg bare {base_cpu:.3f} "
                f"worker {cpu_ms:.3f} PostgreSQL {pg_ms or 0:.3f}, "
                f"peak RSS {peak:.0f} MiB",
                flush=True,
            )
        counts = await self.store.counts()
        expected = self.args.messages * self.args.rounds
        assert counts.get("delivered") == expected, counts
        assert counts["attempts"] >= expected, counts


async def child_pid(pid: int) -> int:
    """The worker py-spy started (its only child)."""
    for _ in range(200):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{pid}/children") as children:  # noqa: ASYNC230 - procfs
            found = children.read().split()
            if found:
                return int(found[0])
        await asyncio.sleep(0.05)
    raise RuntimeError("py-spy started no worker")


def summarize_profile(path: Path, top: int = 25) -> str:
    """The frames where the worker spent its samples (self and total), from py-spy's raw
    (collapsed) stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    lines = [f"{path.name}: {samples} samples", "", "self %  frame"]
    lines += [f"{100 * n / samples:5.1f}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "total %  frame (assina only)"]
    ours = [(frame, n) for frame, n in total.most_common() if "assina" in frame]
    lines += [f"{100 * n / samples:5.1f}  {frame}" for frame, n in ours[:top]]
    return "\n".join(lines)


def table(results: dict[str, list[Round]]) -> str:
    lines = [
        "| backend | round | bare sender msg/s | drain msg/s | ratio | drain s "
        "| bare sender CPU ms/msg | worker CPU ms/msg | PostgreSQL CPU ms/msg "
        "| worker peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for backend, rounds in results.items():
        for n, r in enumerate(rounds, 1):
            postgres = "" if r.postgres_cpu_ms is None else f"{r.postgres_cpu_ms:.3f}"
            lines.append(
                f"| {backend} | {n} | {r.baseline:.0f} | {r.drain:.0f} "
                f"| {r.drain / r.baseline:.2f} | {r.seconds:.2f} | {r.baseline_cpu_ms:.3f} "
                f"| {r.cpu_ms:.3f} | {postgres} | {r.peak_mib:.0f} |"
            )
        ratios = [r.drain / r.baseline for r in rounds]
        cpu = statistics.median(r.cpu_ms for r in rounds)
        lines.append(
            f"| {backend} | median | | | {statistics.median(ratios):.2f} | | | {cpu:.3f} | | |"
        )
    return "\n".join(lines)


async def run_backend(args: argparse.Namespace, backend: str) -> list[Round]:
    work = Path(tempfile.mkdtemp(prefix="assina-bench-drain-"))
    if backend == "sqlite":
        store = Store(f"sqlite+aiosqlite:///{work / 'bench.db'}")
    else:
        base = make_url(os.environ.get("ASSINA_BENCH_PG_URL", DEFAULT_PG))
        store = Store(base.set(database=DATABASE_NAME).render_as_string(False))
    try:
        with contextlib.ExitStack() as stack:
            async with aiohttp.ClientSession() as http:
                bench = Bench(args, backend, store, work, stack, http)
                await bench.run()
                return bench.rounds
    finally:
        await store.drop()
        shutil.rmtree(work, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--profile", help="a folder for py-spy's profiles of each drain")
    parser.add_argument("--bare-sender", nargs=2, metavar=("URL", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_sender:
        url, count = args.bare_sender
        print(*await bare_send(url, int(count)))
        return
    main_task = asyncio.current_task()
    if main_task is not None:  # SIGTERM unwinds like Ctrl-C: processes stopped, database dropped
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    profiles = Path(args.profile) if args.profile else None
    if profiles is not None:
        profiles.mkdir(parents=True, exist_ok=True)
    results = {backend: await run_backend(args, backend) for backend in args.backends.split(",")}
    print()
    print(table(results))
    if profiles is not None:
        for path in sorted(profiles.glob("*.txt")):
            print()
            print(summarize_profile(path))


if __name__ == "__main__":
    asyncio.run(main())
