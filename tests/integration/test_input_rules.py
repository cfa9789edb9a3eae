"""Inputs a person or a program could slip past the shapes (issue 13, point 7), on both
backends: names that are only spaces or carry line breaks or bidirectional overrides, time
zones that are not places, and timestamps that are not RFC 3339. Each is a 422 naming the
field, and nothing changes."""

from __future__ import annotations

import pytest

from tests.assertions import assert_problem
from tests.conftest import TenantClient

BAD_NAMES = [
    "   ",
    "\t",
    "Ana\r\nBcc: todos@example.com",
    "Ana\x0bSouza",
    "\u202eanauoS",
    "Ana \u2066Souza\u2069",
]


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_a_name_must_read_as_written(api: TenantClient, name: str) -> None:
    customer = await api.post("/v1/customers", {"name": name})
    product = await api.post("/v1/products", {"name": name, "amount": 100})
    tenant = await api.patch("/v1/tenant", {"name": name})
    for response in (customer, product, tenant):
        assert_problem(response, 422)
        assert response.json()["errors"][0]["field"] == "name", response.text
    assert (await api.get("/v1/customers")).json()["data"] == []
    assert (await api.get("/v1/products")).json()["data"] == []
    assert (await api.get("/v1/tenant")).json()["name"] == "Escola Alfa"


async def test_names_are_trimmed(api: TenantClient) -> None:
    created = await api.post("/v1/customers", {"name": "  Ana Souza \n"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Ana Souza"
    renamed = await api.patch(f"/v1/customers/{created.json()['id']}", {"name": " Bia "})
    assert renamed.json()["name"] == "Bia"
    # Accents, apostrophes and inner spaces are names too.
    accented = await api.post("/v1/products", {"name": "Matrícula d'Ávila  2026", "amount": 1})
    assert accented.json()["name"] == "Matrícula d'Ávila  2026"


@pytest.mark.parametrize("zone", ["localtime", "Factory", "america/sao_paulo", "UTC+3"])
async def test_a_time_zone_is_a_place(api: TenantClient, zone: str) -> None:
    response = await api.patch("/v1/tenant", {"time_zone": zone})
    assert_problem(response, 422)
    assert (await api.get("/v1/tenant")).json()["time_zone"] == "America/Sao_Paulo"
    assert (await api.patch("/v1/tenant", {"time_zone": "America/Manaus"})).status_code == 200


@pytest.mark.parametrize(
    "instant",
    ["0.5", "1700000000", "2026-01-15", "2026-01-15T12:00:00", "2026-01-15 12:00:00Z", "now"],
)
async def test_timestamps_are_rfc_3339_with_a_zone(api: TenantClient, instant: str) -> None:
    listed = await api.get("/v1/customers", params={"created_lt": instant})
    assert_problem(listed, 422)
    customer = await api.post("/v1/customers", {"name": "Ana"})
    charge = await api.post(
        "/v1/charges",
        {
            "customer_id": customer.json()["id"],
            "items": [{"description": "Aula", "amount": 100}],
            "due_date": "2026-01-20",
        },
    )
    settle = await api.post(f"/v1/charges/{charge.json()['id']}/settle", {"settled_at": instant})
    assert_problem(settle, 422)
    assert (await api.get(f"/v1/charges/{charge.json()['id']}")).json()["status"] == "open"


@pytest.mark.parametrize(
    "instant", ["2026-01-15T12:00:00Z", "2026-01-15t09:00:00.5-03:00", "2026-01-15T12:00:00z"]
)
async def test_rfc_3339_timestamps_are_read(api: TenantClient, instant: str) -> None:
    listed = await api.get("/v1/customers", params={"created_lt": instant})
    assert listed.status_code == 200, listed.text
