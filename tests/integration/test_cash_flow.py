"""The cash-flow report: its sums equal the rows' sums computed here, for every grouping, on
both databases; CSV on request; bad ranges refused; other tenants' money never counted."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assina.charges.models import Charge
from assina.core.clock import FrozenClock
from assina.core.ids import new_id
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.expenses.models import Expense
from tests.assertions import assert_invalid, iso
from tests.conftest import START, TenantClient, make_tenant
from tests.integration.charge_support import create_charge, insert_contract, new_customer
from tests.integration.expense_support import create_expense, new_supplier

ZONE = ZoneInfo("America/Sao_Paulo")  # every test tenant's
FIRST_DAY = date(2025, 10, 1)
LAST_DAY = date(2026, 4, 30)
GROUPS = ("day", "week", "month")


@dataclass(frozen=True)
class Row:
    """A charge (direction `in`) or an expense (`out`) as the test writes it."""

    direction: str
    status: str
    category: str  # an expense's; for a charge: "contratos" or "avulsas"
    currency: str
    amount: int
    due: date
    paid_amount: int
    paid_at: datetime


def _instant(seconds: int) -> datetime:
    return datetime(2025, 9, 30, tzinfo=UTC) + timedelta(seconds=seconds)


DAY_SECONDS = 86400
# Instants up to the clock's now, often in the hours around a São Paulo midnight (03:00 UTC).
_paid_days = st.integers(0, (START - datetime(2025, 9, 30, tzinfo=UTC)).days - 1)
_seconds_of_day = st.one_of(st.integers(0, DAY_SECONDS - 1), st.integers(2 * 3600, 4 * 3600 - 1))
_days = st.integers(0, (LAST_DAY - FIRST_DAY).days).map(lambda d: FIRST_DAY + timedelta(days=d))
_amounts = st.integers(0, 10**9)


@st.composite
def rows(draw: st.DrawFn) -> Row:
    direction = draw(st.sampled_from(["in", "out"]))
    statuses = ["open", "settled", "reversed"] + (["invalidated"] if direction == "in" else [])
    categories = ["contratos", "avulsas"] if direction == "in" else ["aluguel", "folha", "água"]
    return Row(
        direction=direction,
        status=draw(st.sampled_from(statuses)),
        category=draw(st.sampled_from(categories)),
        currency=draw(st.sampled_from(["BRL", "BRL", "BRL", "USD"])),
        amount=draw(_amounts),
        due=draw(_days),
        paid_amount=draw(_amounts),
        paid_at=_instant(draw(_paid_days) * DAY_SECONDS + draw(_seconds_of_day)),
    )


def expected_sums(
    written: list[Row], start: date, end: date, group: str
) -> dict[tuple[str, str, str, str], int]:
    """(period's first day, direction, kind, category) → amount, from the rows themselves."""
    sums: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for row in written:
        if row.currency != "BRL" or row.status not in ("open", "settled"):
            continue
        if row.status == "settled":
            day, kind, amount = row.paid_at.astimezone(ZONE).date(), "realized", row.paid_amount
        else:
            day, kind, amount = row.due, "forecast", row.amount
        if start <= day <= end:
            sums[(_first_day(day, group).isoformat(), row.direction, kind, row.category)] += amount
    return dict(sums)


def _first_day(day: date, group: str) -> date:
    if group == "week":
        return date.fromisocalendar(*day.isocalendar()[:2], 1)
    return day.replace(day=1) if group == "month" else day


def reported_sums(report: dict[str, Any], group: str) -> dict[tuple[str, str, str, str], int]:
    sums = {}
    for period in report["periods"]:
        first = _first_day(date.fromisoformat(period["start"]), group).isoformat()
        for direction in ("in", "out"):
            flow = period[direction]
            for category in flow["categories"]:
                for kind in ("realized", "forecast"):
                    sums[(first, direction, kind, category["category"])] = category[kind]
            assert flow["realized"] == sum(c["realized"] for c in flow["categories"])
            assert flow["forecast"] == sum(c["forecast"] for c in flow["categories"])
        assert period["net"] == {
            kind: period["in"][kind] - period["out"][kind] for kind in ("realized", "forecast")
        }
    return {key: amount for key, amount in sums.items() if amount}


async def write_rows(
    database: Database, clock: FrozenClock, tenant_id: str, written: list[Row]
) -> None:
    """The rows as they stand after their moves, written straight into the tables: the report
    reads rows, whatever made them."""
    async with database.write() as session:
        customer = new_id("cus")
        supplier = new_id("sup")
        session.add_all(
            [
                _customer(customer, tenant_id, clock.now()),
                _supplier(supplier, tenant_id, clock.now()),
            ]
        )
    contract = await insert_contract(database, clock, tenant_id, customer)
    async with database.write() as session:
        for number, row in enumerate(written, start=1):
            if row.direction == "in":
                session.add(_charge(row, number, tenant_id, customer, contract, clock.now()))
            else:
                session.add(_expense(row, number, tenant_id, supplier, clock.now()))


def _customer(customer_id: str, tenant_id: str, now: datetime) -> Any:
    from assina.customers.models import Customer

    return Customer(
        id=customer_id,
        tenant_id=tenant_id,
        number=1,
        name="Ana",
        email=None,
        document=None,
        phone=None,
        address=None,
        status="active",
        metadata_={},
        created_at=now,
        updated_at=now,
    )


def _supplier(supplier_id: str, tenant_id: str, now: datetime) -> Any:
    from assina.suppliers.models import Supplier

    return Supplier(
        id=supplier_id,
        tenant_id=tenant_id,
        number=1,
        name="Fornecedor",
        document=None,
        email=None,
        phone=None,
        metadata_={},
        created_at=now,
        updated_at=now,
    )


def _charge(
    row: Row, number: int, tenant_id: str, customer: str, contract: str, now: datetime
) -> Charge:
    paid = row.status in ("settled", "reversed")
    return Charge(
        id=new_id("chg"),
        tenant_id=tenant_id,
        number=number,
        customer_id=customer,
        contract_id=contract if row.category == "contratos" else None,
        period_start=None,
        period_end=None,
        items=[],
        amount=row.amount,
        currency=row.currency,
        due_date=row.due,
        status=row.status,
        payment_method="pix",
        settled_at=row.paid_at if paid else None,
        settled_amount=row.paid_amount if paid else None,
        settlement_method="pix" if paid else None,
        fine_amount=0,
        interest_amount=0,
        pix_code=None,
        boleto_our_number=None,
        boleto_line=None,
        boleto_barcode=None,
        dunning_exempt=False,
        metadata_={},
        created_at=now,
        updated_at=now,
    )


def _expense(row: Row, number: int, tenant_id: str, supplier: str, now: datetime) -> Expense:
    paid = row.status in ("settled", "reversed")
    return Expense(
        id=new_id("exp"),
        tenant_id=tenant_id,
        number=number,
        supplier_id=supplier,
        description="Conta",
        category=row.category,
        cost_center=None,
        competence_date=row.due,
        due_date=row.due,
        amount=row.amount,
        currency=row.currency,
        document_number=None,
        boleto_line=None,
        status=row.status,
        paid_at=row.paid_at if paid else None,
        paid_amount=row.paid_amount if paid else None,
        metadata_={},
        created_at=now,
        updated_at=now,
    )


@settings(max_examples=20, deadline=None)
@given(
    written=st.lists(rows(), min_size=1, max_size=15),
    # Ranges that hold most of the rows, cut at either end (the period split by `from`).
    start=st.integers(0, 45).map(lambda d: FIRST_DAY + timedelta(days=d)),
    length=st.integers(0, (LAST_DAY - FIRST_DAY).days),
)
async def test_the_report_sums_equal_the_rows_sums_for_every_grouping(
    client: httpx.AsyncClient,
    database: Database,
    clock: FrozenClock,
    secret_box: SecretBox,
    written: list[Row],
    start: date,
    length: int,
) -> None:
    tenant = await make_tenant(database, clock, secret_box, "Fluxo")
    api = TenantClient(tenant, client)
    await write_rows(database, clock, tenant.tenant_id, written)
    end = min(start + timedelta(days=length), LAST_DAY)
    for group in GROUPS:
        response = await api.get(
            "/v1/reports/cash-flow",
            params={"from": start.isoformat(), "to": end.isoformat(), "group": group},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        expected = expected_sums(written, start, end, group)
        assert reported_sums(report, group) == {k: v for k, v in expected.items() if v}, group
        starts = [date.fromisoformat(p["start"]) for p in report["periods"]]
        assert starts[0] == start and date.fromisoformat(report["periods"][-1]["end"]) == end
        assert len(set(starts)) == len(starts)
        for direction in ("in", "out"):
            for kind in ("realized", "forecast"):
                assert report["totals"][direction][kind] == sum(
                    v for (_, d, k, _), v in expected.items() if (d, k) == (direction, kind)
                )


async def test_money_is_counted_by_local_date_and_reversals_count_nowhere(
    api: TenantClient, clock: FrozenClock
) -> None:
    """Through the API: a charge settled at 01:30 UTC on Jan 2 is Jan 1 in São Paulo."""
    customer = await new_customer(api)
    charge = await create_charge(api, customer, due_date="2026-01-30")
    settled_at = datetime(2026, 1, 2, 1, 30, tzinfo=UTC)
    await api.post(f"/v1/charges/{charge['id']}/settle", {"settled_at": iso(settled_at)})
    await create_charge(api, customer, due_date="2026-01-30")  # open: forecast
    refunded = await create_charge(api, customer, due_date="2026-01-30")
    await api.post(f"/v1/charges/{refunded['id']}/settle")
    await api.post(f"/v1/charges/{refunded['id']}/reverse")
    supplier = await new_supplier(api)
    rent = await create_expense(api, supplier, category="aluguel", amount=5000)
    await api.post(f"/v1/expenses/{rent['id']}/settle", {"paid_at": "2026-01-05T12:00:00Z"})
    await create_expense(api, supplier, amount=700, due_date="2026-02-02")
    back = await create_expense(api, supplier, amount=999)
    await api.post(f"/v1/expenses/{back['id']}/settle")
    await api.post(f"/v1/expenses/{back['id']}/reverse")
    report = (
        await api.get(
            "/v1/reports/cash-flow",
            params={"from": "2026-01-01", "to": "2026-02-28", "group": "day"},
        )
    ).json()
    by_day = {p["start"]: p for p in report["periods"]}
    assert len(by_day) == 59
    assert by_day["2026-01-01"]["in"]["realized"] == 10000
    assert by_day["2026-01-02"]["in"]["realized"] == 0
    assert by_day["2026-01-30"]["in"]["forecast"] == 10000
    assert by_day["2026-01-05"]["out"]["categories"] == [
        {"category": "aluguel", "realized": 5000, "forecast": 0}
    ]
    assert by_day["2026-02-02"]["out"]["forecast"] == 700
    assert report["totals"]["in"] == {
        "realized": 10000,
        "forecast": 10000,
        "categories": [{"category": "avulsas", "realized": 10000, "forecast": 10000}],
    }
    assert report["totals"]["out"]["realized"] == 5000
    assert report["totals"]["net"] == {"realized": 5000, "forecast": 9300}


async def _report(api: TenantClient, params: dict[str, str], accept: str) -> httpx.Response:
    headers = {**api.headers, "Accept": accept}
    return await api.http.get("/v1/reports/cash-flow", params=params, headers=headers)


async def test_csv_on_request(api: TenantClient) -> None:
    customer = await new_customer(api)
    await create_charge(api, customer, due_date="2026-01-30")
    supplier = await new_supplier(api)
    rent = await create_expense(api, supplier, category="aluguel", amount=123456)
    await api.post(f"/v1/expenses/{rent['id']}/settle", {"amount": 123401})
    await create_expense(api, supplier, category="folha", amount=5, due_date="2026-02-10")
    params = {"from": "2026-01-01", "to": "2026-02-15", "group": "week"}
    response = await _report(api, params, "text/csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table == [
        ["period_start", "period_end", "direction", "kind", "category", "amount", "currency"],
        ["2026-01-12", "2026-01-18", "out", "realized", "aluguel", "1234.01", "BRL"],
        ["2026-01-26", "2026-02-01", "in", "forecast", "avulsas", "100.00", "BRL"],
        ["2026-02-09", "2026-02-15", "out", "forecast", "folha", "0.05", "BRL"],
    ]
    # JSON stays the default, and wins when preferred.
    json_answer = await _report(api, params, "text/csv;q=0.5, application/json")
    assert json_answer.headers["content-type"].startswith("application/json")
    assert json_answer.json()["periods"][0] == {
        "start": "2026-01-01",
        "end": "2026-01-04",
        "in": {"realized": 0, "forecast": 0, "categories": []},
        "out": {"realized": 0, "forecast": 0, "categories": []},
        "net": {"realized": 0, "forecast": 0},
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-01", "to": "2026-01-31"}, "to"),
        ({"from": "2023-01-01", "to": "2026-01-02", "group": "day"}, "to"),
        ({"from": "2016-01-01", "to": "2026-01-02", "group": "month"}, "to"),
        ({"from": "1999-12-31", "to": "2000-01-02"}, "from"),
        ({"from": "2026-01-01", "to": "2026-01-02", "group": "year"}, "group"),
        ({"from": "2026-01-01"}, "to"),
        ({"from": "2026-1-1", "to": "2026-01-02"}, "from"),
    ],
)
async def test_a_bad_range_is_a_422(api: TenantClient, params: dict[str, str], field: str) -> None:
    assert_invalid(await api.get("/v1/reports/cash-flow", params=params), field)


async def test_the_longest_ranges_are_taken(api: TenantClient) -> None:
    for first, last, group in (
        ("2023-01-03", "2026-01-02", "day"),
        ("2016-01-01", "2025-12-31", "month"),
    ):
        params = {"from": first, "to": last, "group": group}
        assert (await api.get("/v1/reports/cash-flow", params=params)).status_code == 200


async def test_other_tenants_money_is_not_counted(
    api: TenantClient, other_api: TenantClient
) -> None:
    await create_charge(other_api, await new_customer(other_api), due_date="2026-01-30")
    await create_expense(other_api, await new_supplier(other_api))
    report = (
        await api.get("/v1/reports/cash-flow", params={"from": "2026-01-01", "to": "2026-01-31"})
    ).json()
    assert report["totals"]["in"]["forecast"] == report["totals"]["out"]["forecast"] == 0
    assert report["time_zone"] == "America/Sao_Paulo" and report["group"] == "month"
