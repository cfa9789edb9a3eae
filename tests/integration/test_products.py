"""Products over HTTP: create, read, list, PATCH, deactivate and DELETE, on both backends."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from assina.core.clock import FrozenClock
from tests.assertions import assert_invalid, assert_problem, iso
from tests.conftest import START, TenantClient

MISSING = "prd_00000000000000000000000000"


async def create(api: TenantClient, **fields: Any) -> dict[str, Any]:
    response = await api.post("/v1/products", {"name": "Plano Mensal", "amount": 9990, **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def list_all(api: TenantClient, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/products", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["has_more"] is False
    data: list[dict[str, Any]] = page["data"]
    return data


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# --- create and read ---------------------------------------------------------------------------


async def test_create_applies_the_defaults(api: TenantClient, clock: FrozenClock) -> None:
    response = await api.post("/v1/products", {"name": "Plano Mensal", "amount": 9990})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("prd_")
    assert body == {
        "id": body["id"],
        "number": 1,
        "name": "Plano Mensal",
        "description": None,
        "amount": 9990,
        "currency": "BRL",
        "interval": "month",
        "interval_count": 1,
        "trial_days": 0,
        "status": "active",
        "metadata": {},
        "created_at": iso(clock.now()),
        "updated_at": iso(clock.now()),
    }
    fetched = await api.get(f"/v1/products/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_create_with_every_field(api: TenantClient) -> None:
    sent = {
        "name": "Anuidade",
        "description": "Plano anual com 30 dias grátis",
        "amount": 119_900,
        "currency": "USD",
        "interval": "year",
        "interval_count": 2,
        "trial_days": 30,
        "metadata": {"sku": "ANU-1"},
    }
    body = await create(api, **sent)
    for field, value in sent.items():
        assert body[field] == value, field
    assert (await api.get(f"/v1/products/{body['id']}")).json() == body


@pytest.mark.parametrize("interval", ["day", "week", "month", "year", "once"])
async def test_every_interval_is_accepted(api: TenantClient, interval: str) -> None:
    assert (await create(api, interval=interval))["interval"] == interval


async def test_currency_is_upper_cased(api: TenantClient) -> None:
    assert (await create(api, currency="eur"))["currency"] == "EUR"


async def test_amount_bounds(api: TenantClient) -> None:
    assert (await create(api, amount=0))["amount"] == 0
    assert (await create(api, amount=10**15))["amount"] == 10**15
    assert_invalid(await api.post("/v1/products", {"name": "x", "amount": 10**15 + 1}), "amount")


async def test_whole_numbers_spelt_with_a_fraction_are_integers(api: TenantClient) -> None:
    """JSON Schema's `integer` is a mathematical integer: `100.0` is one (issue 13)."""
    created = await create(api, amount=100.0, interval_count=2.0)
    assert (created["amount"], created["interval_count"]) == (100, 2)
    assert isinstance(created["amount"], int)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "amount": 99.9}, "amount"),
        ({"name": "x", "amount": "100"}, "amount"),
        ({"name": "x", "amount": True}, "amount"),
        ({"name": "x", "amount": -1}, "amount"),
        ({"name": "x", "amount": None}, "amount"),
        ({"name": "x"}, "amount"),
        ({"amount": 100}, "name"),
        ({"name": "", "amount": 100}, "name"),
        ({"name": "x" * 201, "amount": 100}, "name"),
        ({"name": "x", "amount": 100, "description": "d" * 2001}, "description"),
        ({"name": "x", "amount": 100, "currency": "XYZ"}, "currency"),
        ({"name": "x", "amount": 100, "currency": "BR"}, "currency"),
        ({"name": "x", "amount": 100, "currency": "REAL"}, "currency"),
        ({"name": "x", "amount": 100, "interval": "fortnight"}, "interval"),
        ({"name": "x", "amount": 100, "interval_count": 0}, "interval_count"),
        ({"name": "x", "amount": 100, "interval_count": 37}, "interval_count"),
        ({"name": "x", "amount": 100, "interval_count": "2"}, "interval_count"),
        ({"name": "x", "amount": 100, "trial_days": -1}, "trial_days"),
        ({"name": "x", "amount": 100, "trial_days": 731}, "trial_days"),
        ({"name": "x", "amount": 100, "trial_days": "7"}, "trial_days"),
        ({"name": "x", "amount": 100, "status": "inactive"}, "status"),
        ({"name": "x", "amount": 100, "price": 100}, "price"),
        ({"name": "x", "amount": 100, "metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"name": "x", "amount": 100, "metadata": {"k": 5}}, "metadata.k"),
    ],
)
async def test_invalid_create_is_422_naming_the_field(
    api: TenantClient, payload: dict[str, Any], field: str
) -> None:
    assert_invalid(await api.post("/v1/products", payload), field)
    assert await list_all(api) == []


