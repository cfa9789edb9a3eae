"""Fill a PostgreSQL database with one big tenant for the console's benchmarks (issue 17).

One tenant (America/Sao_Paulo) with, by default, 100,000 customers, one contract each
(80 % active, 5 % trialing, 5 % suspended, 10 % cancelled; mostly monthly, some every 3 months,
yearly, weekly or daily) and 1,000,000 charges spread over the 24 months up to a month ahead
of today: past ones mostly settled (settled 0 to 4 days after their due date), some still open
(overdue, in the last 60 days), some invalidated or reversed; the ones due from today on are
open.

Rows are written by the database itself, set-based (INSERT … SELECT over generate_series),
never through the ORM or the API: ids look like the project's (prefix + 26 Crockford base32
characters: a fresh id's time part, then the row's ordinal) and numbers are the ordinals, so
every unique constraint holds; the tenant's counters are set past them so that the API can
add more. The database is migrated first (assina.db.migrate) and must be empty of this data.

    .venv/bin/python bench/console_data.py postgresql+asyncpg://postgres@127.0.0.1:5432/NAME \\
        [--create] [--customers 100000] [--charges 1000000] [--time-dashboard]

`--create` (re)creates the database first (dropping it if it exists); `--time-dashboard`
then times `read_dashboard` (reports/dashboard.py) on the tenant: one cold read and a few warm.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from assina.core.clock import SystemClock, local_date
from assina.core.ids import new_id
from assina.core.secrets import SecretBox
from assina.db import migrate
from assina.db.database import Database
from assina.reports.dashboard import read_dashboard
from assina.tenants.counters import Counter
from assina.tenants.service import create_tenant

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import recreate_pg

ZONE = "America/Sao_Paulo"
KEY = "c" * 43
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # core/ids.py's
DAYS_SPANNED = 730  # 24 months of due dates …
DAYS_AHEAD = 30  # … ending about a month after today
OVERDUE_DAYS = 60  # a past charge left open fell due within these days (older ones were paid)
WARM_READS = 5
# (interval, interval_count, product name, amount multiplier) by share of the contracts, in %.
PLANS = [
    (85, "month", 1, "Plano mensal", 1),
    (5, "month", 3, "Plano trimestral", 3),
    (7, "year", 1, "Plano anual", 10),
    (2, "week", 1, "Plano semanal", 1),
    (1, "day", 1, "Plano diário", 1),
]


_STAMPS: dict[str, str] = {}  # one per prefix: a table's ids and the references to them agree


def id_sql(prefix: str, ordinal: str) -> str:
    """SQL for an id `prefix_` + 26 characters: a fresh id's first 16 (its time and the top
    of its random part) and the ordinal's low 50 bits in 10 base32 characters, most
    significant first, so that ids are unique and sort like their ordinals."""
    stamp = _STAMPS.setdefault(prefix, new_id(prefix).partition("_")[2][:16])
    characters = " || ".join(
        f"substr('{ALPHABET}', ((({ordinal})::bigint >> {5 * shift}) & 31)::int + 1, 1)"
        for shift in range(9, -1, -1)
    )
    return f"('{prefix}_{stamp}' || {characters})"


def hashed(ordinal: str, salt: int) -> str:
    """A deterministic 0-99 spread of an ordinal (Knuth's multiplicative hash)."""
    return f"((({ordinal})::bigint * {2654435761 + salt}) % 1000003 % 100)"


async def load(database: Database, customers: int, charges: int) -> str:
    """Write the tenant and its rows; its id."""
    clock = SystemClock()
    today = local_date(clock.now(), ZONE)
    async with database.write() as session:
        tenant = await create_tenant(session, clock, SecretBox(KEY), "Console Bench", ZONE)
    tenant_id = tenant.tenant_id
    product_ids = [new_id("prd") for _ in PLANS]
    async with database.engine.begin() as connection:
        await connection.execute(text("SET LOCAL synchronous_commit = off"))
        await _timed(connection, "products", _products_sql(tenant_id, product_ids))
        await _timed(connection, "customers", _customers_sql(tenant_id, customers))
        await _timed(
            connection, "contracts", _contracts_sql(tenant_id, customers, today, product_ids)
        )
        await _timed(connection, "charges", _charges_sql(tenant_id, customers, charges, today))
        await _timed(connection, "counters", _counters_sql(tenant_id, customers, charges))
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await _timed(autocommit, "vacuum analyze", "VACUUM ANALYZE customers, contracts, charges")
    return tenant_id


async def _timed(connection: AsyncConnection, what: str, statement: str) -> None:
    started = time.perf_counter()
    result = await connection.execute(text(statement))
    rows = getattr(result, "rowcount", -1)
    print(f"{what}: {rows} rows in {time.perf_counter() - started:.1f} s", flush=True)


def _products_sql(tenant_id: str, product_ids: list[str]) -> str:
    values = ", ".join(
        f"('{product_id}', '{tenant_id}', {n}, '{name}', 5000, 'BRL', '{interval}', "
        f"{count}, 0, 'active', '{{}}'::jsonb, now(), now())"
        for n, (product_id, (_, interval, count, name, _)) in enumerate(
            zip(product_ids, PLANS, strict=True), start=1
        )
    )
    columns = (
        "id, tenant_id, number, name, amount, currency, interval, interval_count, trial_days, "
        "status, metadata, created_at, updated_at"
    )
    return f"INSERT INTO products ({columns}) VALUES {values}"  # noqa: S608 - our own values


def _customers_sql(tenant_id: str, customers: int) -> str:
    return f"""
        INSERT INTO customers (id, tenant_id, number, name, email, status, dunning_exempt,
                               metadata, created_at, updated_at)
        SELECT {id_sql("cus", "g")}, '{tenant_id}', g, 'Cliente ' || g,
               'cliente' || g || '@example.com', 'active', false, '{{}}'::jsonb,
               now() - make_interval(days => (g % {DAYS_SPANNED})::int), now()
        FROM generate_series(1, {customers}) AS g
    """  # noqa: S608 - only numbers and ids this script makes


def _plan_case(share: str, values: list[str] | list[int]) -> str:
    """CASE over the plans by a 0-99 share: the value of the plan it falls in."""
    whens, bound = [], 0
    for plan, value in zip(PLANS, values, strict=True):
        bound += plan[0]
        written = f"'{value}'" if isinstance(value, str) else str(value)
        whens.append(f"WHEN {share} < {bound} THEN {written}")
    return f"CASE {' '.join(whens)} END"


def _contracts_sql(tenant_id: str, customers: int, today: date, product_ids: list[str]) -> str:
    """One contract per customer, contract c of customer c."""
    product, name, interval, count, times = (
        _plan_case("plan", values)
        for values in (
            product_ids,
            [p[3] for p in PLANS],
            [p[1] for p in PLANS],
            [p[2] for p in PLANS],
            [p[4] for p in PLANS],
        )
    )
    return f"""
        INSERT INTO contracts (id, tenant_id, number, customer_id, items, amount, currency,
            status, interval, interval_count, billing_day, start_date, trial_end, anchor_date,
            next_period, stub_amount, payment_method, pending_adjustment, next_step_on,
            cancel_at_period_end, cancelled_at, dunning_exempt, metadata, created_at,
            updated_at)
        SELECT {id_sql("ctr", "c")}, '{tenant_id}', c, {id_sql("cus", "c")},
               jsonb_build_array(jsonb_build_object('product_id', product, 'description',
                   name, 'quantity', 1, 'amount', amount)),
               amount, 'BRL', status, interval, interval_count,
               extract(day FROM start)::int, start,
               CASE WHEN status = 'trialing' THEN DATE '{today}' + 7 END, start, 0, 0,
               CASE WHEN c % 2 = 0 THEN 'pix' ELSE 'boleto' END, 0, NULL, false,
               CASE WHEN status = 'cancelled' THEN now() END, false, '{{}}'::jsonb,
               start::timestamp AT TIME ZONE 'UTC', now()
        FROM (
            SELECT c, {product} AS product, {name} AS name, {interval} AS interval,
                   {count} AS interval_count, (5000 + (c * 7919) % 50000) * {times} AS amount,
                   CASE WHEN share < 80 THEN 'active' WHEN share < 85 THEN 'trialing'
                        WHEN share < 90 THEN 'suspended' ELSE 'cancelled' END AS status,
                   DATE '{today}' - (c % {DAYS_SPANNED})::int AS start
            FROM (SELECT c, {hashed("c", 1)} AS share, {hashed("c", 2)} AS plan
                  FROM generate_series(1, {customers}) AS c) AS drawn
        ) AS contract
    """  # noqa: S608 - only numbers and ids this script makes


def _charges_sql(tenant_id: str, customers: int, charges: int, today: date) -> str:
    """Charge g is customer c's (and contract c's) j-th: each customer's charges are `step`
    days apart, so no two of a contract share a period start."""
    per_customer = -(-charges // customers)
    step = DAYS_SPANNED // per_customer
    first_day = f"DATE '{today}' - {DAYS_SPANNED - DAYS_AHEAD}"
    return f"""
        INSERT INTO charges (id, tenant_id, number, customer_id, contract_id, period_start,
            period_end, items, amount, currency, due_date, status, payment_method, settled_at,
            settled_amount, settlement_method, fine_amount, interest_amount, dunning_exempt,
            metadata, created_at, updated_at)
        SELECT {id_sql("chg", "g")}, '{tenant_id}', g, {id_sql("cus", "c")},
               {id_sql("ctr", "c")}, due, (due + interval '1 month')::date,
               jsonb_build_array(jsonb_build_object('product_id', NULL, 'description',
                   'Mensalidade', 'quantity', 1, 'amount', amount)),
               amount, 'BRL', due, status, CASE WHEN g % 2 = 0 THEN 'pix' ELSE 'boleto' END,
               CASE WHEN paid THEN paid_at END, CASE WHEN paid THEN amount END,
               CASE WHEN paid THEN 'pix' END, 0, 0, false, '{{}}'::jsonb,
               least((due - 10)::timestamp AT TIME ZONE 'UTC', now()), now()
        FROM (
            SELECT g, c, due, amount, status, status IN ('settled', 'reversed') AS paid,
                   least((due + (share % 5)::int + interval '13 hours')::timestamp
                         AT TIME ZONE 'UTC', now()) AS paid_at
            FROM (
                SELECT g, c, due, share, 5000 + (c * 7919) % 50000 AS amount,
                       CASE WHEN due >= DATE '{today}' THEN 'open'
                            WHEN share < 92 THEN 'settled'
                            WHEN share < 95 AND due >= DATE '{today}' - {OVERDUE_DAYS} THEN 'open'
                            WHEN share < 95 THEN 'settled'
                            WHEN share < 98 THEN 'invalidated' ELSE 'reversed' END AS status
                FROM (
                    SELECT g, c, {first_day} + j * {step} + (c % {step})::int AS due,
                           {hashed("g", 3)} AS share
                    FROM (SELECT g, (g - 1) % {customers} + 1 AS c, (g - 1) / {customers} AS j
                          FROM generate_series(1, {charges}) AS g) AS numbered
                ) AS dated
            ) AS drawn
        ) AS charge
    """  # noqa: S608 - only numbers and ids this script makes


def _counters_sql(tenant_id: str, customers: int, charges: int) -> str:
    values = ", ".join(
        f"('{tenant_id}', '{counter.value}', {value})"
        for counter, value in (
            (Counter.PRODUCT_NUMBER, len(PLANS)),
            (Counter.CUSTOMER_NUMBER, customers),
            (Counter.CONTRACT_NUMBER, customers),
            (Counter.CHARGE_NUMBER, charges),
        )
    )
    return (
        f"INSERT INTO tenant_counters (tenant_id, name, value) VALUES {values} "  # noqa: S608
        "ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value"
    )


async def time_dashboard(database: Database, tenant_id: str) -> None:
    today = local_date(SystemClock().now(), ZONE)
    timings = []
    for _ in range(1 + WARM_READS):
        started = time.perf_counter()
        dashboard = await read_dashboard(database, tenant_id, today)
        timings.append(time.perf_counter() - started)
    cold, warm = timings[0], timings[1:]
    print(
        f"read_dashboard: cold {cold * 1000:.0f} ms, warm median "
        f"{statistics.median(warm) * 1000:.0f} ms (min {min(warm) * 1000:.0f}, "
        f"max {max(warm) * 1000:.0f}) over {len(warm)} reads"
    )
    print(
        f"  mrr {dashboard.mrr}, active {dashboard.active_contracts}, trialing "
        f"{dashboard.trialing_contracts}, overdue {dashboard.customers_overdue} of "
        f"{dashboard.active_customers} customers ({dashboard.delinquency_rate_bp} bp), "
        f"{dashboard.overdue_amount} overdue, {dashboard.due_soon_count} due soon"
    )
    print("  revenue:", ", ".join(f"{m:%Y-%m} {a}" for m, a in dashboard.revenue_by_month))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="postgresql+asyncpg://… of the database to fill")
    parser.add_argument("--create", action="store_true", help="(re)create the database first")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--charges", type=int, default=1_000_000)
    parser.add_argument("--time-dashboard", action="store_true")
    args = parser.parse_args()
    if args.create:
        await recreate_pg(args.url)
    database = Database.from_url(args.url, pool_size=2)
    try:
        started = time.perf_counter()
        await migrate.upgrade(database.engine)
        tenant_id = await load(database, args.customers, args.charges)
        print(f"tenant {tenant_id} loaded in {time.perf_counter() - started:.1f} s", flush=True)
        if args.time_dashboard:
            await time_dashboard(database, tenant_id)
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
