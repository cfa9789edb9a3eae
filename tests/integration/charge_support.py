"""Helpers for the charge and billing-settings tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from assina.contracts.models import Contract
from assina.core.clock import FrozenClock
from assina.core.ids import new_id
from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.fuzz_support import database_state, event_log

PIX_SETTINGS = {
    "pix_key": "123e4567-e12b-12d1-a456-426655440000",
    "merchant_name": "Escola Alfa Ltda",
    "merchant_city": "São Paulo",
}


async def new_customer(api: TenantClient, name: str = "Ana Souza") -> str:
    response = await api.post("/v1/customers", {"name": name})
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def new_product(api: TenantClient, **fields: Any) -> dict[str, Any]:
    response = await api.post("/v1/products", {"name": "Mensalidade", "amount": 45000, **fields})
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def line(amount: int = 10000, quantity: int = 1, description: str = "Aula") -> dict[str, Any]:
    return {"description": description, "amount": amount, "quantity": quantity}


async def create_charge(
    api: TenantClient, customer_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = {
        "customer_id": customer_id or await new_customer(api),
        "items": [line()],
        "due_date": "2026-01-10",
        **fields,
    }
    response = await api.post("/v1/charges", body)
    assert response.status_code == 201, response.text
    charge: dict[str, Any] = response.json()
    return charge


async def read_charge(api: TenantClient, charge_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/charges/{charge_id}")
    assert response.status_code == 200, response.text
    charge: dict[str, Any] = response.json()
    return charge


async def charge_events(api: TenantClient) -> list[dict[str, Any]]:
    return [event for event in await event_log(api) if event["type"].startswith("charge.")]


async def event_ids_about(api: TenantClient, customer_id: str) -> list[str]:
    """The ids of the charge events filed under this customer (filters, per-customer order)."""
    response = await api.get("/v1/events", params={"customer_id": customer_id, "limit": 100})
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["data"] if e["type"].startswith("charge.")]


async def state(api: TenantClient, database: Database) -> tuple[dict[str, list[str]], int]:
    """Every row of every table and the number of events: to show a refusal changed nothing."""
    return await database_state(database), len(await event_log(api))


async def insert_contract(
    database: Database, clock: FrozenClock, tenant_id: str, customer: str
) -> str:
    """A bare active contract row, for charges the billing calendar would issue."""
    contract_id = new_id("ctr")
    async with database.write() as session:
        session.add(
            Contract(
                id=contract_id,
                tenant_id=tenant_id,
                number=1,
                customer_id=customer,
                items=[],
                amount=10000,
                currency="BRL",
                status="active",
                interval="month",
                interval_count=1,
                billing_day=10,
                start_date=date(2026, 1, 10),
                trial_end=None,
                anchor_date=date(2026, 1, 10),
                next_period=0,
                stub_amount=0,
                payment_method="pix",
                pending_adjustment=0,
                readjustment_index=None,
                last_readjusted_on=None,
                next_step_on=None,
                cancel_at_period_end=False,
                cancelled_at=None,
                cancel_reason=None,
                dunning_exempt=False,
                metadata_={},
                created_at=clock.now(),
                updated_at=clock.now(),
                deleted_at=None,
            )
        )
    return contract_id
