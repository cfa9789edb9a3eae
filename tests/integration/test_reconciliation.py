"""The worker's reconciliation: every tenant's providers are asked what they received, and a
payment whose notification was lost settles its charge once (the sandbox, and Asaas through
its stand-in)."""

from __future__ import annotations

from datetime import date, timedelta

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.payments.asaas.adapter import AsaasProvider
from assina.payments.connections import ProviderConnections
from assina.payments.reconciliation import reconcile_every_tenant
from tests.conftest import TenantClient
from tests.integration.asaas_adapter_support import WEBHOOK_TOKEN, order
from tests.integration.asaas_standin import STANDIN_API_KEY, AsaasStandin
from tests.integration.charge_support import create_charge, line, read_charge
from tests.integration.payment_support import LiveApp

AMOUNT = 4_321


async def test_a_lost_sandbox_notification_is_found_by_the_periodic_pass(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    today = date.fromisoformat((await api.get("/v1/test-clock")).json()["today"])
    charge = await create_charge(
        api, items=[line(AMOUNT)], due_date=(today + timedelta(days=3)).isoformat()
    )
    live.connections.sandbox.notifying = False
    paid = await api.post(f"/v1/sandbox/charges/{charge['id']}/pay", {"method": "boleto"})
    assert paid.status_code == 202, paid.text

    first = await reconcile_every_tenant(database, clock, live.connections)
    again = await reconcile_every_tenant(database, clock, live.connections)

    assert [len(look.recorded) for look in first] == [1]
    assert [len(look.recorded) for look in again] == [0]
    assert (await read_charge(api, charge["id"]))["status"] == "settled"


async def test_a_lost_asaas_webhook_is_found_by_the_periodic_pass(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas: AsaasProvider,
    asaas_connections: ProviderConnections,
) -> None:
    body = {
        "boleto": {"provider": "asaas"},
        "asaas": {"api_key": STANDIN_API_KEY, "webhook_token": WEBHOOK_TOKEN},
    }
    saved = await api.http.put("/v1/payment-settings", json=body, headers=api.headers)
    assert saved.status_code == 200, saved.text
    charge = await create_charge(api, items=[line(AMOUNT)], payment_method="boleto")
    boleto = await asaas.register_boleto(order(charge["id"], amount=AMOUNT))
    await asaas_standin.receive_payment(boleto.provider_payment_id)  # no webhook URL: lost

    looks = await reconcile_every_tenant(database, clock, asaas_connections)

    assert [(look.provider, len(look.recorded)) for look in looks] == [("asaas", 1)]
    settled = await read_charge(api, charge["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", AMOUNT)
