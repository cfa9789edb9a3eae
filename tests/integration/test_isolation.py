"""Tenants never see each other: another tenant's object answers exactly like a missing one, lists
never leak, and nothing changes for the owner. Every tenant-scoped endpoint needs a valid key."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import TenantClient

PROBLEM = "application/problem+json"
CPF = "529.982.247-25"


@dataclass
class World:
    """The owner's objects, in every state an endpoint can act on."""

    customer: dict[str, Any]  # active
    inactive_customer: dict[str, Any]
    product: dict[str, Any]  # active
    inactive_product: dict[str, Any]
    event: dict[str, Any]


async def build_world(api: TenantClient) -> World:
    customer = await api.post(
        "/v1/customers", {"name": "Ana", "email": "ana@example.com", "document": CPF}
    )
    inactive = await api.post("/v1/customers", {"name": "Bia"})
    product = await api.post("/v1/products", {"name": "Plano", "amount": 9990})
    inactive_product = await api.post("/v1/products", {"name": "Velho", "amount": 100})
    for response in (customer, inactive, product, inactive_product):
        assert response.status_code == 201, response.text
    deactivated = await api.post(f"/v1/customers/{inactive.json()['id']}/deactivate")
    assert deactivated.status_code == 200
    dead_product = await api.post(f"/v1/products/{inactive_product.json()['id']}/deactivate")
    assert dead_product.status_code == 200
    events = (await api.get("/v1/events", params={"limit": 100})).json()["data"]
    return World(
        customer=customer.json(),
        inactive_customer=deactivated.json(),
        product=product.json(),
        inactive_product=dead_product.json(),
        event=events[0],
    )


async def snapshot(api: TenantClient) -> dict[str, Any]:
    """Everything a tenant can see."""
    result: dict[str, Any] = {}
    for things in ("customers", "products", "events"):
        response = await api.get(f"/v1/{things}", params={"limit": 100})
        assert response.status_code == 200, response.text
        result[things] = response.json()
    return result


def missing_like(object_id: str) -> str:
    """An id of the same kind and length that names nothing."""
    prefix, _, rest = object_id.partition("_")
    return f"{prefix}_{'0' * len(rest)}"


async def call(client: TenantClient, method: str, path: str, body: object = None) -> httpx.Response:
    if method == "GET":
        return await client.get(path)
    if method == "PATCH":
        return await client.patch(path, body)
    if method == "DELETE":
        return await client.delete(path)
    return await client.post(path, body)


def by_id_requests(world: World) -> list[tuple[str, str, object]]:
    """(method, path with the owner's id, body) for every endpoint that takes an id."""
    cus = world.customer["id"]
    gone = world.inactive_customer["id"]
    prd = world.product["id"]
    old = world.inactive_product["id"]
    return [
        ("GET", f"/v1/customers/{cus}", None),
        ("PATCH", f"/v1/customers/{cus}", {"name": "Invasor"}),
        ("PATCH", f"/v1/customers/{cus}", {}),
        ("POST", f"/v1/customers/{cus}/deactivate", None),
        # Would be a 409 for the owner: another tenant must not learn that either.
        ("POST", f"/v1/customers/{cus}/reactivate", None),
        ("POST", f"/v1/customers/{gone}/reactivate", None),
        ("POST", f"/v1/customers/{gone}/deactivate", None),
        ("GET", f"/v1/products/{prd}", None),
        ("PATCH", f"/v1/products/{prd}", {"amount": 1}),
        ("POST", f"/v1/products/{prd}/deactivate", None),
        ("POST", f"/v1/products/{old}/deactivate", None),
        ("DELETE", f"/v1/products/{prd}", None),
        ("DELETE", f"/v1/products/{old}", None),
        ("GET", f"/v1/events/{world.event['id']}", None),
    ]


# --- another tenant's objects are 404, exactly like missing ones ---------------------------------


async def test_every_endpoint_answers_404_for_another_tenants_object(
    api: TenantClient, other_api: TenantClient
) -> None:
    world = await build_world(api)
    await other_api.post("/v1/customers", {"name": "Cliente do outro"})
    owner_before = await snapshot(api)
    other_before = await snapshot(other_api)

    for method, path, body in by_id_requests(world):
        foreign = await call(other_api, method, path, body)
        object_id = path.split("/")[3]
        missing_id = missing_like(object_id)
        missing = await call(other_api, method, path.replace(object_id, missing_id), body)

        label = f"{method} {path}"
        assert foreign.status_code == 404, (label, foreign.text)
        assert missing.status_code == 404, (label, missing.text)
        assert foreign.headers["content-type"] == missing.headers["content-type"], label
        assert foreign.headers["content-type"].startswith(PROBLEM), label
        foreign_body = foreign.json()
        assert set(foreign_body) == set(missing.json()), label
        # The same answer, word for word, but for the id that was asked about.
        expected = {
            k: (v.replace(missing_id, object_id) if isinstance(v, str) else v)
            for k, v in missing.json().items()
        }
        assert foreign_body == expected, label

        # The owner sees the object as it was.
        owner_view = await call(api, "GET", path.split("/deactivate")[0].split("/reactivate")[0])
        assert owner_view.status_code == 200, label

    assert await snapshot(api) == owner_before
    assert await snapshot(other_api) == other_before