async def test_malformed_json_is_400(api: TenantClient) -> None:
    response = await api.http.post(
        "/v1/products",
        content=b'{"name": "x", "amount": 1',
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


async def test_unknown_id_is_404(api: TenantClient) -> None:
    body = assert_problem(await api.get(f"/v1/products/{MISSING}"), 404)
    assert MISSING in body["detail"]
    assert_problem(await api.patch(f"/v1/products/{MISSING}", {"name": "x"}), 404)
    assert_problem(await api.post(f"/v1/products/{MISSING}/deactivate"), 404)
    assert_problem(await api.delete(f"/v1/products/{MISSING}"), 404)


# --- PATCH -------------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(api: TenantClient, clock: FrozenClock) -> None:
    created = await create(api, description="antigo", metadata={"a": "1"})
    clock.advance(timedelta(minutes=3))
    changes = {"amount": 12990, "interval": "week", "interval_count": 2, "trial_days": 7}
    response = await api.patch(f"/v1/products/{created['id']}", changes)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {**created, **changes, "updated_at": iso(clock.now())}
    assert (await api.get(f"/v1/products/{created['id']}")).json() == body


async def test_patch_clears_description_and_replaces_metadata(api: TenantClient) -> None:
    created = await create(api, description="algo", metadata={"a": "1", "b": "2"})
    response = await api.patch(
        f"/v1/products/{created['id']}", {"description": None, "metadata": {"c": "3"}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] is None
    assert response.json()["metadata"] == {"c": "3"}


async def test_patch_currency_is_upper_cased(api: TenantClient) -> None:
    created = await create(api)
    response = await api.patch(f"/v1/products/{created['id']}", {"currency": "usd"})
    assert response.json()["currency"] == "USD"


async def test_patch_with_nothing_changed_keeps_updated_at(
    api: TenantClient, clock: FrozenClock
) -> None:
    created = await create(api)
    clock.advance(timedelta(hours=2))
    same = await api.patch(
        f"/v1/products/{created['id']}", {"amount": created["amount"], "currency": "brl"}
    )
    assert same.status_code == 200, same.text
    assert same.json() == created
    assert (await api.patch(f"/v1/products/{created['id']}", {})).json() == created


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"amount": None}, "amount"),
        ({"currency": None}, "currency"),
        ({"interval": None}, "interval"),
        ({"interval_count": None}, "interval_count"),
        ({"trial_days": None}, "trial_days"),
        ({"metadata": None}, "metadata"),
        ({"amount": 99.9}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"currency": "ABC"}, "currency"),
        ({"interval": "hour"}, "interval"),
        ({"status": "inactive"}, "status"),
        ({"number": 7}, "number"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    api: TenantClient, payload: dict[str, Any], field: str
) -> None:
    created = await create(api, description="d")
    assert_invalid(await api.patch(f"/v1/products/{created['id']}", payload), field)
    assert (await api.get(f"/v1/products/{created['id']}")).json() == created


# --- deactivate and delete -----------------------------------------------------------------------


async def test_deactivate(api: TenantClient, clock: FrozenClock) -> None:
    created = await create(api)
    clock.advance(timedelta(days=1))
    response = await api.post(f"/v1/products/{created['id']}/deactivate")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {**created, "status": "inactive", "updated_at": iso(clock.now())}
    assert (await api.get(f"/v1/products/{created['id']}")).json() == body


async def test_deactivating_twice_is_409(api: TenantClient) -> None:
    created = await create(api)
    assert (await api.post(f"/v1/products/{created['id']}/deactivate")).status_code == 200
    before = (await api.get(f"/v1/products/{created['id']}")).json()
    assert_problem(await api.post(f"/v1/products/{created['id']}/deactivate"), 409)
    assert (await api.get(f"/v1/products/{created['id']}")).json() == before


async def test_an_inactive_product_can_be_patched_and_deleted(api: TenantClient) -> None:
    created = await create(api)
    await api.post(f"/v1/products/{created['id']}/deactivate")
    patched = await api.patch(f"/v1/products/{created['id']}", {"name": "Legado"})
    assert patched.status_code == 200
    assert patched.json()["status"] == "inactive"
    assert (await api.delete(f"/v1/products/{created['id']}")).status_code == 200


