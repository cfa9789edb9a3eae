"""Charges registered with the tenant's PIX and boleto providers by the registration relay
(payments/registration.py), over real loopback HTTP: the sandbox's PIX charges (a txid of
26 to 35 characters, a BR Code that verifies), paid through the inbound path once; Asaas's
PIX code and boleto numbers through its stand-in; a provider that does not answer retried
once the clock moved, a refusal final; tenants without providers untouched."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, select

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.events.models import Event
from assina.payments.connections import ProviderConnections
from assina.payments.registration import REGISTRATION_RETRIES, Registrar
from assina.rules.pix import crc_is_valid, parse_emv
from tests.conftest import TEST_SECRET_KEY, TenantClient
from tests.integration.asaas_adapter_support import WEBHOOK_TOKEN, use_asaas
from tests.integration.asaas_model import Payment
from tests.integration.asaas_standin import STANDIN_API_KEY, AsaasStandin
from tests.integration.charge_support import PIX_SETTINGS, create_charge, line, read_charge
from tests.integration.payment_support import LiveApp
from tests.integration.registration_support import AMOUNT
from tests.integration.registration_support import asaas_charge as _asaas_charge
from tests.integration.registration_support import due_in as _due_in
from tests.integration.registration_support import payments_of as _payments_of
from tests.integration.registration_support import registrations as _registrations
from tests.integration.registration_support import use_asaas_for_both as _use_asaas
from tests.qr_support import decode_svg_qr

TXID = re.compile(r"[A-Za-z0-9]{26,35}")


async def _events(database: Database, kind: str, charge_id: str) -> int:
    async with database.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.type == kind, Event.data["id"].as_string() == charge_id)
        )
    return int(count or 0)


# --- the sandbox -----------------------------------------------------------------------------


async def test_a_sandbox_pix_charge_gets_the_providers_txid_and_code_after_a_relay_pass(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    charge = await create_charge(
        api, items=[line(AMOUNT)], due_date=await _due_in(api, 5), payment_method="pix"
    )
    [pending] = await _registrations(api, charge["id"])
    assert (pending["rail"], pending["provider"], pending["status"]) == (
        "pix",
        "sandbox",
        "pending",
    )

    assert await Registrar(database, clock, live.connections).register_once() == 1

    [registered] = await _registrations(api, charge["id"])
    assert registered["status"] == "registered" and registered["attempt_count"] == 1
    assert TXID.fullmatch(registered["txid"])
    code = (await read_charge(api, charge["id"]))["payment_instructions"]["pix_code"]
    assert crc_is_valid(code)
    fields = parse_emv(code)
    assert parse_emv(fields["26"])["25"].endswith("/" + registered["txid"])
    assert fields["54"] == "159.90"
    assert await _events(database, "charge.updated", charge["id"]) == 1
    assert await Registrar(database, clock, live.connections).register_once() == 0


async def test_the_registered_pix_codes_qr_image_decodes_to_the_providers_txid(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    """What a payer's camera reads from the charge's QR (drawn, rasterised, decoded by
    zbarimg) is the provider's code, whose location ends in the registered txid."""
    api = live.as_tenant(sandbox)
    charge = await create_charge(
        api, items=[line(AMOUNT)], due_date=await _due_in(api, 5), payment_method="pix"
    )
    await Registrar(database, clock, live.connections).register_once()
    [registered] = await _registrations(api, charge["id"])

    image = await api.get(f"/v1/charges/{charge['id']}/pix.svg")
    assert image.status_code == 200, image.text
    decoded = decode_svg_qr(image.text)

    assert crc_is_valid(decoded)
    location = parse_emv(parse_emv(decoded)["26"])["25"]
    assert location.rsplit("/", 1)[1] == registered["txid"]
    assert TXID.fullmatch(registered["txid"])