async def test_the_owner_still_acts_on_its_objects_afterwards(
    api: TenantClient, other_api: TenantClient
) -> None:
    world = await build_world(api)
    for method, path, body in by_id_requests(world):
        await call(other_api, method, path, body)
    cus, prd = world.customer["id"], world.product["id"]
    assert (await api.get(f"/v1/customers/{cus}")).json() == world.customer
    assert (await api.get(f"/v1/products/{prd}")).json() == world.product
    assert (await api.post(f"/v1/customers/{cus}/deactivate")).status_code == 200
    assert (await api.post(f"/v1/products/{prd}/deactivate")).status_code == 200
    assert (await api.delete(f"/v1/products/{prd}")).status_code == 200


# --- lists ---------------------------------------------------------------------------------------


async def test_lists_show_only_the_callers_objects(
    api: TenantClient, other_api: TenantClient
) -> None:
    world = await build_world(api)
    theirs = (
        await other_api.post(
            "/v1/customers", {"name": "Ana", "email": "ana@example.com", "document": CPF}
        )
    ).json()
    their_product = (await other_api.post("/v1/products", {"name": "P", "amount": 1})).json()

    other_view = await snapshot(other_api)
    assert [c["id"] for c in other_view["customers"]["data"]] == [theirs["id"]]
    assert [p["id"] for p in other_view["products"]["data"]] == [their_product["id"]]
    assert [e["type"] for e in other_view["events"]["data"]] == [
        "customer.created",
        "product.created",
    ]
    assert all(e["tenant_id"] == other_api.tenant.tenant_id for e in other_view["events"]["data"])

    owner_view = await snapshot(api)
    owner_customers = {c["id"] for c in owner_view["customers"]["data"]}
    assert owner_customers == {world.customer["id"], world.inactive_customer["id"]}
    assert {p["id"] for p in owner_view["products"]["data"]} == {
        world.product["id"],
        world.inactive_product["id"],
    }
    assert all(e["tenant_id"] == api.tenant.tenant_id for e in owner_view["events"]["data"])
    assert theirs["id"] not in {e["data"]["id"] for e in owner_view["events"]["data"]}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/customers", {"email": "ana@example.com"}),
        ("/v1/customers", {"document": CPF}),
        ("/v1/customers", {"status": "inactive"}),
        ("/v1/products", {"status": "inactive"}),
        ("/v1/products", {"interval": "month"}),
        ("/v1/events", {"type": "customer.created"}),
        ("/v1/events", {"type": "customer.deactivated"}),
    ],
)
async def test_filters_never_reach_another_tenant(
    api: TenantClient, other_api: TenantClient, path: str, params: dict[str, str]
) -> None:
    await build_world(api)
    owner = (await api.get(path, params=params)).json()
    assert owner["data"], "the owner should match this filter"
    response = await other_api.get(path, params=params)
    assert response.status_code == 200
    assert response.json() == {"data": [], "has_more": False}


async def test_event_filter_by_another_tenants_customer_is_empty(
    api: TenantClient, other_api: TenantClient
) -> None:
    world = await build_world(api)
    customer_id = world.customer["id"]
    assert (await api.get("/v1/events", params={"customer_id": customer_id})).json()["data"]
    response = await other_api.get("/v1/events", params={"customer_id": customer_id})
    assert response.json() == {"data": [], "has_more": False}


async def test_cursor_from_another_tenant_reveals_nothing(
    api: TenantClient, other_api: TenantClient
) -> None:
    world = await build_world(api)
    mine = [(await other_api.post("/v1/customers", {"name": f"B{i}"})).json() for i in range(2)]
    mine_products = [
        (await other_api.post("/v1/products", {"name": f"P{i}", "amount": 1})).json()
        for i in range(2)
    ]
    for path, cursor, expected in [
        ("/v1/customers", world.customer["id"], [c["id"] for c in mine]),
        ("/v1/products", world.product["id"], [p["id"] for p in mine_products]),
    ]:
        page = (await other_api.get(path, params={"starting_after": cursor})).json()
        assert [x["id"] for x in page["data"]] == expected
    events = await other_api.get("/v1/events", params={"starting_after": world.event["id"]})
    assert all(e["tenant_id"] == other_api.tenant.tenant_id for e in events.json()["data"])
    assert len(events.json()["data"]) == 4


