"""Money coming in (issue 15): card charges tried by a calendar pass, and inbound notifications.

`cards`: a sandbox tenant with N customers, each with a saved card (approved) and an open card
charge due today. The real command, `assina billing run --tenant <id>`, runs in a child (its
sandbox gateway on loopback in the same child, as in production); reported: wall seconds,
charges tried per second, and the child's peak RSS (GNU time) for each N, so that memory that
grows with N shows. Baseline, in the same run on the same database: the same N charges settled
with no gateway at all (settle_charge, 200 per transaction: the floor of recording the
answers).

`inbound`: a sandbox tenant with 2N open PIX charges and a real `assina serve --no-worker`. N
signed sandbox notifications are POSTed to its inbound URL, 16 at a time, each settling one
charge. Baseline, same server, same concurrency: `POST /v1/charges/{id}/settle` for the other N
charges (the API's own settlement, by hand).

    .venv/bin/python bench/payments.py cards [--sizes 2500,10000] [--backends sqlite,postgresql]
    .venv/bin/python bench/payments.py inbound [--notifications 1000] [--backends postgresql]

PostgreSQL: ASSINA_BENCH_PG_URL (default …/assina_bench_payments), created anew and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import func, insert, select

from assina import reactions
from assina.billing_settings.schemas import DEFAULT_RULES
from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeSettle
from assina.charges.service import ChargeDraft, charge_row
from assina.charges.settlement import settle_charge
from assina.core.clock import SystemClock
from assina.core.ids import new_id
from assina.core.secrets import SecretBox
from assina.db import migrate
from assina.db.database import Database
from assina.db.shapes import insert_rows
from assina.payment_settings.models import PaymentProvider
from assina.payment_settings.service import ensure_inbound_urls
from assina.payments.connections import ProviderConnections
from assina.payments.models import CustomerCard
from assina.payments.providers import CardDetails, Payer
from assina.payments.sandbox.signing import SIGNATURE_HEADER, notification_secret, sign
from assina.tenants.service import create_tenant

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import ASSINA, recreate_pg, start_serve, wait_ready
from billing import bench_customer, drop_pg

PG_URL = os.environ.get(
    "ASSINA_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench_payments"
)
SECRET_KEY = "bench-payments-secret-key-0123456789abcdef"  # noqa: S105 (a bench's own)
TIME = "/usr/bin/time"
ZONE = "America/Sao_Paulo"
NOW = datetime.now(UTC)
DAY = NOW.astimezone(ZoneInfo(ZONE)).date()
AMOUNT = 19_990
CHUNK = 200
CONCURRENCY = 16


def database_url(backend: str, directory: str) -> str:
    return PG_URL if backend == "postgresql" else f"sqlite+aiosqlite:///{directory}/bench.db"


async def fresh_database(backend: str, directory: str) -> Database:
    url = database_url(backend, directory)
    if backend == "postgresql":
        await recreate_pg(url)
    database = Database.from_url(url)
    await migrate.upgrade(database.engine)
    return database


async def seed_tenant(database: Database, box: SecretBox, name: str) -> str:
    async with database.write() as session:
        created = await create_tenant(session, SystemClock(), box, name, sandbox=True)
    return created.tenant_id


async def seed_charges(
    database: Database, tenant_id: str, count: int, method: str, first: int = 1
) -> list[tuple[str, str]]:
    """`count` customers with one open charge each, due today: (customer id, charge id)."""
    made: list[tuple[str, str]] = []
    for start in range(0, count, 5_000):
        customers, rows = [], []
        for number in range(first + start, first + min(count, start + 5_000)):
            customer = bench_customer(tenant_id, number)
            customer.email = None  # receipts kept, not sent: as the recorded runs had them
            line = {
                "product_id": None,
                "description": "Mensalidade",
                "quantity": 1,
                "amount": AMOUNT,
            }
            draft = ChargeDraft(customer.id, [line], DAY, method, "BRL")
            customers.append(customer)
            rows.append(charge_row(tenant_id, draft, number, DEFAULT_RULES, NOW))
        async with database.write() as session:
            session.add_all(customers)
            await session.flush()
            await insert_rows(session, insert(Charge), rows)
        made += [(row["customer_id"], row["id"]) for row in rows]
    return made


async def seed_cards(
    database: Database, box: SecretBox, tenant_id: str, customers: Sequence[str]
) -> None:
    """One approved card per customer, tokenized once by the sandbox over HTTP (its tokens
    keep nothing at the sandbox, so one token serves every card of the bench)."""
    connections = ProviderConnections(database, box, SystemClock())
    try:
        gateway = await connections.sandbox_client(tenant_id)
        token = await gateway.tokenize_card(
            Payer("cus_bench", "Bench", None, None),
            CardDetails("4111111111111111", 12, DAY.year + 3, "123", "BENCH"),
        )
    finally:
        await connections.close()
    sealed = box.seal(token.token)
    for start in range(0, len(customers), 5_000):
        async with database.write() as session:
            session.add_all(
                CustomerCard(
                    id=new_id("card"),
                    tenant_id=tenant_id,
                    customer_id=customer_id,
                    provider=PaymentProvider.SANDBOX,
                    token_sealed=sealed,
                    brand=token.brand.value,
                    last4=token.last4,
                    exp_month=token.exp_month,
                    exp_year=token.exp_year,
                    is_default=True,
                    saved_from_ip="127.0.0.1",
                    created_at=NOW,
                    deleted_at=None,
                )
                for customer_id in customers[start : start + 5_000]
            )


async def settled_count(database: Database, tenant_id: str) -> int:
    async with database.read() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(Charge)
            .where(Charge.tenant_id == tenant_id, Charge.status == ChargeStatus.SETTLED)
        )
    return int(found or 0)


# --- cards ---------------------------------------------------------------------------------


@dataclass
class CardsResult:
    backend: str
    charges: int
    seconds: float
    per_second: float
    peak_rss_mb: float
    approved: int
    baseline_seconds: float
    baseline_per_second: float


def child_env(url: str, directory: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_DATA_DIR=directory, ASSINA_SECRET_KEY=SECRET_KEY)
    # The baseline's one key settles every charge: a bucket it never empties (bench/api.py).
    env.update(ASSINA_API_RATE_LIMIT_BURST="1000000000", ASSINA_API_CONCURRENCY_PER_KEY="1000")
    return env


def billing_run(url: str, directory: str, tenant_id: str) -> tuple[float, float, dict[str, Any]]:
    peak_file = Path(directory) / "peak_kb"
    command = [
        TIME,
        "-f",
        "%M",
        "-o",
        str(peak_file),
        ASSINA,
        "billing",
        "run",
        "--tenant",
        tenant_id,
    ]
    started = time.perf_counter()
    child = subprocess.run(
        command, env=child_env(url, directory), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"billing run failed: {child.stdout}\n{child.stderr[-3000:]}")
    peak = int(peak_file.read_text().split()[-1]) / 1024
    return seconds, peak, json.loads(child.stdout)


async def settle_baseline(database: Database, tenant_id: str, charges: Sequence[str]) -> float:
    clock = SystemClock()
    started = time.perf_counter()
    for start in range(0, len(charges), CHUNK):
        async with database.write() as session:
            for charge_id in charges[start : start + CHUNK]:
                await settle_charge(session, clock, tenant_id, charge_id, ChargeSettle())
    return time.perf_counter() - started


async def bench_cards(backend: str, size: int) -> CardsResult:
    box = SecretBox(SECRET_KEY)
    with tempfile.TemporaryDirectory() as directory:
        database = await fresh_database(backend, directory)
        try:
            tenant_id = await seed_tenant(database, box, "Cartões")
            made = await seed_charges(database, tenant_id, size, "card")
            await seed_cards(database, box, tenant_id, [customer for customer, _ in made])
            floor_tenant = await seed_tenant(database, box, "Piso")
            floor = await seed_charges(database, floor_tenant, size, "pix")
            baseline = await settle_baseline(database, floor_tenant, [c for _, c in floor])
            seconds, peak, report = billing_run(
                database_url(backend, directory), directory, tenant_id
            )
            if await settled_count(database, tenant_id) != size:
                raise RuntimeError(f"not every card charge was settled: {report['cards']}")
        finally:
            await database.dispose()
            if backend == "postgresql":
                await drop_pg(PG_URL)
    return CardsResult(
        backend,
        size,
        round(seconds, 2),
        round(size / seconds, 1),
        round(peak, 1),
        report["cards"]["approved"],
        round(baseline, 2),
        round(size / baseline, 1),
    )


# --- inbound -------------------------------------------------------------------------------


@dataclass
class InboundResult:
    backend: str
    notifications: int
    seconds: float
    per_second: float
    baseline_seconds: float
    baseline_per_second: float


async def post_all(
    requests: Sequence[tuple[str, bytes, dict[str, str]]], concurrency: int = CONCURRENCY
) -> float:
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one(url: str, body: bytes, headers: dict[str, str]) -> None:
            async with limit, http.post(url, data=body, headers=headers) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"{url}: {answer.status} {await answer.text()}")

        started = time.perf_counter()
        await asyncio.gather(*(one(*request) for request in requests))
        return time.perf_counter() - started


def notification(
    tenant_id: str, box: SecretBox, charge_id: str, number: int
) -> tuple[bytes, dict[str, str]]:
    body = {
        "id": f"spay_bench{number}.received",
        "type": "payment.received",
        "data": {
            "id": f"spay_bench{number}",
            "charge_id": charge_id,
            "method": "pix",
            "status": "received",
            "amount": AMOUNT,
            "paid_at": datetime.now(UTC).isoformat(),
            "end_to_end_id": None,
        },
    }
    raw = json.dumps(body).encode()
    secret = notification_secret(box, tenant_id)
    stamp = int(time.time())
    return raw, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, stamp, raw)}


async def bench_inbound(backend: str, count: int) -> InboundResult:
    box = SecretBox(SECRET_KEY)
    with tempfile.TemporaryDirectory() as directory:
        database = await fresh_database(backend, directory)
        server = None
        try:
            tenant = await seed_tenant_with_key(database, box)
            made = await seed_charges(database, tenant.tenant_id, 2 * count, "pix")
            server, base = start_serve(child_env(database_url(backend, directory), directory))
            await wait_ready(base)
            async with database.write() as session:
                urls = await ensure_inbound_urls(
                    session, SystemClock(), box, tenant.tenant_id, base
                )
            inbound = next(u.url for u in urls if u.provider == PaymentProvider.SANDBOX)
            auth = {"Authorization": f"Bearer {tenant.api_key}", "Content-Type": "application/json"}
            by_hand = [
                (f"{base}/v1/charges/{charge_id}/settle", b"{}", auth)
                for _, charge_id in made[:count]
            ]
            notified = [
                (inbound, *notification(tenant.tenant_id, box, charge_id, n))
                for n, (_, charge_id) in enumerate(made[count:])
            ]
            baseline = await post_all(by_hand)
            seconds = await post_all(notified)
            if await settled_count(database, tenant.tenant_id) != 2 * count:
                raise RuntimeError("not every charge was settled")
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            await database.dispose()
            if backend == "postgresql":
                await drop_pg(PG_URL)
    return InboundResult(
        backend,
        count,
        round(seconds, 2),
        round(count / seconds, 1),
        round(baseline, 2),
        round(count / baseline, 1),
    )


async def seed_tenant_with_key(database: Database, box: SecretBox) -> Any:
    async with database.write() as session:
        return await create_tenant(session, SystemClock(), box, "Entradas", sandbox=True)


async def main() -> None:
    reactions.install()  # the baseline settles charges in this process
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["cards", "inbound"])
    parser.add_argument("--sizes", default="2500,10000")
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--backends", default=None)
    args = parser.parse_args()
    if args.what == "cards":
        backends = (args.backends or "sqlite,postgresql").split(",")
        for backend in backends:
            for size in (int(s) for s in args.sizes.split(",")):
                print(json.dumps(asdict(await bench_cards(backend, size))), flush=True)
        return
    for backend in (args.backends or "postgresql,sqlite").split(","):
        print(json.dumps(asdict(await bench_inbound(backend, args.notifications))), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
