from __future__ import annotations

from tests.conftest import TenantClient


async def test_create_and_read_customer(api: TenantClient) -> None:
    created = await api.post("/v1/customers", {"name": "Ana", "document": "529.982.247-25"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["document"] == "52998224725"
    fetched = await api.get(f"/v1/customers/{body['id']}")
    assert fetched.json() == body
    events = (await api.get("/v1/events")).json()["data"]
    assert [e["type"] for e in events] == ["customer.created"]
