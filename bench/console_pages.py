"""How long the console's pages take with one big tenant (issue 17): 100,000 customers and
contracts and 1,000,000 charges on PostgreSQL (bench/console_data.py fills it), served by a
real `assina serve`, read by a signed-in client on loopback.

Each page is asked for `--repeat` times after two warm-ups, one request at a time; the table
gives the median and the 95th percentile of the time from sending the request to having the
whole page. The same-run baseline is the sign-in page, which reads no database: what a page
costs above it is the page's own reading and drawing.

    .venv/bin/python bench/console_pages.py postgresql+asyncpg://postgres@127.0.0.1:5432/NAME \\
        [--load] [--repeat 30]

`--load` (re)creates and fills the database first (about a minute); without it the database
must hold what console_data.py loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from assina.charges.models import Charge, ChargeStatus
from assina.contracts.models import Contract
from assina.core.clock import SystemClock
from assina.customers.models import Customer
from assina.db import migrate
from assina.db.database import Database
from assina.tenants.models import Tenant
from assina.users.models import ConsoleRole
from assina.users.service import create_console_user

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import free_port, recreate_pg
from console_data import KEY as SECRET_KEY
from console_data import load

EMAIL = "bench@escola.com.br"
PASSWORD = "senha-do-bench-1"  # noqa: S105 - a benchmark's throwaway user
ROOT = Path(__file__).resolve().parents[1]
ASSINA = ROOT / ".venv" / "bin" / "assina"
WARM_UPS = 2


async def _prepare(url: str, fill: bool) -> tuple[str, dict[str, str]]:
    """The tenant's id and a few ids the pages are asked about; the console user made."""
    if fill:
        await recreate_pg(url)
    database = Database.from_url(url, pool_size=2)
    try:
        if fill:
            await migrate.upgrade(database.engine)
            await load(database, 100_000, 1_000_000)
        async with database.write() as session:
            tenant_id = (await session.scalars(select(Tenant.id).limit(1))).one()
            customer = (
                await session.scalars(
                    select(Customer)
                    .where(Customer.tenant_id == tenant_id)
                    .order_by(Customer.id.desc())
                    .limit(1)
                )
            ).one()
            contract_id = (
                await session.scalars(
                    select(Contract.id).where(Contract.tenant_id == tenant_id).limit(1)
                )
            ).one()
            charge_id = (
                await session.scalars(
                    select(Charge.id)
                    .where(Charge.tenant_id == tenant_id, Charge.status == ChargeStatus.OPEN)
                    .limit(1)
                )
            ).one()
            existing = await session.scalar(select(Tenant.id).where(Tenant.id == tenant_id))
            assert existing
            from assina.users.models import ConsoleUser

            if (
                await session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == EMAIL))
                is None
            ):
                await create_console_user(
                    session, SystemClock(), tenant_id, EMAIL, PASSWORD, ConsoleRole.ADMIN
                )
            ids = {
                "customer": customer.id,
                "name": customer.name.split()[0],
                "document": (customer.document or "")[:6],
                "contract": contract_id,
                "charge": charge_id,
            }
    finally:
        await database.dispose()
    return tenant_id, ids


def _pages(ids: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("sign-in page (baseline: no database)", "/console/login"),
        ("Painel", "/console"),
        ("Clientes, first page", "/console/customers"),
        ("Clientes, search by name", f"/console/customers?q={ids['name']}"),
        ("Clientes, search by CPF digits", f"/console/customers?q={ids['document']}"),
        ("Clientes, a search matching no one (reads all)", "/console/customers?q=zzzz"),
        ("Clientes, inactive filter", "/console/customers?status=inactive"),
        ("a customer's page", f"/console/customers/{ids['customer']}"),
        ("Cobranças, first page", "/console/charges"),
        ("Cobranças, open", "/console/charges?status=open"),
        ("Cobranças, a customer's", f"/console/charges?customer_id={ids['customer']}"),
        ("Cobranças, due in a month", "/console/charges?due_from=2026-03-01&due_to=2026-03-31"),
        ("a charge's page", f"/console/charges/{ids['charge']}"),
        ("Contratos, first page", "/console/contracts"),
        ("Contratos, suspended", "/console/contracts?status=suspended"),
        ("a contract's page", f"/console/contracts/{ids['contract']}"),
        ("Produtos", "/console/products"),
        ("Notas fiscais", "/console/fiscal-invoices"),
        ("Webhooks", "/console/webhooks"),
    ]


def _sign_in(http: httpx.Client) -> None:
    form = http.get("/console/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form)
    assert token, form
    answer = http.post(
        "/console/login",
        data={
            "email": EMAIL,
            "password": PASSWORD,
            "login_csrf": token.group(1),
            "next": "/console",
        },
    )
    assert answer.status_code == 303, answer.text


def _time(http: httpx.Client, path: str, repeat: int) -> list[float]:
    for _ in range(WARM_UPS):
        assert http.get(path).status_code == 200, path
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = http.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    _tenant_id, ids = asyncio.run(_prepare(args.url, args.load))
    port = free_port()
    env = {
        **os.environ,
        "ASSINA_DATABASE_URL": args.url,
        "ASSINA_SECRET_KEY": SECRET_KEY,  # the key the loader sealed the tenant's secrets with
        "ASSINA_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen([str(ASSINA), "serve", "--no-worker", "--port", str(port)], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(300):
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            _sign_in(http)
            print("| page | median ms | p95 ms |\n| --- | ---: | ---: |")
            for name, path in _pages(ids):
                timings = sorted(_time(http, path, args.repeat))
                p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
                print(f"| {name} | {statistics.median(timings):.1f} | {p95:.1f} |", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
