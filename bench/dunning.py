"""One dunning pass over many customers, some of them overdue (issue #5).

For each backend this seeds one tenant with N customers (each with an e-mail address), each
with one open charge: a tenth fell due 5 days before the pass day, the rest fall due 20 days
after it (beyond the reminder horizon: nothing to do for them). One webhook endpoint takes
every event type (never delivered to: no worker runs). The pass day is the real today in
America/Sao_Paulo (a live tenant's calendar runs only for its real today). Then it runs the
real command, `assina billing run`, in a subprocess, and reports its wall time and peak memory.
The pass moves every overdue customer to `delinquent` (N/10 `customer.status_changed` events
and messages) and queues their overdue notice (N/10 e-mails).

Baseline, measured in the same run on the same database: bare write transactions that each
lock one batch of 200 overdue customers' rows (BEGIN; SELECT … FOR UPDATE; COMMIT), the floor
of a pass that takes the customers a batch at a time.

    .venv/bin/python bench/dunning.py [--customers 100000] [--backends sqlite,postgresql]
        [--profile DIR]

`--profile DIR` runs the pass under py-spy (`pip install py-spy`), writing DIR/<backend>.txt
(collapsed stacks, with idle frames) and printing a summary of the hottest frames (bench/drain.py's
`summarize_profile`). The pass's seconds are then py-spy's too (sampling slows it a little):
compare them with each other, not with a run without it. PostgreSQL: the database of
ASSINA_BENCH_PG_URL (default `assina_bench_dunning`), created anew and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from assina.charges.models import Charge
from assina.core.clock import FrozenClock
from assina.core.ids import new_id
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.db import migrate
from assina.db.database import Database
from assina.dunning.run import BATCH
from assina.notifications.models import Email
from assina.tenants.service import create_tenant
from assina.webhooks.models import WebhookMessage
from assina.webhooks.schemas import EndpointCreate
from assina.webhooks.service import create_endpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import ASSINA, recreate_pg
from billing import ZONE, ChildRun, bench_customer, billing_run, drop_pg, real_today
from drain import summarize_profile

PG_URL = os.environ.get(
    "ASSINA_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench_dunning"
)
NOW = datetime.now(UTC)
DAY = NOW.astimezone(ZoneInfo(ZONE)).date()  # the pass day: the tenant's real today
SEED_CHUNK = 5_000
OVERDUE_EVERY = 10
KEY = "d" * 43


@dataclass
class Result:
    backend: str
    customers: int
    overdue: int
    baseline_customers_per_s: float
    pass_seconds: float
    peak_rss_mb: float
    delinquent: int
    messages: int
    emails: int


async def seed(database: Database, customers: int) -> None:
    clock = FrozenClock(NOW)
    async with database.write() as session:
        tenant = await create_tenant(session, clock, SecretBox(KEY), "Bench", ZONE)
        hook = EndpointCreate(url="http://127.0.0.1:9/hook", event_types=["*"])
        await create_endpoint(session, clock, SecretBox(KEY), tenant.tenant_id, hook, True, 1)
    for first in range(1, customers + 1, SEED_CHUNK):
        numbers = range(first, min(first + SEED_CHUNK, customers + 1))
        rows = [bench_customer(tenant.tenant_id, number) for number in numbers]
        async with database.write() as session:
            session.add_all(rows)
            await session.flush()  # no ORM relationship orders the two tables
            session.add_all(_charge(tenant.tenant_id, row) for row in rows)


def _charge(tenant_id: str, customer: Customer) -> Charge:
    overdue = customer.number % OVERDUE_EVERY == 0
    item = {"product_id": None, "description": "Mensalidade", "quantity": 1, "amount": 19990}
    return Charge(
        id=new_id("chg"),
        tenant_id=tenant_id,
        number=customer.number,
        customer_id=customer.id,
        contract_id=None,
        period_start=None,
        period_end=None,
        items=[item],
        amount=19990,
        currency="BRL",
        due_date=DAY - timedelta(days=5) if overdue else DAY + timedelta(days=20),
        status="open",
        payment_method="pix",
        settled_at=None,
        settled_amount=None,
        settlement_method=None,
        fine_amount=0,
        interest_amount=0,
        pix_code=None,
        boleto_line=None,
        dunning_exempt=False,
        metadata_={},
        # Issued before its due date: a charge issued late counts overdue from its issue
        # day (late_issue_grace), and this bench wants 5 days overdue.
        created_at=NOW - timedelta(days=30),
        updated_at=NOW - timedelta(days=30),
    )


async def baseline(database: Database) -> float:
    """Overdue customers per second through bare write transactions that each lock BATCH."""
    async with database.read() as session:
        overdue = (
            select(Charge.customer_id).where(Charge.due_date < DAY).order_by(Charge.customer_id)
        )
        ids = list((await session.scalars(overdue)).all())
    started = time.perf_counter()
    for first in range(0, len(ids), BATCH):
        locked = select(Customer.id).where(Customer.id.in_(ids[first : first + BATCH]))
        async with database.write() as session:
            await session.execute(locked.with_for_update())
    return len(ids) / (time.perf_counter() - started)


async def count(database: Database, statement: object) -> int:
    async with database.read() as session:
        return int(await session.scalar(statement) or 0)  # type: ignore[call-overload]


def profiled_billing_run(url: str, directory: str, profile: Path) -> ChildRun:
    """billing_run's command under `py-spy record` (no peak memory: py-spy is the parent)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_DATA_DIR=directory, ASSINA_LOG_LEVEL="warning")
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    record = [spy, "record", "--format", "raw", "--rate", "200", "--idle", "-o", str(profile)]
    started = time.perf_counter()
    child = subprocess.run(
        [*record, "--", ASSINA, "billing", "run"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if real_today() != DAY:
        raise RuntimeError(f"the day turned during the run ({DAY}): run the bench again")
    if child.returncode != 0:
        raise RuntimeError(f"billing run failed: {child.stdout}\n{child.stderr[-3000:]}")
    # py-spy writes its own lines to stdout too: the report is the one JSON object.
    report = json.loads(next(line for line in child.stdout.splitlines() if line.startswith("{")))
    # No peak memory nor CPU time here: py-spy is the command's parent, not GNU time.
    return ChildRun(seconds, peak_rss_mb=0.0, cpu_seconds=0.0, report=report, log=child.stderr)


async def run_backend(
    backend: str, url: str, customers: int, directory: str, profiles: Path | None = None
) -> Result:
    if backend == "postgresql":
        await recreate_pg(url)
    database = Database.from_url(url, pool_size=2)
    try:
        await migrate.upgrade(database.engine)
        await seed(database, customers)
        if backend == "postgresql":
            async with database.write() as session:
                await session.execute(text("ANALYZE"))
        floor = await baseline(database)
        if profiles is None:
            child = billing_run(url, directory, DAY, "warning")
        else:
            child = profiled_billing_run(url, directory, profiles / f"{backend}.txt")
        seconds, peak, report = child.seconds, child.peak_rss_mb, child.report
        delinquent = await count(
            database, select(func.count()).where(Customer.status == "delinquent")
        )
        messages = await count(database, select(func.count()).select_from(WebhookMessage))
        emails = await count(database, select(func.count()).select_from(Email))
    finally:
        await database.dispose()
    overdue = customers // OVERDUE_EVERY
    if delinquent != overdue or emails != overdue or report["failed"]:
        raise RuntimeError(f"expected {overdue} delinquent and e-mails: {report}, {delinquent}")
    return Result(backend, customers, overdue, floor, seconds, peak, delinquent, messages, emails)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--profile", help="a folder for py-spy's profile of each pass")
    args = parser.parse_args()
    profiles = Path(args.profile) if args.profile else None
    if profiles is not None:
        profiles.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for backend in args.backends.split(","):
            url = PG_URL if backend == "postgresql" else f"sqlite+aiosqlite:///{directory}/d.db"
            result = await run_backend(backend, url, args.customers, directory, profiles)
            print(json.dumps(asdict(result)), flush=True)
            results.append(result)
    if "postgresql" in args.backends:
        await drop_pg(PG_URL)
    print(
        "| backend | customers | overdue | baseline overdue customers/s | pass s "
        "| overdue customers/s | peak MB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r.backend} | {r.customers} | {r.overdue} | {r.baseline_customers_per_s:.0f} "
            f"| {r.pass_seconds:.1f} | {r.overdue / r.pass_seconds:.0f} | {r.peak_rss_mb:.0f} |"
        )
    if profiles is not None:
        for backend in args.backends.split(","):
            print(summarize_profile(profiles / f"{backend}.txt", top=40))


if __name__ == "__main__":
    asyncio.run(main())
