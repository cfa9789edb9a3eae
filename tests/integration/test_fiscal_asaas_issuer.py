"""A tenant whose fiscal provider is Asaas: the issuer relay hands its invoice to Asaas's
invoices API (the documented stand-in, over loopback HTTP) with the API key of its payment
settings, and the invoice is issued with Asaas's number; without a key it is refused, not
retried for ever. Both databases."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.asaas_adapter_support import use_asaas
from tests.integration.asaas_standin import AsaasStandin
from tests.integration.test_fiscal_invoices import (
    configure,
    events_of,
    invoice_of,
    relay,
    settled_charge,
)


@pytest.fixture
def app_settings(app_settings: Settings, asaas_standin: AsaasStandin) -> Settings:
    """assina's Asaas requests go to the stand-in (ASSINA_ASAAS_BASE_URL)."""
    return app_settings.model_copy(update={"asaas_base_url": f"{asaas_standin.url}/v3"})


@pytest.fixture(autouse=True)
def _standin_on_the_tests_clock(asaas_standin: AsaasStandin, clock: FrozenClock) -> None:
    asaas_standin.clock = clock


async def test_an_asaas_tenants_invoice_is_issued_by_asaas(
    app: FastAPI,
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
) -> None:
    await use_asaas(api)  # the API key only: payments stay on the sandbox
    await configure(api, provider="asaas")
    charge = await settled_charge(api)
    invoice = (await invoice_of(api, charge["id"])).json()

    issuer = relay(app, database, clock)
    await issuer.run_all()  # scheduled at Asaas
    [made] = asaas_standin.invoices.values()
    assert made.external_reference == invoice["id"]
    await issuer.run_all()  # the look-up finds it authorised
    issued = (await api.get(f"/v1/fiscal-invoices/{invoice['id']}")).json()
    assert issued["status"] == "issued", issued
    assert issued["nfse_number"] == made.number and made.number
    assert issued["verification_code"] == made.validation_code
    [event] = await events_of(database, "fiscal_invoice.issued")
    assert event["id"] == invoice["id"]
    assert len(asaas_standin.invoices) == 1  # issued once


async def test_without_an_asaas_key_the_invoice_is_rejected(
    app: FastAPI, api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await configure(api, provider="asaas")
    charge = await settled_charge(api)
    invoice = (await invoice_of(api, charge["id"])).json()
    issuer = relay(app, database, clock)
    await issuer.run_all()
    got = (await api.get(f"/v1/fiscal-invoices/{invoice['id']}")).json()
    assert got["status"] == "rejected"
    assert "credentials" in got["rejection_reason"]
