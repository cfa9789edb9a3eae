"""Price index values over HTTP (record, replace, list) and `last_twelve`, on both backends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from assina.core.errors import Problem
from assina.db.database import Database
from assina.price_indexes.service import last_twelve, twelve_months_to
from tests.assertions import assert_invalid
from tests.conftest import TenantClient
from tests.integration.fuzz_support import database_state


async def put(api: TenantClient, path: str, body: Any) -> httpx.Response:
    return await api.http.put(path, json=body, headers=api.headers)


async def record(api: TenantClient, index: str, month: str, percent: Any) -> dict[str, Any]:
    response = await put(api, f"/v1/price-indexes/{index}/values/{month}", {"percent": percent})
    assert response.status_code == 200, response.text
    answered: dict[str, Any] = response.json()
    return answered


async def listed(api: TenantClient, index: str, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/price-indexes/{index}/values", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_record_answers_four_places(api: TenantClient) -> None:
    assert await record(api, "IPCA", "2025-12", "0.45") == {
        "index": "IPCA",
        "month": "2025-12",
        "percent": "0.4500",
    }
    assert (await record(api, "IGPM", "2025-12", 0.45))["percent"] == "0.4500"
    assert (await record(api, "IGPM", "2025-11", -0.21))["percent"] == "-0.2100"
    assert (await record(api, "IGPM", "2025-10", "-0"))["percent"] == "0.0000"
    assert (await record(api, "IGPM", "2025-09", 1000))["percent"] == "1000.0000"
    assert (await record(api, "IGPM", "2025-08", "-99.9999"))["percent"] == "-99.9999"


async def test_recording_a_month_again_replaces_it(api: TenantClient) -> None:
    await record(api, "IPCA", "2026-01", "0.3")
    await record(api, "IPCA", "2026-01", "0.33")
    assert await listed(api, "IPCA") == [{"index": "IPCA", "month": "2026-01", "percent": "0.3300"}]


async def test_list_by_index_range_and_page(api: TenantClient, other_api: TenantClient) -> None:
    for month in ("2025-10", "2025-11", "2025-12", "2026-01"):
        await record(api, "IPCA", month, "0.1")
    await record(api, "IGPM", "2025-11", "0.2")
    months = [v["month"] for v in await listed(api, "IPCA")]
    assert months == ["2025-10", "2025-11", "2025-12", "2026-01"]
    assert [
        v["month"] for v in await listed(api, "IPCA", **{"from": "2025-11", "to": "2025-12"})
    ] == [
        "2025-11",
        "2025-12",
    ]
    assert [v["month"] for v in await listed(api, "IGPM")] == ["2025-11"]
    page = (await api.get("/v1/price-indexes/IPCA/values", params={"limit": 3})).json()
    assert ([v["month"] for v in page["data"]], page["has_more"]) == (months[:3], True)
    rest = await listed(api, "IPCA", starting_after="2025-12")
    assert [v["month"] for v in rest] == ["2026-01"]
    assert await listed(other_api, "IPCA") == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/price-indexes/INPC/values/2025-01", {"percent": 1}, "index"),
        ("/v1/price-indexes/ipca/values/2025-01", {"percent": 1}, "index"),
        ("/v1/price-indexes/IPCA/values/2025-13", {"percent": 1}, "month"),
        ("/v1/price-indexes/IPCA/values/2025-1", {"percent": 1}, "month"),
        ("/v1/price-indexes/IPCA/values/1989-12", {"percent": 1}, "month"),
        ("/v1/price-indexes/IPCA/values/2101-01", {"percent": 1}, "month"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": -100}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": "1000.0001"}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": 0.00001}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": "1e3"}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": "1_0"}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": "NaN"}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": True}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": None}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {}, "percent"),
        ("/v1/price-indexes/IPCA/values/2025-01", {"percent": 1, "source": "IBGE"}, "source"),
    ],
)
async def test_invalid_record_is_422_and_writes_nothing(
    api: TenantClient, database: Database, path: str, body: dict[str, Any], field: str
) -> None:
    before = await database_state(database)
    assert_invalid(await put(api, path, body), field)
    assert await database_state(database) == before


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "2025-13"}, "from"), ({"to": "25-01"}, "to"), ({"limit": 0}, "limit")],
)
async def test_invalid_list_query_is_422(
    api: TenantClient, params: dict[str, Any], field: str
) -> None:
    assert_invalid(await api.get("/v1/price-indexes/IPCA/values", params=params), field)


def test_twelve_months_cross_the_year() -> None:
    assert twelve_months_to("2026-02") == [
        "2025-03",
        "2025-04",
        "2025-05",
        "2025-06",
        "2025-07",
        "2025-08",
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    assert twelve_months_to("2025-12")[0] == "2025-01"


async def test_last_twelve(api: TenantClient, database: Database) -> None:
    months = twelve_months_to("2026-02")
    for n, month in enumerate(months):
        await record(api, "IGPM", month, f"0.{n + 1:02d}")
    await record(api, "IGPM", "2025-02", "9")  # the 13th month back is not used
    tenant_id = api.tenant.tenant_id
    async with database.read() as session:
        values = await last_twelve(session, tenant_id, "IGPM", "2026-02")
        assert values == [Decimal(f"0.{n + 1:02d}") for n in range(12)]
        with pytest.raises(Problem) as refused:
            await last_twelve(session, tenant_id, "IGPM", "2026-03")
        assert refused.value.status == 422
        assert refused.value.errors[0].field == "reference_month"
        assert "2026-03" in refused.value.detail
        assert "2025-03" not in refused.value.detail
