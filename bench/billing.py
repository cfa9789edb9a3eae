"""One billing-calendar pass over many active monthly contracts (issue #4).

For each backend this seeds one tenant with N customers and N active monthly contracts whose
first charge falls due on the pass day, each customer with an e-mail address, and one webhook
endpoint for every event type (never delivered to: no worker runs). The pass day is the real
today in America/Sao_Paulo: a live tenant's calendar runs only for its real today, so the
contracts are seeded relative to it. Then it runs the real command, `assina billing run`, in a
subprocess and reports its wall time,
contracts per second and peak memory (the child's maximum RSS, read by GNU time). The
contracts step issues N charges, N `charge.created` events, N messages and N `charge_created`
e-mails; the dunning pass after it queues N reminders (each charge falls due that day) when
the tenant disabled `charge_created` e-mails, and none otherwise (the charge_created e-mail
of the day said it; issue 12). The
time of the contracts step alone is read from the calendar's log line ("tenant …: N contracts
in S s (C s of CPU)") and reported beside the command's; so is the CPU time it took (of the
whole process, every thread), which a busy machine does not inflate as it does the wall
time, and the command's (user + system, by GNU time).

Baselines, measured in the same run on the same database, through the same Database layer:
one write transaction per contract that only locks the contract's row (BEGIN; SELECT … FOR
UPDATE; COMMIT: the floor of a pass that advances contracts one by one), and one write
transaction per batch of 500 contracts that only locks their rows (the floor of the batched
pass, which advances a batch of due contracts in one transaction).

    .venv/bin/python bench/billing.py [--contracts 100000] [--backends sqlite,postgresql]
        [--no-charge-emails] [--profile DIR]

With --no-charge-emails the tenant has disabled `charge_created` e-mails (`disabled_kinds` of
its e-mail settings): the contracts step writes charges, events and messages only.

`--profile DIR` runs `assina billing run` under py-spy (`pip install py-spy`), writing its raw
stacks to DIR/<backend>.txt, and prints where the samples went (bench/drain.py's
`summarize_profile`); the peak RSS is then py-spy's or the command's, whichever is larger.

PostgreSQL: database `assina_bench_billing` on ASSINA_BENCH_PG_URL's server (default
postgres@127.0.0.1:5432), created anew and dropped at the end. SQLite: a temporary file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from assina.charges.models import Charge
from assina.contracts.models import Contract
from assina.core.clock import FrozenClock
from assina.core.ids import new_id
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.db import migrate
from assina.db.database import Database
from assina.notifications.models import Email, EmailKind, EmailSettings, Locale
from assina.tenants.service import create_tenant
from assina.webhooks.models import WebhookMessage
from assina.webhooks.schemas import EndpointCreate
from assina.webhooks.service import create_endpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import ASSINA, recreate_pg
from cpu import postgres_cpu_seconds
from drain import summarize_profile

PG_URL = os.environ.get(
    "ASSINA_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench_billing"
)
STEP_LOG = re.compile(
    r"assina\.calendar: tenant \S+: \d+ contracts in ([0-9.]+) s(?: \(([0-9.]+) s of CPU\))?"
)
TIME = "/usr/bin/time"  # GNU time, for the child's peak memory
ZONE = "America/Sao_Paulo"
# The pass day: the real today of the bench's tenant (see bench_today).
NOW = datetime.now(UTC)
DAY = NOW.astimezone(ZoneInfo(ZONE)).date()
SEED_CHUNK = 5_000
BATCH = 500
BASELINE_SAMPLE = 5_000
KEY = "b" * 43


@dataclass
class Result:
    backend: str
    contracts: int
    baseline_per_s: float
    batch_baseline_per_s: float
    pass_seconds: float
    contracts_per_s: float
    contracts_step_seconds: float
    contracts_step_per_s: float
    contracts_step_cpu_seconds: float | None
    command_cpu_seconds: float
    postgres_cpu_seconds: float
    ratio_to_baseline: float
    peak_rss_mb: float
    charges: int
    messages: int
    emails: int


async def seed(database: Database, contracts: int, charge_emails: bool) -> str:
    clock = FrozenClock(NOW)
    async with database.write() as session:
        tenant = await create_tenant(session, clock, SecretBox(KEY), "Bench", ZONE)
        hook = EndpointCreate(url="http://127.0.0.1:9/hook", event_types=["*"])
        await create_endpoint(session, clock, SecretBox(KEY), tenant.tenant_id, hook, True, 1)
        if not charge_emails:
            disabled = [EmailKind.CHARGE_CREATED.value]
            settings = EmailSettings(
                tenant_id=tenant.tenant_id,
                locale=Locale.PT_BR.value,
                disabled_kinds=disabled,
                updated_at=NOW,
            )
            session.add(settings)
    for first in range(0, contracts, SEED_CHUNK):
        numbers = range(first + 1, min(first + SEED_CHUNK, contracts) + 1)
        customers = [bench_customer(tenant.tenant_id, number) for number in numbers]
        async with database.write() as session:
            session.add_all(customers)
            await session.flush()  # no ORM relationship orders the two tables
            session.add_all(
                bench_contract(tenant.tenant_id, customer.id, customer.number)
                for customer in customers
            )
    return tenant.tenant_id


def bench_customer(tenant_id: str, number: int) -> Customer:
    """Customer number `number`, active, with an e-mail address (also bench/dunning.py's)."""
    return Customer(
        id=new_id("cus"),
        tenant_id=tenant_id,
        number=number,
        name=f"Cliente {number}",
        email=f"cliente{number}@example.com",
        document=None,
        phone=None,
        address=None,
        status="active",
        metadata_={},
        created_at=NOW,
        updated_at=NOW,
    )


def bench_contract(
    tenant_id: str, customer_id: str, number: int, start: date = DAY, dunning_exempt: bool = False
) -> Contract:
    """An active monthly contract of R$ 199,90 from `start`, billed on its day of the month
    (also bench/sandbox.py's)."""
    item = {"product_id": None, "description": "Mensalidade", "quantity": 1, "amount": 19990}
    return Contract(
        id=new_id("ctr"),
        tenant_id=tenant_id,
        number=number,
        customer_id=customer_id,
        items=[item],
        amount=19990,
        currency="BRL",
        status="active",
        interval="month",
        interval_count=1,
        billing_day=start.day,
        start_date=start,
        trial_end=None,
        anchor_date=start,
        next_period=0,
        stub_amount=0,
        payment_method="pix",
        pending_adjustment=0,
        readjustment_index=None,
        last_readjusted_on=None,
        next_step_on=DAY,  # created today: the next pass looks at it (contracts/service.py)
        cancel_at_period_end=False,
        cancelled_at=None,
        cancel_reason=None,
        dunning_exempt=dunning_exempt,
        metadata_={},
        created_at=NOW,
        updated_at=NOW,
        deleted_at=None,
    )


async def baseline(database: Database) -> float:
    """Bare write transactions per second, each locking one contract row."""
    ids = await _sample(database)
    started = time.perf_counter()
    for contract_id in ids:
        async with database.write() as session:
            await session.get(Contract, contract_id, with_for_update=True)
    return len(ids) / (time.perf_counter() - started)


async def batch_baseline(database: Database) -> float:
    """Contracts per second through bare write transactions that each lock BATCH rows."""
    ids = await _sample(database)
    started = time.perf_counter()
    for first in range(0, len(ids), BATCH):
        locked = select(Contract.id).where(Contract.id.in_(ids[first : first + BATCH]))
        async with database.write() as session:
            await session.execute(locked.with_for_update())
    return len(ids) / (time.perf_counter() - started)


async def _sample(database: Database) -> list[str]:
    async with database.read() as session:
        statement = select(Contract.id).order_by(Contract.id).limit(BASELINE_SAMPLE)
        return list((await session.scalars(statement)).all())


@dataclass
class ChildRun:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # user + system, by GNU time: what the machine's load does not inflate
    report: dict[str, Any]
    log: str
    # The PostgreSQL server's CPU during the command (all its processes; 0 on SQLite)
    postgres_cpu_seconds: float = 0.0


def billing_run(
    url: str, directory: str, day: date, log_level: str, profile: Path | None = None
) -> ChildRun:
    """`assina billing run` in a child, for the live tenants' real today, which must be
    `day` (a live tenant runs only for its real today: a bench seeded for another day would
    measure nothing): its wall seconds, peak RSS (MB), report and log (stderr). Shared with
    bench/dunning.py.

    The peak is read by GNU time, a small process between us and the child: a child started
    straight from this (large) process reports our size as its peak, since Linux keeps the
    high-water mark of the memory a process had before its exec. With `profile`, the command
    runs under py-spy, which writes its raw stacks there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_DATA_DIR=directory, ASSINA_LOG_LEVEL=log_level)
    peak_file = Path(directory) / "peak_kb"
    command = [TIME, "-f", "%U %S %M", "-o", str(peak_file), ASSINA, "billing", "run"]
    if profile is not None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        record = [spy, "record", "--format", "raw", "--rate", "200", "-o", str(profile), "--"]
        command[5:5] = record
    started, postgres_cpu = time.perf_counter(), postgres_cpu_seconds()
    child = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    postgres_cpu = postgres_cpu_seconds() - postgres_cpu if url.startswith("postgresql") else 0.0
    if real_today() != day:
        raise RuntimeError(f"the day turned during the run ({day}): run the bench again")
    if child.returncode != 0:
        raise RuntimeError(f"billing run failed: {child.stdout}\n{child.stderr[-3000:]}")
    user, system, peak_kb = peak_file.read_text().split()[-3:]
    peak = int(peak_kb) / 1024
    # py-spy says what it does on the same stdout, each line starting with "py-spy> ".
    report = "\n".join(x for x in child.stdout.splitlines() if not x.startswith("py-spy> "))
    cpu = float(user) + float(system)
    return ChildRun(seconds, peak, cpu, json.loads(report), child.stderr, postgres_cpu)


def real_today() -> date:
    """Today in America/Sao_Paulo, the bench tenants' time zone."""
    return datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()


@dataclass
class Pass:
    seconds: float
    cpu_seconds: float
    contracts_step_seconds: float
    contracts_step_cpu_seconds: float | None  # the calendar logs it since issue 18
    peak_rss_mb: float
    report: dict[str, Any]
    postgres_cpu_seconds: float


def calendar_pass(url: str, directory: str, profile: Path | None) -> Pass:
    """The billing run of DAY, with the contracts step's seconds read from its log."""
    child = billing_run(url, directory, DAY, "info", profile)
    step = STEP_LOG.search(child.log)
    if step is None:
        raise RuntimeError(f"no contracts step in the log: {child.log[-3000:]}")
    step_cpu = float(step.group(2)) if step.group(2) is not None else None
    return Pass(
        child.seconds,
        child.cpu_seconds,
        float(step.group(1)),
        step_cpu,
        child.peak_rss_mb,
        child.report,
        child.postgres_cpu_seconds,
    )


async def count(database: Database, model: type[Charge | WebhookMessage | Email]) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def run_backend(
    backend: str,
    url: str,
    contracts: int,
    directory: str,
    charge_emails: bool,
    profile: Path | None = None,
) -> Result:
    if backend == "postgresql":
        await recreate_pg(url)
    database = Database.from_url(url, pool_size=2)
    try:
        await migrate.upgrade(database.engine)
        await seed(database, contracts, charge_emails)
        if backend == "postgresql":
            async with database.write() as session:
                await session.execute(text("ANALYZE"))
        floor = await baseline(database)
        batch_floor = await batch_baseline(database)
        done = calendar_pass(url, directory, profile)
        charges = await count(database, Charge)
        messages = await count(database, WebhookMessage)
        emails = await count(database, Email)
    finally:
        await database.dispose()
    if done.report["charges_issued"] != contracts or charges != contracts:
        raise RuntimeError(f"expected {contracts} charges: {done.report}, {charges} stored")
    rate = contracts / done.seconds
    step_rate = contracts / done.contracts_step_seconds
    return Result(
        backend=backend,
        contracts=contracts,
        baseline_per_s=floor,
        batch_baseline_per_s=batch_floor,
        pass_seconds=done.seconds,
        contracts_per_s=rate,
        contracts_step_seconds=done.contracts_step_seconds,
        contracts_step_per_s=step_rate,
        contracts_step_cpu_seconds=done.contracts_step_cpu_seconds,
        command_cpu_seconds=done.cpu_seconds,
        postgres_cpu_seconds=done.postgres_cpu_seconds,
        ratio_to_baseline=step_rate / floor,
        peak_rss_mb=done.peak_rss_mb,
        charges=charges,
        messages=messages,
        emails=emails,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--no-charge-emails",
        action="store_true",
        help="the tenant disables charge_created e-mails (PUT /v1/email-settings)",
    )
    parser.add_argument("--profile", help="a folder for py-spy's profile of each backend's run")
    args = parser.parse_args()
    profiles = Path(args.profile) if args.profile else None
    if profiles is not None:
        profiles.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for backend in args.backends.split(","):
            url = PG_URL if backend == "postgresql" else f"sqlite+aiosqlite:///{directory}/b.db"
            emails = not args.no_charge_emails
            profile = profiles / f"{backend}.txt" if profiles is not None else None
            result = await run_backend(backend, url, args.contracts, directory, emails, profile)
            print(json.dumps(asdict(result)), flush=True)
            if profile is not None:
                print(summarize_profile(profile, top=40), flush=True)
            results.append(result)
    if "postgresql" in args.backends:
        await drop_pg(PG_URL)
    print(
        "| backend | contracts | baseline tx/s | batch baseline contracts/s | command s "
        "| command contracts/s | contracts step s | step contracts/s | step CPU s "
        "| step / baseline | peak MB | e-mails | command CPU s | PostgreSQL CPU s |"
    )
    print("| --- |" + " ---: |" * 13)
    for r in results:
        cpu = r.contracts_step_cpu_seconds
        print(
            f"| {r.backend} | {r.contracts} | {r.baseline_per_s:.0f} "
            f"| {r.batch_baseline_per_s:.0f} | {r.pass_seconds:.1f} | {r.contracts_per_s:.0f} "
            f"| {r.contracts_step_seconds:.1f} | {r.contracts_step_per_s:.0f} "
            f"| {'' if cpu is None else f'{cpu:.1f}'} "
            f"| {r.ratio_to_baseline:.1f} | {r.peak_rss_mb:.0f} | {r.emails} "
            f"| {r.command_cpu_seconds:.1f} | {r.postgres_cpu_seconds:.1f} |"
        )


async def drop_pg(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
