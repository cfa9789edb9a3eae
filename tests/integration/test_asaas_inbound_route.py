"""Asaas's webhooks reaching assina's inbound route over real HTTP: the stand-in posts them to
the tenant's Asaas inbound URL with the tenant's `asaas-access-token`, and the charge they
name is settled once."""

from __future__ import annotations

from typing import Any

from assina.payments.asaas.adapter import AsaasProvider
from tests.conftest import TenantClient
from tests.integration.asaas_adapter_support import WEBHOOK_TOKEN, order, use_asaas
from tests.integration.asaas_standin import AsaasStandin
from tests.integration.charge_support import create_charge, line, read_charge
from tests.integration.payment_support import LiveApp

AMOUNT = 8_990


async def _inbound(api: TenantClient) -> list[dict[str, Any]]:
    listed = await api.get("/v1/inbound-events")
    assert listed.status_code == 200, listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


async def test_an_asaas_pix_webhook_settles_the_charge_it_names(
    api: TenantClient, live: LiveApp, asaas_standin: AsaasStandin, asaas: AsaasProvider
) -> None:
    tenant = live.as_tenant(api)
    asaas_standin.webhook_url = await use_asaas(tenant, "pix")
    asaas_standin.webhook_token = WEBHOOK_TOKEN
    charge = await create_charge(tenant, items=[line(AMOUNT)], payment_method="pix")
    pix = await asaas.create_pix(order(charge["id"], amount=AMOUNT))

    await asaas_standin.receive_payment(pix.provider_payment_id, billing_type="PIX")
    await asaas_standin.redeliver(asaas_standin.deliveries[-1].event["id"])

    statuses = [delivery.status for delivery in asaas_standin.deliveries]
    assert statuses == [200, 200, 200]  # created, received, received again
    settled = await read_charge(tenant, charge["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", AMOUNT)
    outcomes = [(event["kind"], event["outcome"]) for event in await _inbound(tenant)]
    assert outcomes == [("PAYMENT_CREATED", "ignored"), ("payment_received", "settled")]


async def test_an_asaas_webhook_without_the_tenants_token_is_refused(
    api: TenantClient, live: LiveApp, asaas_standin: AsaasStandin, asaas: AsaasProvider
) -> None:
    tenant = live.as_tenant(api)
    asaas_standin.webhook_url = await use_asaas(tenant, "pix")
    asaas_standin.webhook_token = "not-the-tenants-token"
    charge = await create_charge(tenant, items=[line(AMOUNT)], payment_method="pix")
    pix = await asaas.create_pix(order(charge["id"], amount=AMOUNT))

    await asaas_standin.receive_payment(pix.provider_payment_id, billing_type="PIX")

    assert {delivery.status for delivery in asaas_standin.deliveries} == {401}
    assert (await read_charge(tenant, charge["id"]))["status"] == "open"
    assert await _inbound(tenant) == []
