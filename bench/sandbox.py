"""A year of a sandbox tenant with 1,000 contracts, advanced through the API (issue 12).

For each backend this seeds three tenants in a fresh database: a sandbox tenant with N
customers (each with an e-mail address) and N active monthly contracts of R$ 199,90 whose
billing days are spread over the month, a live tenant seeded the same way (the baseline's
"twin"), and an empty live tenant (the "other" tenant). The two seeded tenants each have a
webhook endpoint for every event type (no worker runs, so nothing is delivered: what is
measured is the writing of the year, its messages included). Nine customers in ten pay: after
every step, their open charges are settled by an UPDATE (not measured; a charge is issued 10
days before it is due, so paying every 10 days is paying on time). The tenth never pays and is
dunned: delinquent, suspended, its contract cancelled.

1. Baseline, in this process: the twin's year walked day by day by `run_calendar(day=D,
   tenant_id=…)`, in the same steps as the advances (each step runs the day it starts on
   again, as an advance does), with the same Database layer.
2. A real `assina serve --no-worker` process; `POST /v1/test-clock/advance {"days": 10}`
   for the sandbox tenant, step after step until 365 days have passed, timed from this
   process. The year must write exactly what the baseline's did (charges, e-mails, dunning).
3. During every advance, the other tenant's `GET /v1/tenant` and `POST /v1/customers`, one
   after another, with their latency; and the same requests on the idle server before.

    .venv/bin/python bench/sandbox.py [--contracts 1000] [--backends sqlite,postgresql]

PostgreSQL: database `assina_bench_sandbox` on ASSINA_BENCH_PG_URL's server (default
postgres@127.0.0.1:5432), created anew and dropped at the end. SQLite: a temporary file.
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
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select, update

from assina import reactions
from assina.calendar.run import CalendarReport, run_calendar
from assina.charges.models import Charge
from assina.core.clock import SystemClock
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.db import migrate
from assina.db.database import Database
from assina.notifications.models import Email
from assina.tenants.schemas import CreatedTenant
from assina.tenants.service import create_tenant
from assina.webhooks.schemas import EndpointCreate
from assina.webhooks.service import create_endpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import ASSINA, free_port, recreate_pg, wait_ready
from billing import ZONE, bench_contract, bench_customer, drop_pg

PG_URL = os.environ.get(
    "ASSINA_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench_sandbox"
)
KEY = "s" * 43
DAYS = 365
STEPS = [10] * 36 + [5]  # days per advance: a year
NON_PAYER_EVERY = 10  # one customer in ten never pays
IDLE_PROBES = 50


@dataclass
class Latency:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        ordered = sorted(seconds)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return cls(len(ordered), statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000)


@dataclass
class Result:
    backend: str
    contracts: int
    days: int
    baseline_seconds: float
    baseline_ms_per_day: float
    advance_seconds: float
    advance_ms_per_day: float
    ratio_to_baseline: float
    charges: int
    emails: int
    dunning_moves: int
    get_idle: Latency
    get_during: Latency
    post_idle: Latency
    post_during: Latency


async def seed(database: Database, contracts: int, today: date) -> dict[str, CreatedTenant]:
    clock = SystemClock()
    box = SecretBox(KEY)
    tenants: dict[str, CreatedTenant] = {}
    async with database.write() as session:
        for name, sandbox in (("sandbox", True), ("twin", False), ("other", False)):
            tenants[name] = await create_tenant(session, clock, box, name, ZONE, sandbox=sandbox)
        for name in ("sandbox", "twin"):
            hook = EndpointCreate(url="http://127.0.0.1:9/hook", event_types=["*"])
            await create_endpoint(session, clock, box, tenants[name].tenant_id, hook, True, 1)
    for name in ("sandbox", "twin"):
        tenant_id = tenants[name].tenant_id
        customers = [bench_customer(tenant_id, number) for number in range(1, contracts + 1)]
        async with database.write() as session:
            session.add_all(customers)
            await session.flush()  # no ORM relationship orders the two tables
            session.add_all(
                bench_contract(
                    tenant_id,
                    customer.id,
                    customer.number,
                    # Billing days spread over the month, each first charge issued on its
                    # issue day (10 days before it is due), none of them already late.
                    start=today + timedelta(days=10 + customer.number % 28),
                )
                for customer in customers
            )
    return tenants


async def walk_day_by_day(
    database: Database, tenant_id: str, today: date
) -> tuple[CalendarReport, float]:
    """The baseline: the twin's year, a `run_calendar` pass for each day, in the advances'
    steps, the payers settling after each step (not timed)."""
    report = CalendarReport()
    seconds = 0.0
    start = today
    for step in STEPS:
        started = time.perf_counter()
        for offset in range(step + 1):  # the step's first day again, as an advance does
            day = start + timedelta(days=offset)
            passed = await run_calendar(database, SystemClock(), day=day, tenant_id=tenant_id)
            report.charges_issued += passed.charges_issued
            report.dunning.add(passed.dunning)
            report.failed += passed.failed
        seconds += time.perf_counter() - started
        start += timedelta(days=step)
        await settle_payers(database, tenant_id)
    return report, seconds


async def settle_payers(database: Database, tenant_id: str) -> None:
    """Every open charge of the customers who pay, settled (bench set-up, not an API call)."""
    payers = select(Customer.id).where(
        Customer.tenant_id == tenant_id, Customer.number % NON_PAYER_EVERY != 0
    )
    now = datetime.now(UTC)
    async with database.write() as session:
        await session.execute(
            update(Charge)
            .where(
                Charge.tenant_id == tenant_id,
                Charge.status == "open",
                Charge.customer_id.in_(payers),
            )
            .values(
                status="settled",
                settled_at=now,
                settled_amount=Charge.amount,
                settlement_method="pix",
                updated_at=now,
            )
        )


async def counts(database: Database, tenant_id: str) -> tuple[int, int]:
    async with database.read() as session:
        charges = await session.scalar(
            select(func.count()).select_from(Charge).where(Charge.tenant_id == tenant_id)
        )
        emails = await session.scalar(
            select(func.count()).select_from(Email).where(Email.tenant_id == tenant_id)
        )
    return int(charges or 0), int(emails or 0)


class Prober:
    """The other tenant's requests, one after another, timed."""

    def __init__(self, http: httpx.AsyncClient, api_key: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.gets: list[float] = []
        self.posts: list[float] = []
        self.created = 0

    async def once(self) -> None:
        started = time.perf_counter()
        response = await self.http.get("/v1/tenant", headers=self.headers)
        self.gets.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        self.created += 1
        body = {"name": f"Cliente {self.created}", "email": f"c{self.created}@example.com"}
        started = time.perf_counter()
        response = await self.http.post("/v1/customers", json=body, headers=self.headers)
        self.posts.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text

    async def until(self, done: asyncio.Task[httpx.Response]) -> None:
        while not done.done():
            await self.once()


def start_server(url: str, directory: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
    env.update(
        ASSINA_DATABASE_URL=url,
        ASSINA_DATA_DIR=directory,
        ASSINA_SECRET_KEY=KEY,
        ASSINA_LOG_LEVEL="warning",
        # The other tenant's requests come one after another for the whole year: a bucket
        # they never empty, as in bench/api.py (bench/rate_limits.py measures the limits).
        ASSINA_API_RATE_LIMIT_BURST="1000000000",
    )
    command = [ASSINA, "serve", "--no-worker", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def advance_the_year(
    base: str, database: Database, tenants: dict[str, CreatedTenant]
) -> tuple[float, dict[str, int], Prober, Prober]:
    """The sandbox's year, an advance per step, the payers settling after each (not timed);
    the other tenant probed during every advance."""
    totals = {"days": 0, "charges_issued": 0, "status_changes": 0, "failed": 0}
    seconds = 0.0
    async with httpx.AsyncClient(base_url=base, timeout=900) as http:
        idle = Prober(http, tenants["other"].api_key)
        for _ in range(IDLE_PROBES):
            await idle.once()
        during = Prober(http, tenants["other"].api_key)
        during.created = idle.created
        headers = {"Authorization": f"Bearer {tenants['sandbox'].api_key}"}
        for step in STEPS:
            started = time.perf_counter()
            advance = asyncio.create_task(
                http.post("/v1/test-clock/advance", json={"days": step}, headers=headers)
            )
            await during.until(advance)
            response = await advance
            seconds += time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"advance failed: {response.status_code} {response.text}")
            advanced = response.json()
            totals["days"] += advanced["days"]
            totals["charges_issued"] += advanced["charges_issued"]
            totals["status_changes"] += advanced["dunning"]["status_changes"]
            totals["failed"] += len(advanced["failed"])
            await settle_payers(database, tenants["sandbox"].tenant_id)
    return seconds, totals, idle, during


async def run_backend(backend: str, url: str, contracts: int, directory: str) -> Result:
    if backend == "postgresql":
        await recreate_pg(url)
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    database = Database.from_url(url, pool_size=2)
    try:
        await migrate.upgrade(database.engine)
        tenants = await seed(database, contracts, today)
        walked, baseline_seconds = await walk_day_by_day(database, tenants["twin"].tenant_id, today)
        port = free_port()
        server = start_server(url, directory, port)
        try:
            await wait_ready(f"http://127.0.0.1:{port}")
            seconds, advanced, idle, during = await advance_the_year(
                f"http://127.0.0.1:{port}", database, tenants
            )
        finally:
            server.terminate()
            server.wait(timeout=60)
        sandbox_counts = await counts(database, tenants["sandbox"].tenant_id)
        twin_counts = await counts(database, tenants["twin"].tenant_id)
    finally:
        await database.dispose()
    if (
        sandbox_counts != twin_counts
        or advanced["failed"]
        or walked.failed
        or advanced["charges_issued"] != walked.charges_issued
        or advanced["status_changes"] != walked.dunning.status_changes
    ):
        raise RuntimeError(f"the advances and the walk differ: {advanced} {walked}")
    days = advanced["days"]
    return Result(
        backend=backend,
        contracts=contracts,
        days=days,
        baseline_seconds=baseline_seconds,
        baseline_ms_per_day=baseline_seconds / days * 1000,
        advance_seconds=seconds,
        advance_ms_per_day=seconds / days * 1000,
        ratio_to_baseline=seconds / baseline_seconds,
        charges=sandbox_counts[0],
        emails=sandbox_counts[1],
        dunning_moves=advanced["status_changes"],
        get_idle=Latency.of(idle.gets),
        get_during=Latency.of(during.gets),
        post_idle=Latency.of(idle.posts),
        post_during=Latency.of(during.posts),
    )


def print_tables(results: list[Result]) -> None:
    print(
        "| backend | contracts | days | charges | e-mails | dunning moves | baseline s "
        "| baseline ms/day | advance s | advance ms/day | advance / baseline |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r.backend} | {r.contracts} | {r.days} | {r.charges} | {r.emails} "
            f"| {r.dunning_moves} | {r.baseline_seconds:.1f} | {r.baseline_ms_per_day:.0f} "
            f"| {r.advance_seconds:.1f} | {r.advance_ms_per_day:.0f} "
            f"| {r.ratio_to_baseline:.2f} |"
        )
    print()
    print(
        "| backend | request | idle p50 / p99 / max ms "
        "| during the advance: n, p50 / p99 / max ms |"
    )
    print("| --- | --- | --- | --- |")
    for r in results:
        for name, idle, during in (
            ("GET /v1/tenant", r.get_idle, r.get_during),
            ("POST /v1/customers", r.post_idle, r.post_during),
        ):
            print(
                f"| {r.backend} | {name} | {idle.p50_ms:.1f} / {idle.p99_ms:.1f} / "
                f"{idle.max_ms:.1f} | {during.count}, {during.p50_ms:.1f} / "
                f"{during.p99_ms:.1f} / {during.max_ms:.1f} |"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=1_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    reactions.install()  # the baseline's passes emit events in this process
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for backend in args.backends.split(","):
            url = PG_URL if backend == "postgresql" else f"sqlite+aiosqlite:///{directory}/s.db"
            result = await run_backend(backend, url, args.contracts, directory)
            print(json.dumps(asdict(result)), flush=True)
            results.append(result)
    if "postgresql" in args.backends:
        await drop_pg(PG_URL)
    print_tables(results)


if __name__ == "__main__":
    asyncio.run(main())
