"""Where the time of a write goes: CPU per transaction, raw asyncpg against SQLAlchemy.

Explains the gap measured by bench/api.py: the same trivial transaction and the same
create-customer use case, timed in one process on one PostgreSQL database.

    .venv/bin/python bench/db_overhead.py [--transactions 1000]

PostgreSQL: ASSINA_BENCH_PG_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench);
the database is dropped and created anew.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Awaitable, Callable

import asyncpg
import uvloop
from sqlalchemy import text
from sqlalchemy.engine import make_url

from assina import reactions
from assina.core.clock import SystemClock
from assina.core.secrets import SecretBox
from assina.customers.schemas import CustomerCreate
from assina.customers.service import create_customer
from assina.db import migrate
from assina.db.database import Database
from assina.tenants.service import create_tenant

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench"


async def measure(label: str, body: Callable[[], Awaitable[None]], count: int) -> None:
    for _ in range(min(100, count)):
        await body()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await body()
    wall_ms = (time.perf_counter() - wall) / count * 1000
    cpu_ms = (time.process_time() - cpu) / count * 1000
    print(f"| {label} | {wall_ms:.2f} | {cpu_ms:.2f} |")


async def main() -> None:
    reactions.install()  # create_customer emits customer.created
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1000)
    args = parser.parse_args()
    url = os.environ.get("ASSINA_BENCH_PG_URL", DEFAULT_PG)
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    await admin.close()

    database = Database.from_url(url, pool_size=2)
    await migrate.upgrade(database.engine)
    clock = SystemClock()
    async with database.write() as session:
        tenant = await create_tenant(session, clock, SecretBox("bench"), "Bench")
    params = CustomerCreate(name="Ana", email="ana@example.com", document="529.982.247-25")
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=2)

    async def raw_select() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1")

    async def orm_select() -> None:
        async with database.write() as session:
            await session.execute(text("SELECT 1"))

    async def orm_create() -> None:
        async with database.write() as session:
            await create_customer(session, clock, tenant.tenant_id, params)

    print("| one transaction | wall ms | CPU ms (this process) |")
    print("| --- | ---: | ---: |")
    await measure("asyncpg: BEGIN; SELECT 1; COMMIT", raw_select, args.transactions)
    await measure("SQLAlchemy session: BEGIN; SELECT 1; COMMIT", orm_select, args.transactions)
    await measure("create_customer (counter, 2 INSERTs)", orm_create, args.transactions)
    await pool.close()
    await database.dispose()


if __name__ == "__main__":
    uvloop.run(main())
