"""What the registration tests share: a charge's registrations read, a tenant on Asaas for
both rails with a charge there, the live payments the Asaas stand-in holds for a charge."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.conftest import TenantClient
from tests.integration.asaas_adapter_support import WEBHOOK_TOKEN
from tests.integration.asaas_model import Payment
from tests.integration.asaas_standin import STANDIN_API_KEY, AsaasStandin
from tests.integration.charge_support import create_charge, line

AMOUNT = 15_990


async def due_in(api: TenantClient, days: int) -> str:
    today = date.fromisoformat((await api.get("/v1/test-clock")).json()["today"])
    return (today + timedelta(days=days)).isoformat()


async def registrations(api: TenantClient, charge_id: str) -> list[dict[str, Any]]:
    listed = await api.get(f"/v1/charges/{charge_id}/registrations")
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def use_asaas_for_both(api: TenantClient) -> None:
    body = {
        "pix": {"provider": "asaas"},
        "boleto": {"provider": "asaas"},
        "asaas": {"api_key": STANDIN_API_KEY, "webhook_token": WEBHOOK_TOKEN},
    }
    saved = await api.http.put("/v1/payment-settings", json=body, headers=api.headers)
    assert saved.status_code == 200, saved.text


async def asaas_charge(api: TenantClient, document: str | None = "52998224725") -> str:
    customer = {"name": "Ana Souza", **({"document": document} if document else {})}
    made = await api.post("/v1/customers", customer)
    assert made.status_code == 201, made.text
    charge = await create_charge(
        api,
        made.json()["id"],
        items=[line(AMOUNT)],
        due_date="2026-03-20",
        payment_method="boleto",
    )
    return str(charge["id"])


def payments_of(standin: AsaasStandin, charge_id: str) -> list[Payment]:
    """The live payments Asaas holds for a charge."""
    return [
        payment
        for payment in standin.payments.values()
        if payment.external_reference == charge_id and not payment.deleted
    ]
