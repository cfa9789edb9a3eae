"""Chaos on PostgreSQL (issue 13, "Faults"): `assina serve` and three `assina worker` processes
under a steady load of API writes, while a seeded random script SIGKILLs a random process at
random moments (and starts it again), crashes and restarts PostgreSQL once, and takes the
webhook receiver down for a while. Afterwards, once the outbox has drained:

- every event committed after the endpoint was created has its message, and the receiver
  answered 2xx to each (0 lost);
- duplicates at the receiver are at most the deliveries that were in flight when a worker or
  the database died (see `in_flight_at`);
- no message is left pending, failed or leased;
- no request was answered 5xx except 503 while PostgreSQL was down or just restarting;
- each write, retried with its Idempotency-Key through kills and the crash, was done once.

It runs its own PostgreSQL cluster (initdb in a temporary directory), never the shared server.
`ASSINA_CHAOS_SEED` replays a run; the seed is printed either way.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from assina.db.database import create_engine
from tests.integration.chaos_support import (
    ASSINA,
    Answer,
    CarefulClient,
    ChaosReceiver,
    Supervised,
    ThrowawayPostgres,
    assina_env,
    free_port,
    postgres_binaries_missing,
)

LOAD_SECONDS = 40.0
WRITERS = 3
KILLS = 6
# Not shorter than a send's timeout (15 s): only a dead worker's leases are ever taken over.
LEASE_SECONDS = 15
RECEIVER_DOWN_SECONDS = 8.0
# After PostgreSQL answers again, how long a 503 may still come: the pooled connections of
# the crashed server fail once each before the pool lets them go.
RESTART_GRACE_SECONDS = 5.0
DRAIN_LIMIT_SECONDS = 90.0
# Many short retries: the receiver's downtime and the crash must not spend a message's schedule.
RETRY_SCHEDULE = [1, 1, 1, 2, 2, 2, *[3] * 14]

skip_reason = postgres_binaries_missing()
pytestmark = pytest.mark.skipif(skip_reason is not None, reason=skip_reason or "")


@dataclass
class Chaos:
    """What the script did, and what it measured at each blow."""

    seed: int
    kills: list[str] = field(default_factory=list)
    # Messages still leased just after each fault: an upper bound of the deliveries it cut.
    in_flight: list[int] = field(default_factory=list)
    database_down: tuple[float, float] | None = None  # monotonic, crash start to ready

    def allows_503(self, answer: Answer) -> bool:
        if self.database_down is None or answer.status != 503:
            return False
        start, ready = self.database_down
        return start <= answer.at <= ready + RESTART_GRACE_SECONDS


async def in_flight_at(engine: AsyncEngine, moment: datetime) -> int:
    """Pending messages whose lease was running at `moment` and had been taken by then (their
    lease ends within one lease of it). A worker killed at `moment` leaves every delivery it had
    started unrecorded and leased, so this counts them, plus other workers' leases: the bound
    is loose, never short."""
    query = text(
        "SELECT count(*) FROM webhook_messages WHERE status = 'pending' "
        "AND locked_until > :moment AND locked_until <= :latest"
    )
    latest = moment + timedelta(seconds=LEASE_SECONDS)
    async with engine.connect() as connection:
        return int((await connection.execute(query, {"moment": moment, "latest": latest})).scalar())


async def kill_one(
    chaos: Chaos, rng: random.Random, processes: list[Supervised], engine: AsyncEngine
) -> None:
    victim = rng.choice(processes)
    for _ in range(100):  # one that exited (it started while the database was down) restarts
        if victim.running():
            break
        await asyncio.sleep(0.1)
    victim.kill()
    killed_at = datetime.now(UTC)
    chaos.kills.append(victim.name)
    if victim.name != "serve":  # serve runs no dispatcher (--no-worker)
        chaos.in_flight.append(await in_flight_at(engine, killed_at))
    await asyncio.sleep(rng.uniform(0.3, 2.0))
    victim.ensure_running()


async def crash_database(chaos: Chaos, cluster: ThrowawayPostgres, engine: AsyncEngine) -> None:
    started = time.monotonic()
    crashed_at = datetime.now(UTC)
    await asyncio.to_thread(cluster.crash_and_restart)
    chaos.database_down = (started, time.monotonic())
    await engine.dispose()  # the test's own connections died with the server
    chaos.in_flight.append(await in_flight_at(engine, crashed_at))


async def receiver_outage(receiver: ChaosReceiver) -> None:
    receiver.down = True
    await asyncio.sleep(RECEIVER_DOWN_SECONDS)
    receiver.down = False


async def run_script(
    seed: int,
    cluster: ThrowawayPostgres,
    engine: AsyncEngine,
    processes: list[Supervised],
    receiver: ChaosReceiver,
) -> Chaos:
    """The blows at seeded random moments within the load, one at a time (a kill never lands
    while the database restarts, so each in-flight count can be read)."""
    rng = random.Random(seed)  # a replayable script
    chaos = Chaos(seed)
    blows: list[tuple[float, Callable[[], Awaitable[None]]]] = [
        (rng.uniform(3, LOAD_SECONDS - 6), lambda: kill_one(chaos, rng, processes, engine))
        for _ in range(KILLS)
    ]
    crash_at = rng.uniform(8, LOAD_SECONDS - 10)
    blows.append((crash_at, lambda: crash_database(chaos, cluster, engine)))
    outage_at = rng.uniform(4, LOAD_SECONDS - RECEIVER_DOWN_SECONDS - 4)
    outage = asyncio.create_task(_after(outage_at, lambda: receiver_outage(receiver)))
    began = time.monotonic()
    for moment, blow in sorted(blows, key=lambda pair: pair[0]):
        await asyncio.sleep(max(0.0, began + moment - time.monotonic()))
        await blow()
    await outage
    return chaos


async def _after(seconds: float, action: Callable[[], Awaitable[None]]) -> None:
    await asyncio.sleep(seconds)
    await action()


async def supervise(processes: list[Supervised], stop: asyncio.Event) -> None:
    """Start again whatever is not running, as systemd would (a process that started while the
    database was down exits)."""
    while not stop.is_set():
        for process in processes:
            process.ensure_running()
        await asyncio.sleep(0.3)


async def write_steadily(client: CarefulClient, writer: int, until: float) -> None:
    """Customers, charges, settlements and products: each raises events."""
    due = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    n = 0
    while time.monotonic() < until:
        n += 1
        customer = await client.call("POST", "/v1/customers", {"name": f"Cliente {writer}-{n}"})
        lines = [{"description": "Mensalidade", "amount": 10_000 + n}]
        charge = await client.call(
            "POST",
            "/v1/charges",
            {"customer_id": customer["id"], "items": lines, "due_date": due},
        )
        if n % 2 == 0:
            await client.call("POST", f"/v1/charges/{charge['id']}/settle", {})
        if n % 5 == 0:
            await client.call("POST", "/v1/products", {"name": f"Aula {writer}-{n}", "amount": n})
        await asyncio.sleep(0.02)


async def wait_drained(engine: AsyncEngine) -> float:
    started = time.monotonic()
    query = text("SELECT count(*) FROM webhook_messages WHERE status = 'pending'")
    while time.monotonic() - started < DRAIN_LIMIT_SECONDS:
        async with engine.connect() as connection:
            if (await connection.execute(query)).scalar() == 0:
                return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise AssertionError(f"the outbox did not drain in {DRAIN_LIMIT_SECONDS} s")


async def lost_events(engine: AsyncEngine, endpoint_id: str) -> list[str]:
    """Events committed since the endpoint exists that have no message for it."""
    query = text(
        "SELECT e.id FROM events e JOIN webhook_endpoints w ON w.id = :endpoint "
        "WHERE e.tenant_id = w.tenant_id AND e.created_at >= w.created_at "
        "AND NOT EXISTS (SELECT 1 FROM webhook_messages m "
        "WHERE m.event_id = e.id AND m.endpoint_id = w.id)"
    )
    async with engine.connect() as connection:
        return list((await connection.execute(query, {"endpoint": endpoint_id})).scalars())


async def messages_by_state(engine: AsyncEngine, endpoint_id: str) -> dict[str, set[str]]:
    query = text(
        "SELECT id, status, locked_until IS NOT NULL FROM webhook_messages "
        "WHERE endpoint_id = :endpoint"
    )
    states: dict[str, set[str]] = {"delivered": set(), "other": set(), "leased": set()}
    async with engine.connect() as connection:
        for message_id, status, leased in await connection.execute(
            query, {"endpoint": endpoint_id}
        ):
            states["delivered" if status == "delivered" else "other"].add(message_id)
            if leased:
                states["leased"].add(message_id)
    return states


async def stored_ids(engine: AsyncEngine) -> list[str]:
    """Every customer, charge and product stored (the endpoint too)."""
    query = text(
        "SELECT id FROM customers UNION ALL SELECT id FROM charges "
        "UNION ALL SELECT id FROM products UNION ALL SELECT id FROM webhook_endpoints"
    )
    async with engine.connect() as connection:
        return list((await connection.execute(query)).scalars())


def log_tails(processes: list[Supervised]) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.log_path.read_text(errors='replace')[-3000:]}" for p in processes
    )


async def test_no_message_is_lost_through_kills_a_database_crash_and_a_receiver_outage(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("ASSINA_CHAOS_SEED") or random.SystemRandom().randrange(10**6))
    print(f"chaos seed {seed} (ASSINA_CHAOS_SEED={seed} replays the script)")
    cluster = ThrowawayPostgres()
    receiver = ChaosReceiver()
    receiver_runner = await receiver.serve()
    engine = create_engine(cluster.url, pool_size=2)
    stop_supervising = asyncio.Event()
    processes: list[Supervised] = []
    try:
        await asyncio.to_thread(cluster.start)
        env = assina_env(cluster.url, tmp_path, LEASE_SECONDS)
        api_key = await _migrate_and_create_tenant(env)
        port = free_port()
        serve = [ASSINA, "serve", "--no-worker", "--port", str(port)]
        processes = [Supervised("serve", serve, env, tmp_path / "serve.log")]
        for n in (1, 2, 3):
            processes.append(
                Supervised(f"worker-{n}", [ASSINA, "worker"], env, tmp_path / f"worker-{n}.log")
            )
        for process in processes:
            process.start()
        supervisor = asyncio.create_task(supervise(processes, stop_supervising))
        async with aiohttp.ClientSession() as http:
            client = CarefulClient(http, f"http://127.0.0.1:{port}", api_key)
            await client.wait_ready()
            await client.call("PATCH", "/v1/webhook-settings", {"retry_schedule": RETRY_SCHEDULE})
            endpoint = await client.call("POST", "/v1/webhook-endpoints", {"url": receiver.url})
            until = time.monotonic() + LOAD_SECONDS
            load = [write_steadily(client, writer, until) for writer in range(WRITERS)]
            script = run_script(seed, cluster, engine, processes, receiver)
            chaos, *_ = await asyncio.gather(script, *load)
            drain_seconds = await wait_drained(engine)
        stop_supervising.set()
        await supervisor

        lost = await lost_events(engine, endpoint["id"])
        states = await messages_by_state(engine, endpoint["id"])
        duplicates = sum(count - 1 for count in receiver.delivered.values())
        bound = sum(chaos.in_flight)
        unexpected = [a for a in client.server_errors if not chaos.allows_503(a)]
        print(
            f"seed {seed}: {client.calls} API writes, {len(states['delivered'])} messages, "
            f"kills {chaos.kills}, in flight at the faults {chaos.in_flight}, "
            f"{duplicates} duplicates (bound {bound}), {receiver.refused} refused while down, "
            f"{len(client.server_errors)} 5xx ({len(unexpected)} unexpected), "
            f"{client.dropped} dropped connections, drained in {drain_seconds:.1f} s"
        )
        assert chaos.database_down is not None
        assert len(chaos.kills) == KILLS, "a victim was not running when its turn came"
        assert lost == [], f"events without a message: {lost[:5]}"
        assert states["other"] == set(), "messages neither delivered nor pending-free"
        assert states["delivered"] <= set(receiver.delivered), "delivered but never received"
        assert states["leased"] == set(), "messages left leased"
        assert duplicates <= bound
        # Each write retried through kills and the crash took effect exactly once.
        assert sorted(await stored_ids(engine)) == sorted(client.created)
        assert unexpected == [], log_tails(processes)
    finally:
        stop_supervising.set()
        for process in processes:
            process.stop()
        await engine.dispose()
        await receiver_runner.cleanup()
        await asyncio.to_thread(cluster.stop)


async def _migrate_and_create_tenant(env: dict[str, str]) -> str:
    import json

    async def cli(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            ASSINA, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    await cli("migrate")
    created = json.loads(await cli("tenant", "create", "Escola Caos", "--json"))
    api_key: str = created["api_key"]
    return api_key