async def test_idempotency_keys_are_per_tenant(api: TenantClient, other_api: TenantClient) -> None:
    key = {"Idempotency-Key": "same-key"}
    mine = await api.post("/v1/customers", {"name": "Ana"}, headers=key)
    same_body = await other_api.post("/v1/customers", {"name": "Ana"}, headers=key)
    other_body = await other_api.post("/v1/products", {"name": "P", "amount": 1}, headers=key)
    assert mine.status_code == 201
    assert same_body.status_code == 201, same_body.text
    assert same_body.json()["id"] != mine.json()["id"]
    assert "Idempotent-Replayed" not in same_body.headers
    # The other tenant's own key now exists, and answers 409 for another request.
    assert other_body.status_code == 409
    assert len((await snapshot(api))["customers"]["data"]) == 1
    assert [c["id"] for c in (await snapshot(other_api))["customers"]["data"]] == [
        same_body.json()["id"]
    ]


# --- 401 -----------------------------------------------------------------------------------------


def endpoints(world: World) -> list[tuple[str, str, object]]:
    cus = world.customer["id"]
    prd = world.product["id"]
    return [
        ("GET", "/v1/customers", None),
        ("POST", "/v1/customers", {"name": "Intruso"}),
        ("POST", "/v1/customers", {"name": ""}),  # invalid too: still 401 first
        ("GET", f"/v1/customers/{cus}", None),
        ("GET", "/v1/customers/cus_00000000000000000000000000", None),
        ("PATCH", f"/v1/customers/{cus}", {"name": "Intruso"}),
        ("POST", f"/v1/customers/{cus}/deactivate", None),
        ("POST", f"/v1/customers/{world.inactive_customer['id']}/reactivate", None),
        ("GET", "/v1/products", None),
        ("POST", "/v1/products", {"name": "Intruso", "amount": 1}),
        ("GET", f"/v1/products/{prd}", None),
        ("PATCH", f"/v1/products/{prd}", {"amount": 1}),
        ("POST", f"/v1/products/{prd}/deactivate", None),
        ("DELETE", f"/v1/products/{prd}", None),
        ("GET", "/v1/events", None),
        ("GET", f"/v1/events/{world.event['id']}", None),
        ("GET", "/v1/event-types", None),
        ("GET", "/v1/tenant", None),
        ("PATCH", "/v1/tenant", {"name": "Intruso"}),
    ]


def bad_credentials(api: TenantClient) -> dict[str, dict[str, str]]:
    key = api.tenant.api_key
    return {
        "no header": {},
        "wrong key": {"Authorization": "Bearer sk_this_is_not_a_key"},
        "key with a typo": {"Authorization": f"Bearer {key[:-1]}{'A' if key[-1] != 'A' else 'B'}"},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
        "token scheme": {"Authorization": f"Token {key}"},
        "bare key": {"Authorization": key},
        "key in another header": {"X-API-Key": key},
    }


async def test_every_endpoint_needs_a_valid_bearer_key(
    api: TenantClient, client: httpx.AsyncClient
) -> None:
    world = await build_world(api)
    before = await snapshot(api)
    tenant_before = (await api.get("/v1/tenant")).json()
    for case, headers in bad_credentials(api).items():
        for method, path, body in endpoints(world):
            response = await client.request(method, path, json=body, headers=headers)
            label = f"{case}: {method} {path}"
            assert response.status_code == 401, (label, response.text)
            assert response.headers["content-type"].startswith(PROBLEM), label
            assert response.headers["www-authenticate"].lower().startswith("bearer"), label
            problem = response.json()
            assert problem["status"] == 401, label
            assert {"type", "title", "status", "detail"} <= set(problem), label
            assert "errors" not in problem, label
    assert await snapshot(api) == before
    assert (await api.get("/v1/tenant")).json() == tenant_before


async def test_the_scheme_name_is_case_insensitive(
    api: TenantClient, client: httpx.AsyncClient
) -> None:
    for scheme in ("bearer", "BEARER", "Bearer"):
        headers = {"Authorization": f"{scheme} {api.tenant.api_key}"}
        response = await client.get("/v1/customers", headers=headers)
        assert response.status_code == 200, (scheme, response.text)


async def test_one_tenants_key_acts_only_as_that_tenant(
    api: TenantClient, other_api: TenantClient
) -> None:
    created = (await other_api.post("/v1/customers", {"name": "Do outro"})).json()
    assert (await api.get(f"/v1/customers/{created['id']}")).status_code == 404
    assert (await api.get("/v1/tenant")).json()["id"] == api.tenant.tenant_id
    assert (await other_api.get("/v1/tenant")).json()["id"] == other_api.tenant.tenant_id