async def test_paying_a_registered_pix_charge_settles_it_once_keyed_on_the_end_to_end_id(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    charge = await create_charge(
        api, items=[line(AMOUNT)], due_date=await _due_in(api, 5), payment_method="pix"
    )
    await Registrar(database, clock, live.connections).register_once()
    [registered] = await _registrations(api, charge["id"])

    paid = await api.post(f"/v1/sandbox/charges/{charge['id']}/pay", {"method": "pix"})
    assert paid.status_code == 202, paid.text
    await live.connections.sandbox.notifications_settled()
    again = await api.post("/v1/reconciliations")  # the same payment found again
    assert again.status_code == 200, again.text

    settled = await read_charge(api, charge["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", AMOUNT)
    assert await _events(database, "charge.settled", charge["id"]) == 1
    [event] = (await api.get("/v1/inbound-events")).json()["data"]
    assert event["event_id"] == paid.json()["end_to_end_id"]
    assert event["outcome"] == "settled"
    assert event["payload"]["data"]["txid"] == registered["txid"]
    assert event["payload"]["data"]["pix_charge_id"] == registered["provider_payment_id"]
    assert again.json()["recorded"] == []


async def test_a_boleto_charge_of_a_sandbox_tenant_gets_a_pix_code_beside_its_boleto(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    """A test clock's advance, like every relay, leaves registration to the worker (in real
    time): the charge is pending after it, registered by the next relay pass."""
    api = live.as_tenant(sandbox)
    charge = await create_charge(
        api, items=[line(AMOUNT)], due_date=await _due_in(api, 5), payment_method="boleto"
    )
    advanced = await api.post("/v1/test-clock/advance", {"days": 1})
    assert advanced.status_code == 200, advanced.text
    assert (await _registrations(api, charge["id"]))[0]["status"] == "pending"

    assert await Registrar(database, clock, live.connections).register_once() == 1

    [registered] = await _registrations(api, charge["id"])
    assert (registered["rail"], registered["status"]) == ("pix", "registered")
    shown = (await read_charge(api, charge["id"]))["payment_instructions"]
    assert crc_is_valid(shown["pix_code"])
    assert shown["boleto_line"] is not None  # the sandbox's boleto: numbered by assina


async def test_a_new_amount_registers_the_charge_again_and_its_code_follows(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    charge = await create_charge(
        api, items=[line(AMOUNT)], due_date=await _due_in(api, 5), payment_method="pix"
    )
    registrar = Registrar(database, clock, live.connections)
    await registrar.register_once()
    [first] = await _registrations(api, charge["id"])

    changed = await api.patch(f"/v1/charges/{charge['id']}", {"items": [line(20_000)]})
    assert changed.status_code == 200, changed.text
    assert (await _registrations(api, charge["id"]))[0]["status"] == "pending"
    await registrar.register_once()

    [second] = await _registrations(api, charge["id"])
    assert second["status"] == "registered" and second["txid"] != first["txid"]
    code = (await read_charge(api, charge["id"]))["payment_instructions"]["pix_code"]
    assert parse_emv(code)["54"] == "200.00"


async def test_an_invalidated_charge_is_not_registered(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    charge = await create_charge(
        api, items=[line(AMOUNT)], due_date=await _due_in(api, 5), payment_method="pix"
    )
    invalidated = await api.post(f"/v1/charges/{charge['id']}/invalidate", {})
    assert invalidated.status_code == 200, invalidated.text

    assert await Registrar(database, clock, live.connections).register_once() == 0
    [cancelled] = await _registrations(api, charge["id"])
    assert cancelled["status"] == "cancelled"


# --- tenants without providers ---------------------------------------------------------------


async def test_a_tenant_without_providers_registers_nothing_and_keeps_its_static_code(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    saved = await api.http.put("/v1/billing-settings", json=PIX_SETTINGS, headers=api.headers)
    assert saved.status_code == 200, saved.text
    charge = await create_charge(api, items=[line(AMOUNT)], payment_method="pix")

    connections = ProviderConnections(database, SecretBox(TEST_SECRET_KEY), clock)
    try:
        assert await Registrar(database, clock, connections).register_once() == 0
    finally:
        await connections.close()

    assert await _registrations(api, charge["id"]) == []
    code = (await read_charge(api, charge["id"]))["payment_instructions"]["pix_code"]
    assert parse_emv(parse_emv(code)["62"])["05"] == f"ASSINA{charge['number']}"


# --- Asaas -----------------------------------------------------------------------------------


async def _registered_at_asaas(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    standin: AsaasStandin,
    connections: ProviderConnections,
) -> tuple[str, Registrar, Payment]:
    """A boleto charge of a tenant on Asaas, registered: its id, the registrar, and the one
    Asaas payment made for it."""
    await _use_asaas(api)
    charge_id = await _asaas_charge(api)
    registrar = Registrar(database, clock, connections)
    assert await registrar.register_once() == 2
    [payment] = _payments_of(standin, charge_id)
    return charge_id, registrar, payment


async def _asaas_get(standin: AsaasStandin, path: str) -> dict[str, Any]:
    """What the stand-in answers, asked directly (what Asaas made)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{standin.url}/v3{path}", headers={"access_token": STANDIN_API_KEY}) as got,
    ):
        answer: dict[str, Any] = await got.json()
    return answer


async def test_a_tenant_on_asaas_gets_asaas_boleto_numbers_and_pix_code(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas_connections: ProviderConnections,
) -> None:
    await _use_asaas(api)
    charge_id = await _asaas_charge(api)

    assert await Registrar(database, clock, asaas_connections).register_once() == 2

    registrations = {r["rail"]: r for r in await _registrations(api, charge_id)}
    assert {r["status"] for r in registrations.values()} == {"registered"}
    shown = (await read_charge(api, charge_id))["payment_instructions"]
    boleto_id = registrations["boleto"]["provider_payment_id"]
    pix_id = registrations["pix"]["provider_payment_id"]
    numbers = await _asaas_get(asaas_standin, f"/payments/{boleto_id}/identificationField")
    assert shown["boleto_barcode"] == numbers["barCode"]
    assert re.sub(r"\D", "", shown["boleto_line"]) == numbers["identificationField"]
    qr = await _asaas_get(asaas_standin, f"/payments/{pix_id}/pixQrCode")
    assert shown["pix_code"] == qr["payload"]
    # One payment, a boleto whose PIX code is the charge's: either rail pays it once.
    assert pix_id == boleto_id
    assert [p.billing_type for p in _payments_of(asaas_standin, charge_id)] == ["BOLETO"]
    assert len(asaas_standin.requests_to("POST", "/v3/payments")) == 1


async def test_the_one_asaas_payment_paid_settles_the_charge_once(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas_connections: ProviderConnections,
    live: LiveApp,
) -> None:
    tenant = live.as_tenant(api)
    asaas_standin.webhook_url = await use_asaas(tenant, "pix", "boleto")
    asaas_standin.webhook_token = WEBHOOK_TOKEN
    charge_id = await _asaas_charge(tenant)
    await Registrar(database, clock, asaas_connections).register_once()
    [payment] = _payments_of(asaas_standin, charge_id)

    await asaas_standin.receive_payment(payment.id)
    await asaas_standin.redeliver(asaas_standin.deliveries[-1].event["id"])

    assert {delivery.status for delivery in asaas_standin.deliveries} == {200}
    settled = await read_charge(tenant, charge_id)
    assert (settled["status"], settled["settled_amount"]) == ("settled", AMOUNT)
    assert await _events(database, "charge.settled", charge_id) == 1


async def test_a_new_amount_and_due_date_update_the_asaas_payment_in_place(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas_connections: ProviderConnections,
) -> None:
    charge_id, registrar, payment = await _registered_at_asaas(
        api, database, clock, asaas_standin, asaas_connections
    )

    changed = await api.patch(
        f"/v1/charges/{charge_id}", {"items": [line(20_000)], "due_date": "2026-03-25"}
    )
    assert changed.status_code == 200, changed.text
    assert await registrar.register_once() == 2

    assert _payments_of(asaas_standin, charge_id) == [payment]
    assert (payment.value, payment.due_date.isoformat()) == (20_000, "2026-03-25")
    assert len(asaas_standin.requests_to("PUT", f"/v3/payments/{payment.id}")) == 1
    registrations = await _registrations(api, charge_id)
    assert {(r["status"], r["provider_payment_id"]) for r in registrations} == {
        ("registered", payment.id)
    }
    shown = (await read_charge(api, charge_id))["payment_instructions"]
    assert shown["boleto_barcode"][9:19] == "0000020000"  # the barcode's amount
    assert parse_emv(shown["pix_code"])["54"] == "200.00"


async def test_an_update_whose_answer_was_lost_is_not_sent_twice(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas_connections: ProviderConnections,
) -> None:
    charge_id, registrar, payment = await _registered_at_asaas(
        api, database, clock, asaas_standin, asaas_connections
    )
    changed = await api.patch(f"/v1/charges/{charge_id}", {"items": [line(20_000)]})
    assert changed.status_code == 200, changed.text
    asaas_standin.faults.lose_answer_to("PUT", f"/v3/payments/{payment.id}")

    await registrar.register_once()  # the update is made, its answer lost
    assert payment.value == 20_000
    clock.advance(REGISTRATION_RETRIES.steps[0] + timedelta(seconds=1))
    await registrar.register_all()

    assert {r["status"] for r in await _registrations(api, charge_id)} == {"registered"}
    assert _payments_of(asaas_standin, charge_id) == [payment]
    assert len(asaas_standin.requests_to("PUT", f"/v3/payments/{payment.id}")) == 1
    shown = (await read_charge(api, charge_id))["payment_instructions"]
    assert parse_emv(shown["pix_code"])["54"] == "200.00"


async def test_a_boleto_charge_moved_to_pix_keeps_one_asaas_payment_now_a_pix_one(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas_connections: ProviderConnections,
) -> None:
    charge_id, registrar, _payment = await _registered_at_asaas(
        api, database, clock, asaas_standin, asaas_connections
    )

    changed = await api.patch(f"/v1/charges/{charge_id}", {"payment_method": "pix"})
    assert changed.status_code == 200, changed.text
    assert await registrar.register_once() == 1

    rails = {r["rail"]: r["status"] for r in await _registrations(api, charge_id)}
    assert rails == {"boleto": "cancelled", "pix": "registered"}
    assert [p.billing_type for p in _payments_of(asaas_standin, charge_id)] == ["PIX"]


async def test_an_asaas_that_does_not_answer_is_asked_again_once_the_clock_moved(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas_connections: ProviderConnections,
) -> None:
    await _use_asaas(api)
    charge_id = await _asaas_charge(api)
    registrar = Registrar(database, clock, asaas_connections)
    asaas_standin.faults.fail_next(2, status=503)  # each registration's first request

    assert await registrar.register_once() == 2
    waiting = await _registrations(api, charge_id)
    assert {(r["status"], r["attempt_count"]) for r in waiting} == {("pending", 1)}
    assert all(r["last_error"] for r in waiting)
    assert await registrar.register_once() == 0  # not due yet

    clock.advance(REGISTRATION_RETRIES.steps[0] + timedelta(seconds=1))
    assert await registrar.register_once() == 2

    assert {r["status"] for r in await _registrations(api, charge_id)} == {"registered"}
    assert (await read_charge(api, charge_id))["payment_instructions"]["boleto_barcode"]


async def test_a_refusal_is_final_and_the_charge_keeps_no_code(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_connections: ProviderConnections,
) -> None:
    await _use_asaas(api)
    charge_id = await _asaas_charge(api, document=None)  # Asaas needs a CPF or CNPJ
    registrar = Registrar(database, clock, asaas_connections)

    assert await registrar.register_once() == 2
    clock.advance(timedelta(days=2))
    assert await registrar.register_once() == 0

    failed = await _registrations(api, charge_id)
    assert {(r["status"], r["attempt_count"]) for r in failed} == {("failed", 1)}
    assert all("CPF" in r["last_error"] for r in failed)
    shown = (await read_charge(api, charge_id))["payment_instructions"]
    assert (shown["pix_code"], shown["boleto_line"], shown["boleto_barcode"]) == (None,) * 3
