"""Helpers for the expense, supplier and cash-flow tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from assina.rules.boleto import banco_do_brasil_free_field, barcode, digitable_line
from tests.conftest import TenantClient

CNPJ = "11.222.333/0001-81"


async def new_supplier(api: TenantClient, name: str = "Papelaria Central", **fields: Any) -> str:
    response = await api.post("/v1/suppliers", {"name": name, **fields})
    assert response.status_code == 201, response.text
    supplier_id: str = response.json()["id"]
    return supplier_id


def expense_body(supplier_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "supplier_id": supplier_id,
        "description": "Material de escritório",
        "category": "suprimentos",
        "amount": 12990,
        "due_date": "2026-01-20",
        **fields,
    }


async def create_expense(
    api: TenantClient, supplier_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = expense_body(supplier_id or await new_supplier(api), **fields)
    response = await api.post("/v1/expenses", body)
    assert response.status_code == 201, response.text
    expense: dict[str, Any] = response.json()
    return expense


def boleto_line(amount: int, due: date, our_number: str = "777700168") -> str:
    """A Banco do Brasil line (convênio of 8 digits) paying `amount` centavos on `due`."""
    free = banco_do_brasil_free_field(agreement="12387989", our_number=our_number, wallet="18")
    return digitable_line(barcode(bank_code="001", amount=amount, due=due, free_field=free))
