"""What a provider made for a charge no longer payable, cancelled there by the cancellation
relay (payments/registration_cancel.py), over real loopback HTTP: the sandbox's PIX charge of
an invalidated charge, and of one settled by boleto; the one Asaas payment of an invalidated
charge deleted once; a provider that does not answer asked again once the clock moved; a
paid PIX charge's refusal leaving its row registered with the reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.payments.connections import ProviderConnections
from assina.payments.registration import Registrar
from assina.payments.registration_cancel import CANCEL_RETRIES, Canceller
from assina.payments.sandbox.models import SandboxCharge
from tests.conftest import TenantClient
from tests.integration.asaas_standin import AsaasStandin
from tests.integration.charge_support import create_charge, line, read_charge
from tests.integration.payment_support import LiveApp
from tests.integration.registration_support import (
    AMOUNT,
    asaas_charge,
    due_in,
    payments_of,
    registrations,
    use_asaas_for_both,
)


async def _sandbox_status(database: Database, pix_charge_id: str) -> str:
    async with database.read() as session:
        status = await session.scalar(
            select(SandboxCharge.status).where(SandboxCharge.id == pix_charge_id)
        )
    assert status is not None
    return status


async def _registered_sandbox_charge(
    api: TenantClient, database: Database, clock: FrozenClock, live: LiveApp, method: str
) -> tuple[str, str]:
    """A sandbox tenant's charge with its PIX charge registered: their ids."""
    charge = await create_charge(
        api, items=[line(AMOUNT)], due_date=await due_in(api, 5), payment_method=method
    )
    assert await Registrar(database, clock, live.connections).register_once() == 1
    [registered] = await registrations(api, charge["id"])
    assert registered["status"] == "registered"
    return charge["id"], registered["provider_payment_id"]


async def _paid_in_the_sandbox(
    api: TenantClient, live: LiveApp, charge_id: str, method: str
) -> None:
    """The payer pays the charge by `method` at the sandbox; its notification settles it."""
    paid = await api.post(f"/v1/sandbox/charges/{charge_id}/pay", {"method": method})
    assert paid.status_code == 202, paid.text
    await live.connections.sandbox.notifications_settled()
    assert (await read_charge(api, charge_id))["status"] == "settled"


async def test_an_invalidated_charges_sandbox_pix_charge_is_cancelled_at_the_provider(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    charge_id, pix_id = await _registered_sandbox_charge(api, database, clock, live, "pix")

    invalidated = await api.post(f"/v1/charges/{charge_id}/invalidate", {})
    assert invalidated.status_code == 200, invalidated.text
    [marked] = await registrations(api, charge_id)
    assert (marked["status"], marked["attempt_count"]) == ("cancelling", 0)
    canceller = Canceller(database, clock, live.connections)
    assert await canceller.cancel_once() == 1

    [cancelled] = await registrations(api, charge_id)
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None
    assert await _sandbox_status(database, pix_id) == "cancelled"
    assert await canceller.cancel_once() == 0


async def test_a_charge_settled_by_boleto_has_its_sandbox_pix_charge_cancelled(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    charge_id, pix_id = await _registered_sandbox_charge(api, database, clock, live, "boleto")

    await _paid_in_the_sandbox(api, live, charge_id, "boleto")
    assert await Canceller(database, clock, live.connections).cancel_once() == 1

    [cancelled] = await registrations(api, charge_id)
    assert cancelled["status"] == "cancelled"
    assert await _sandbox_status(database, pix_id) == "cancelled"


async def test_the_pix_charge_that_paid_refuses_cancelling_and_stays_registered(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    charge_id, pix_id = await _registered_sandbox_charge(api, database, clock, live, "pix")

    await _paid_in_the_sandbox(api, live, charge_id, "pix")
    canceller = Canceller(database, clock, live.connections)
    assert await canceller.cancel_once() == 1

    [kept] = await registrations(api, charge_id)
    assert (kept["status"], kept["attempt_count"]) == ("registered", 1)
    assert "refused" in kept["last_error"] and "paid" in kept["last_error"]
    assert await _sandbox_status(database, pix_id) == "paid"
    clock.advance(timedelta(days=2))
    assert await canceller.cancel_once() == 0  # final


async def test_an_invalidated_charges_one_asaas_payment_is_deleted_once(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas_connections: ProviderConnections,
) -> None:
    await use_asaas_for_both(api)
    charge_id = await asaas_charge(api)
    assert await Registrar(database, clock, asaas_connections).register_once() == 2
    [payment] = payments_of(asaas_standin, charge_id)

    invalidated = await api.post(f"/v1/charges/{charge_id}/invalidate", {})
    assert invalidated.status_code == 200, invalidated.text
    assert await Canceller(database, clock, asaas_connections).cancel_once() == 2

    assert payments_of(asaas_standin, charge_id) == []
    assert payment.deleted
    assert len(asaas_standin.requests_to("DELETE", f"/v3/payments/{payment.id}")) == 1
    assert {r["status"] for r in await registrations(api, charge_id)} == {"cancelled"}


async def test_an_asaas_that_does_not_answer_a_cancellation_is_asked_again_later(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas_connections: ProviderConnections,
) -> None:
    await use_asaas_for_both(api)
    charge_id = await asaas_charge(api)
    assert await Registrar(database, clock, asaas_connections).register_once() == 2
    invalidated = await api.post(f"/v1/charges/{charge_id}/invalidate", {})
    assert invalidated.status_code == 200, invalidated.text
    canceller = Canceller(database, clock, asaas_connections)
    asaas_standin.faults.fail_next(1, status=503)

    assert await canceller.cancel_once() == 2
    waiting = await registrations(api, charge_id)
    assert {(r["status"], r["attempt_count"]) for r in waiting} == {("cancelling", 1)}
    assert all(r["last_error"] and r["next_attempt_at"] for r in waiting)
    assert len(payments_of(asaas_standin, charge_id)) == 1
    assert await canceller.cancel_once() == 0  # not due yet

    clock.advance(CANCEL_RETRIES.steps[0] + timedelta(seconds=1))
    assert await canceller.cancel_once() == 2

    assert {r["status"] for r in await registrations(api, charge_id)} == {"cancelled"}
    assert payments_of(asaas_standin, charge_id) == []


async def test_a_reactivated_charge_is_registered_again_after_its_cancellation(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    charge_id, first_pix = await _registered_sandbox_charge(api, database, clock, live, "pix")
    first_code = (await read_charge(api, charge_id))["payment_instructions"]["pix_code"]
    assert (await api.post(f"/v1/charges/{charge_id}/invalidate", {})).status_code == 200
    assert await Canceller(database, clock, live.connections).cancel_once() == 1

    reactivated = await api.post(f"/v1/charges/{charge_id}/reactivate", {})
    assert reactivated.status_code == 200, reactivated.text
    [pending] = await registrations(api, charge_id)
    assert pending["status"] == "pending"
    assert await Registrar(database, clock, live.connections).register_once() == 1

    [registered] = await registrations(api, charge_id)
    assert registered["status"] == "registered"
    assert registered["provider_payment_id"] != first_pix  # a new PIX charge, the old one dead
    assert await _sandbox_status(database, registered["provider_payment_id"]) != "cancelled"
    code = (await read_charge(api, charge_id))["payment_instructions"]["pix_code"]
    assert code is not None and code != first_code
