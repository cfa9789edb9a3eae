"""Helpers for the contract and price index tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from assina.charges.models import Charge
from assina.contracts.models import Contract
from assina.core.ids import new_id
from assina.db.database import Database
from assina.tenants.counters import Counter, next_value
from tests.conftest import START, TenantClient
from tests.integration.fuzz_support import event_log

TODAY = "2026-01-15"  # START (12:00 UTC) in America/Sao_Paulo
MISSING_CONTRACT = "ctr_00000000000000000000000000"


async def new_customer(api: TenantClient, name: str = "Ana Souza", **fields: Any) -> str:
    response = await api.post("/v1/customers", {"name": name, **fields})
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def new_product(api: TenantClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Plano Mensal", "amount": 10000, **fields}
    response = await api.post("/v1/products", body)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


async def post_contract(
    api: TenantClient, customer_id: str, products: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    """POST /v1/contracts with one item per product (quantity 1), answering 201."""
    body = {
        "customer_id": customer_id,
        "items": [{"product_id": product["id"]} for product in products],
        **fields,
    }
    response = await api.post("/v1/contracts", body)
    assert response.status_code == 201, response.text
    contract: dict[str, Any] = response.json()
    return contract


async def new_contract(api: TenantClient, **fields: Any) -> dict[str, Any]:
    """A contract of a new customer for a new monthly product of 10000 (unless told)."""
    customer_id = fields.pop("customer_id", None) or await new_customer(api)
    product = fields.pop("product", None) or await new_product(api)
    return await post_contract(api, customer_id, [product], **fields)


async def read_contract(api: TenantClient, contract_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/contracts/{contract_id}")
    assert response.status_code == 200, response.text
    contract: dict[str, Any] = response.json()
    return contract


async def list_contracts(api: TenantClient, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/contracts", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    assert response.json()["has_more"] is False
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def stored(database: Database, contract_id: str) -> Contract:
    """The contract's row, with the fields the API does not show."""
    async with database.read() as session:
        contract = await session.scalar(select(Contract).where(Contract.id == contract_id))
        assert contract is not None
        session.expunge(contract)  # readable after the transaction ends
        return contract


async def set_billed(
    database: Database, contract_id: str, next_period: int, stub_amount: int = 0
) -> None:
    """What the calendar does when it charges: periods before `next_period` are charged (and
    the stub, when `stub_amount` is 0)."""
    async with database.write() as session:
        contract = await session.get(Contract, contract_id)
        assert contract is not None
        contract.next_period = next_period
        contract.stub_amount = stub_amount


async def insert_charge(database: Database, contract: dict[str, Any], tenant_id: str) -> str:
    """A charge row for the contract, written directly (as the calendar would)."""
    async with database.write() as session:
        charge = Charge(
            id=new_id("chg"),
            tenant_id=tenant_id,
            number=await next_value(session, tenant_id, Counter.CHARGE_NUMBER),
            customer_id=contract["customer_id"],
            contract_id=contract["id"],
            period_start=date.fromisoformat(contract["start_date"]),
            period_end=None,
            items=contract["items"],
            amount=contract["amount"],
            currency=contract["currency"],
            due_date=date.fromisoformat(contract["start_date"]),
            status="open",
            payment_method=contract["payment_method"],
            settled_at=None,
            settled_amount=None,
            settlement_method=None,
            fine_amount=0,
            interest_amount=0,
            pix_code=None,
            boleto_line=None,
            dunning_exempt=False,
            metadata_={},
            created_at=START,
            updated_at=START,
        )
        session.add(charge)
        return charge.id


async def contract_events(api: TenantClient) -> list[dict[str, Any]]:
    return [event for event in await event_log(api) if event["type"].startswith("contract.")]


def item(product: dict[str, Any], quantity: int = 1, amount: int | None = None) -> dict[str, Any]:
    """An item as the API shows it: unit amount and description from the product by default."""
    return {
        "product_id": product["id"],
        "description": product["name"],
        "quantity": quantity,
        "amount": product["amount"] if amount is None else amount,
    }
