"""The Painel's numbers (reports/dashboard.py): each equals what is computed here from what the
API lists (contracts, products, charges, customers, events), on both databases; trials,
cancelled and deleted contracts, reversed and invalidated charges and other tenants' data
count nowhere."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.reports.dashboard import Dashboard, monthly_amount, read_dashboard
from assina.rules.periods import Interval
from tests.assertions import answered, iso
from tests.conftest import START, TenantClient, make_tenant
from tests.integration.charge_support import create_charge, line, new_customer

ZONE = ZoneInfo("America/Sao_Paulo")  # every test tenant's
TODAY = date(2026, 1, 15)  # START (12:00 UTC) in São Paulo
MONTHS_OF_A_PERIOD = {  # an interval's length in months, as MRR counts it
    "month": Fraction(1),
    "year": Fraction(12),
    "week": Fraction(12, 52),
    "day": Fraction(12, 365),
}


async def painel(database: Database, api: TenantClient, today: date = TODAY) -> Dashboard:
    return await read_dashboard(database, api.tenant.tenant_id, today)


async def every_page(api: TenantClient, path: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 100}
    while True:
        body = answered(await api.get(path, params=params), 200)
        listed += body["data"]
        if not body["has_more"]:
            return listed
        params["starting_after"] = body["data"][-1]["id"]


def month_firsts(today: date) -> list[date]:
    """The first days of the 12 months ending with today's, oldest first."""
    index = today.year * 12 + today.month - 1
    return [date((index - back) // 12, (index - back) % 12 + 1, 1) for back in range(11, -1, -1)]


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


async def expected_painel(api: TenantClient, today: date = TODAY) -> dict[str, Any]:
    """Every number of the Painel, computed from what the API lists."""
    products = {p["id"]: p for p in await every_page(api, "/v1/products")}
    contracts = await every_page(api, "/v1/contracts")
    charges = await every_page(api, "/v1/charges")
    customers = {c["id"]: c for c in await every_page(api, "/v1/customers")}
    events = await every_page(api, "/v1/events")

    mrr = 0
    for contract in contracts:
        if contract["status"] == "active" and contract["currency"] == "BRL":
            product = products[contract["items"][0]["product_id"]]
            months = MONTHS_OF_A_PERIOD[product["interval"]] * product["interval_count"]
            mrr += half_up(Fraction(contract["amount"]) / months)
    open_charges = [c for c in charges if c["status"] == "open"]
    overdue = [c for c in open_charges if date.fromisoformat(c["due_date"]) < today]
    overdue_customers = {c["customer_id"] for c in overdue}
    active_customers = overdue_customers | {
        c["id"] for c in customers.values() if c["status"] != "inactive"
    }
    due_soon = sorted(
        (
            c
            for c in open_charges
            if today <= date.fromisoformat(c["due_date"]) <= today + timedelta(days=7)
        ),
        key=lambda c: (c["due_date"], c["number"]),
    )
    revenue: dict[date, int] = defaultdict(int)
    for charge in charges:
        if charge["status"] == "settled" and charge["currency"] == "BRL":
            settled = datetime.fromisoformat(charge["settled_at"]).astimezone(ZONE).date()
            revenue[settled.replace(day=1)] += charge["settled_amount"]
    newest = sorted(events, key=lambda e: e["sequence"], reverse=True)[:10]
    return {
        "mrr": mrr,
        "active_contracts": sum(c["status"] == "active" for c in contracts),
        "trialing_contracts": sum(c["status"] == "trialing" for c in contracts),
        "customers_overdue": len(overdue_customers),
        "active_customers": len(active_customers),
        "delinquency_rate_bp": (
            half_up(Fraction(10_000 * len(overdue_customers), len(active_customers)))
            if active_customers
            else 0
        ),
        "overdue_amount": sum(c["amount"] for c in overdue if c["currency"] == "BRL"),
        "revenue_by_month": tuple((m, revenue.get(m, 0)) for m in month_firsts(today)),
        "due_soon": [
            (
                c["id"],
                c["number"],
                c["customer_id"],
                customers[c["customer_id"]]["name"],
                c["amount"],
                c["due_date"],
            )
            for c in due_soon[:10]
        ],
        "due_soon_count": len(due_soon),
        "recent_events": [(e["id"], e["type"], e["data"].get("id")) for e in newest],
    }


def shown(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard in the shape `expected_painel` computes."""
    return {
        "mrr": dashboard.mrr,
        "active_contracts": dashboard.active_contracts,
        "trialing_contracts": dashboard.trialing_contracts,
        "customers_overdue": dashboard.customers_overdue,
        "active_customers": dashboard.active_customers,
        "delinquency_rate_bp": dashboard.delinquency_rate_bp,
        "overdue_amount": dashboard.overdue_amount,
        "revenue_by_month": dashboard.revenue_by_month,
        "due_soon": [
            (c.id, c.number, c.customer_id, c.customer_name, c.amount, c.due_date.isoformat())
            for c in dashboard.due_soon
        ],
        "due_soon_count": dashboard.due_soon_count,
        "recent_events": [(e.id, e.type, e.object_id) for e in dashboard.recent_events],
    }


async def new_plan(
    api: TenantClient, amount: int, interval: str, count: int = 1, **fields: Any
) -> str:
    body = {"name": f"Plano {interval} {count}", "amount": amount, "interval": interval}
    product = answered(
        await api.post("/v1/products", {**body, "interval_count": count, **fields}), 201
    )
    product_id: str = product["id"]
    return product_id


async def subscribe(api: TenantClient, customer_id: str, product_id: str, quantity: int = 1) -> str:
    body = {"customer_id": customer_id, "items": [{"product_id": product_id, "quantity": quantity}]}
    contract_id: str = answered(await api.post("/v1/contracts", body), 201)["id"]
    return contract_id


async def settle(
    api: TenantClient, charge_id: str, at: datetime, amount: int | None = None
) -> None:
    body: dict[str, Any] = {"settled_at": iso(at)}
    if amount is not None:
        body["amount"] = amount
    answered(await api.post(f"/v1/charges/{charge_id}/settle", body), 200)


async def test_an_empty_tenant_shows_zeros_and_twelve_empty_months(
    database: Database, api: TenantClient
) -> None:
    dashboard = await painel(database, api)
    assert dashboard.currency == "BRL" and dashboard.today == TODAY
    assert (dashboard.mrr, dashboard.active_contracts, dashboard.trialing_contracts) == (0, 0, 0)
    assert (dashboard.customers_overdue, dashboard.active_customers) == (0, 0)
    assert (dashboard.delinquency_rate_bp, dashboard.overdue_amount) == (0, 0)
    assert dashboard.revenue_by_month == tuple(zip(month_firsts(TODAY), [0] * 12, strict=True))
    assert month_firsts(TODAY)[0] == date(2025, 2, 1)
    assert dashboard.due_soon == () and dashboard.due_soon_count == 0
    assert [e.type for e in dashboard.recent_events] == []


async def test_the_mrr_normalizes_each_contract_to_a_month_rounding_half_up(
    database: Database, api: TenantClient
) -> None:
    ana = await new_customer(api, "Ana")
    await subscribe(api, ana, await new_plan(api, 10000, "month"))  # 10000
    await subscribe(api, ana, await new_plan(api, 30001, "month", 3))  # 10000.33 → 10000
    await subscribe(api, ana, await new_plan(api, 120006, "year"))  # 10000.5 → 10001
    await subscribe(api, ana, await new_plan(api, 1000, "week"), quantity=2)  # 8666.67 → 8667
    await subscribe(api, ana, await new_plan(api, 100, "day", 2))  # 1520.83 → 1521
    await subscribe(api, ana, await new_plan(api, 50000, "month", trial_days=14))  # trialing
    dollars = await new_plan(api, 777, "month", currency="USD")
    await subscribe(api, await new_customer(api, "Bia"), dollars)  # counted, not summed
    cancelled = await subscribe(api, ana, await new_plan(api, 999, "month"))
    answered(await api.post(f"/v1/contracts/{cancelled}/cancel", {}), 200)
    deleted = await subscribe(api, ana, await new_plan(api, 555, "month"))
    assert (await api.delete(f"/v1/contracts/{deleted}")).status_code in (200, 204)

    dashboard = await painel(database, api)
    assert dashboard.mrr == 10000 + 10000 + 10001 + 8667 + 1521
    # The rule in Python says the same, contract by contract.
    assert [
        monthly_amount(*terms)
        for terms in [
            (30001, Interval.month, 3),
            (120006, Interval.year, 1),
            (2000, Interval.week, 1),
            (100, Interval.day, 2),
        ]
    ] == [10000, 10001, 8667, 1521]
    assert (dashboard.active_contracts, dashboard.trialing_contracts) == (6, 1)
    assert dashboard.active_customers == 2 and dashboard.delinquency_rate_bp == 0
    assert shown(dashboard) == await expected_painel(api)


async def test_overdue_due_soon_and_revenue_by_local_month(
    database: Database, api: TenantClient, other_api: TenantClient
) -> None:
    ana, bia, caio = [await new_customer(api, name) for name in ("Ana", "Bia", "Caio <&>")]
    await subscribe(api, ana, await new_plan(api, 10000, "month"))
    await subscribe(api, bia, await new_plan(api, 20000, "month"))
    await subscribe(api, bia, await new_plan(api, 5000, "month"))
    # Ana owes two charges, Caio (no contract) one in dollars: 2 of 3 customers are overdue.
    await create_charge(api, ana, due_date="2026-01-10", items=[line(1234)])
    await create_charge(api, ana, due_date="2026-01-14", items=[line(766)])
    await create_charge(api, caio, due_date="2025-12-01", currency="USD", items=[line(99)])
    # Due today up to a week ahead (a day later is not soon), in due date then number order.
    soon = [
        await create_charge(api, bia, due_date=day, items=[line(100 + n)])
        for n, day in enumerate(["2026-01-22", "2026-01-15", "2026-01-22", "2026-01-16"])
    ]
    await create_charge(api, bia, due_date="2026-01-23")
    # Settled: by the month of São Paulo, not of UTC.
    for at, amount in [
        (datetime(2026, 1, 1, 2, 30, tzinfo=UTC), 1000),  # Dec 31 in São Paulo
        (datetime(2025, 2, 1, 3, 0, tzinfo=UTC), 2000),  # Feb 1 00:00: the first month
        (datetime(2025, 2, 1, 2, 59, tzinfo=UTC), 4000),  # Jan 31, 2025: before the 12
        (datetime(2026, 1, 15, 11, 0, tzinfo=UTC), 8000),  # today
    ]:
        charge = await create_charge(api, bia, due_date="2025-01-05")
        await settle(api, charge["id"], at, amount)
    reversed_ = await create_charge(api, bia, due_date="2026-01-05")
    await settle(api, reversed_["id"], datetime(2026, 1, 5, 12, tzinfo=UTC))
    answered(await api.post(f"/v1/charges/{reversed_['id']}/reverse", {}), 200)
    invalid = await create_charge(api, ana, due_date="2026-01-02")
    answered(await api.post(f"/v1/charges/{invalid['id']}/invalidate", {}), 200)
    # Another tenant's money, customers and events never count.
    foreign = await new_customer(other_api, "Zeca")
    await subscribe(other_api, foreign, await new_plan(other_api, 70000, "month"))
    await create_charge(other_api, foreign, due_date="2026-01-01", items=[line(5)])
    await create_charge(other_api, foreign, due_date="2026-01-16")
    paid = await create_charge(other_api, foreign, due_date="2026-01-01")
    await settle(other_api, paid["id"], datetime(2026, 1, 2, 12, tzinfo=UTC), 31337)

    dashboard = await painel(database, api)
    assert dashboard.mrr == 35000
    assert dashboard.overdue_amount == 2000
    assert (dashboard.customers_overdue, dashboard.active_customers) == (2, 3)
    assert dashboard.delinquency_rate_bp == 6667
    months = dict(dashboard.revenue_by_month)
    assert len(months) == 12
    assert (months[date(2025, 2, 1)], months[date(2025, 12, 1)], months[date(2026, 1, 1)]) == (
        2000,
        1000,
        8000,
    )
    assert sum(months.values()) == 11000
    assert [c.id for c in dashboard.due_soon] == [soon[i]["id"] for i in (1, 3, 0, 2)]
    assert dashboard.due_soon_count == 4
    assert dashboard.due_soon[0].customer_name == "Bia" and dashboard.due_soon[0].amount == 101
    assert shown(dashboard) == await expected_painel(api)
    assert {e.id for e in dashboard.recent_events}.isdisjoint(
        e["id"] for e in await every_page(other_api, "/v1/events")
    )
    theirs = await painel(database, other_api)
    assert (theirs.mrr, theirs.overdue_amount, theirs.due_soon_count) == (70000, 5, 1)
    assert sum(amount for _, amount in theirs.revenue_by_month) == 31337
    assert shown(theirs) == await expected_painel(other_api)


async def test_ten_charges_due_soon_and_ten_events_are_shown(
    database: Database, api: TenantClient
) -> None:
    customer = await new_customer(api)
    for n in range(12):
        await create_charge(api, customer, due_date=(TODAY + timedelta(days=n % 8)).isoformat())
    dashboard = await painel(database, api)
    assert len(dashboard.due_soon) == 10 and dashboard.due_soon_count == 12
    order = [(c.due_date, c.number) for c in dashboard.due_soon]
    assert order == sorted(order)
    assert len(dashboard.recent_events) == 10
    assert dashboard.recent_events[0].type == "charge.created"
    assert dashboard.recent_events[0].customer_id == customer
    assert dashboard.recent_events[0].label  # the Portuguese label the console shows
    assert shown(dashboard) == await expected_painel(api)


_intervals = st.sampled_from([("month", 1), ("month", 3), ("month", 6), ("year", 1)])
_rare_intervals = st.sampled_from([("week", 1), ("week", 2), ("day", 1), ("day", 30)])
_plans = st.tuples(
    st.one_of(_intervals, _rare_intervals),
    st.integers(0, 10**7),  # amount
    st.integers(1, 3),  # quantity
    st.sampled_from([0, 0, 0, 7]),  # trial days
)
_DAY_SECONDS = 86400
_FIRST_INSTANT = datetime(2024, 12, 20, tzinfo=UTC)  # some weeks before the 12 months
_charges = st.tuples(
    st.sampled_from(["open", "settled", "settled", "reversed", "invalidated"]),
    st.integers(-40, 10).map(lambda d: TODAY + timedelta(days=d)),  # due date
    st.integers(1, 10**6),  # amount
    # Settled: any second up to now, often in the hours around a São Paulo midnight.
    st.tuples(
        st.integers(0, (START - _FIRST_INSTANT).days - 1),
        st.one_of(st.integers(0, _DAY_SECONDS - 1), st.integers(2 * 3600, 4 * 3600 - 1)),
    ).map(lambda ds: _FIRST_INSTANT + timedelta(seconds=ds[0] * _DAY_SECONDS + ds[1])),
    st.sampled_from(["BRL", "BRL", "USD"]),
)


@settings(max_examples=8, deadline=None)
@given(
    plans=st.lists(_plans, min_size=0, max_size=4),
    charges=st.lists(_charges, min_size=0, max_size=6),
)
async def test_the_numbers_equal_what_the_api_lists(
    client: httpx.AsyncClient,
    database: Database,
    clock: FrozenClock,
    secret_box: SecretBox,
    plans: list[tuple[tuple[str, int], int, int, int]],
    charges: list[tuple[str, date, int, datetime, str]],
) -> None:
    api = TenantClient(await make_tenant(database, clock, secret_box, "Painel"), client)
    customers = [await new_customer(api, name) for name in ("Ana", "Bia", "Caio")]
    for n, ((interval, count), amount, quantity, trial_days) in enumerate(plans):
        product = await new_plan(api, amount, interval, count, trial_days=trial_days)
        await subscribe(api, customers[n % 3], product, quantity)
    for n, (status, due, amount, settled_at, currency) in enumerate(charges):
        charge = await create_charge(
            api,
            customers[n % 3],
            due_date=due.isoformat(),
            items=[line(amount)],
            currency=currency,
        )
        if status in ("settled", "reversed"):
            await settle(api, charge["id"], settled_at, amount + n)
        if status in ("reversed", "invalidated"):
            move = "reverse" if status == "reversed" else "invalidate"
            answered(await api.post(f"/v1/charges/{charge['id']}/{move}", {}), 200)
    assert shown(await painel(database, api)) == await expected_painel(api)


async def test_the_rate_is_a_share_of_the_active_customers(
    database: Database, api: TenantClient
) -> None:
    # Ana owes an overdue charge; Bia has no contract; Caio is inactive and owes nothing;
    # Duda is inactive and still owes one: the base is Ana, Bia and Duda.
    ana, _bia, caio, duda = [await new_customer(api, n) for n in ("Ana", "Bia", "Caio", "Duda")]
    await create_charge(api, ana, due_date="2026-01-10")
    await create_charge(api, duda, due_date="2026-01-12")
    for customer in (caio, duda):
        answered(await api.post(f"/v1/customers/{customer}/deactivate"), 200)
    dashboard = await painel(database, api)
    assert (dashboard.customers_overdue, dashboard.active_customers) == (2, 3)
    assert dashboard.delinquency_rate_bp == 6667
    assert shown(dashboard) == await expected_painel(api)