async def test_delete_makes_the_product_disappear(api: TenantClient, clock: FrozenClock) -> None:
    kept = await create(api, name="Fica")
    gone = await create(api, name="Sai")
    clock.advance(timedelta(hours=1))
    response = await api.delete(f"/v1/products/{gone['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == gone["id"]
    assert response.json()["name"] == "Sai"

    assert_problem(await api.get(f"/v1/products/{gone['id']}"), 404)
    assert_problem(await api.patch(f"/v1/products/{gone['id']}", {"name": "x"}), 404)
    assert_problem(await api.post(f"/v1/products/{gone['id']}/deactivate"), 404)
    assert_problem(await api.delete(f"/v1/products/{gone['id']}"), 404)
    assert ids(await list_all(api)) == [kept["id"]]
    assert ids(await list_all(api, status="active")) == [kept["id"]]
    assert ids(await list_all(api, interval="month")) == [kept["id"]]
    assert (await api.get(f"/v1/products/{kept['id']}")).json() == kept


async def test_deleted_product_keeps_its_number(api: TenantClient) -> None:
    first = await create(api)
    await api.delete(f"/v1/products/{first['id']}")
    assert (await create(api))["number"] == 2


# --- lists ---------------------------------------------------------------------------------------


async def test_list_filters_by_status_and_interval(api: TenantClient) -> None:
    monthly = await create(api, name="Mensal")
    yearly = await create(api, name="Anual", interval="year")
    once = await create(api, name="Taxa", interval="once")
    await api.post(f"/v1/products/{yearly['id']}/deactivate")

    assert ids(await list_all(api)) == [monthly["id"], yearly["id"], once["id"]]
    assert ids(await list_all(api, status="active")) == [monthly["id"], once["id"]]
    assert ids(await list_all(api, status="inactive")) == [yearly["id"]]
    assert ids(await list_all(api, interval="year")) == [yearly["id"]]
    assert ids(await list_all(api, interval="once", status="active")) == [once["id"]]
    assert await list_all(api, interval="year", status="active") == []
    assert await list_all(api, interval="day") == []
    assert_invalid(await api.get("/v1/products", params={"status": "deleted"}), "status")
    assert_invalid(await api.get("/v1/products", params={"interval": "hour"}), "interval")


async def test_listed_products_equal_the_ones_read(api: TenantClient) -> None:
    a = await create(api, name="A", metadata={"x": "1"})
    b = await create(api, name="B", description="desc")
    assert await list_all(api) == [
        (await api.get(f"/v1/products/{a['id']}")).json(),
        (await api.get(f"/v1/products/{b['id']}")).json(),
    ]


async def test_list_filters_by_creation_time(api: TenantClient, clock: FrozenClock) -> None:
    first = await create(api, name="1")
    clock.advance(timedelta(days=1))
    second = await create(api, name="2")
    clock.advance(timedelta(days=1))
    third = await create(api, name="3")
    day = iso(START + timedelta(days=1))
    assert ids(await list_all(api, created_gte=day)) == [second["id"], third["id"]]
    assert ids(await list_all(api, created_lt=day)) == [first["id"]]
    assert_invalid(
        await api.get("/v1/products", params={"created_gte": "2026-01-16T12:00:00"}),
        "created_gte",
    )


async def test_pagination(api: TenantClient) -> None:
    created = [(await create(api, name=f"P{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    flags: list[bool] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["starting_after"] = cursor
        page = (await api.get("/v1/products", params=params)).json()
        seen += ids(page["data"])
        flags.append(page["has_more"])
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert seen == created
    assert flags == [True, True, False]


@pytest.mark.parametrize("limit", ["0", "101"])
async def test_bad_limit_is_422(api: TenantClient, limit: str) -> None:
    assert_invalid(await api.get("/v1/products", params={"limit": limit}), "limit")


# --- numbers -------------------------------------------------------------------------------------


async def test_numbers_are_per_tenant_and_separate_from_customers(
    api: TenantClient, other_api: TenantClient
) -> None:
    customer = await api.post("/v1/customers", {"name": "Ana"})
    assert customer.json()["number"] == 1
    assert (await create(api))["number"] == 1
    assert (await create(other_api))["number"] == 1
    assert (await create(api))["number"] == 2
    assert_invalid(await api.post("/v1/products", {"name": "x", "amount": 1.5}), "amount")
    assert (await create(api))["number"] == 3


async def test_concurrent_creates_get_numbers_1_to_n(api: TenantClient) -> None:
    responses = await asyncio.gather(
        *(api.post("/v1/products", {"name": f"P{i}", "amount": i}) for i in range(20))
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert sorted(r.json()["number"] for r in responses) == list(range(1, 21))
