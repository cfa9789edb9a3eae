"""A charge tried on a saved card through the sandbox gateway over HTTP: approved settles it,
declined raises `card.declined` (numbered attempts, both webhook formats), processing is
decided by the gateway's notification."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.events.models import Event
from tests.conftest import TenantClient
from tests.integration.charge_support import create_charge, line, new_customer, read_charge
from tests.integration.delivery_support import Receiver, dispatch_once, new_endpoint
from tests.integration.payment_support import LiveApp, save_card

AMOUNT = 15_000
APPROVED = "4111111111111111"
ALWAYS_DECLINED = "4000000000000341"
PROCESSING = "4000000000000259"


async def _card_charge(api: TenantClient, customer_id: str) -> dict[str, Any]:
    reading = await api.get("/v1/test-clock")
    due = date.fromisoformat(reading.json()["today"]) + timedelta(days=3)
    return await create_charge(
        api, customer_id, items=[line(AMOUNT)], due_date=due.isoformat(), payment_method="card"
    )


async def _events(database: Database, event_type: str) -> list[Event]:
    async with database.read() as session:
        found = (await session.scalars(select(Event).where(Event.type == event_type))).all()
        session.expunge_all()
    return list(found)


async def _pay(api: TenantClient, charge_id: str, **body: Any) -> dict[str, Any]:
    paid = await api.post(f"/v1/charges/{charge_id}/pay", body)
    assert paid.status_code == 200, paid.text
    answer: dict[str, Any] = paid.json()
    return answer


async def test_an_approved_card_settles_the_charge(
    sandbox: TenantClient,
    live: LiveApp,
    database: Database,
) -> None:
    api = live.as_tenant(sandbox)
    customer_id = await new_customer(api)
    card_id = await save_card(api, customer_id, APPROVED)
    charge = await _card_charge(api, customer_id)

    paid = await _pay(api, charge["id"])

    assert paid["attempt"]["status"] == "approved" and paid["attempt"]["card_id"] == card_id
    assert (paid["attempt"]["attempt"], paid["attempt"]["amount"]) == (1, AMOUNT)
    assert paid["charge"]["status"] == "settled" and paid["charge"]["settled_amount"] == AMOUNT
    assert len(await _events(database, "charge.settled")) == 1
    again = await api.post(f"/v1/charges/{charge['id']}/pay", {})
    assert again.status_code == 409, again.text


async def test_each_decline_raises_card_declined_with_its_attempt_number(
    sandbox: TenantClient,
    live: LiveApp,
    database: Database,
    clock: FrozenClock,
    receiver: Receiver,
) -> None:
    api = live.as_tenant(sandbox)
    await new_endpoint(api, receiver.url, event_types=["card.declined"])
    await new_endpoint(api, receiver.ok_url, event_types=["card.declined"], format="superlogica")
    customer_id = await new_customer(api)
    card_id = await save_card(api, customer_id, ALWAYS_DECLINED)
    charge = await _card_charge(api, customer_id)

    first = await _pay(api, charge["id"], card_id=card_id)
    second = await _pay(api, charge["id"])
    await dispatch_once(database, clock)

    assert [first["attempt"]["attempt"], second["attempt"]["attempt"]] == [1, 2]
    assert first["attempt"]["decline_code"] == "generic_decline"
    assert first["charge"]["status"] == second["charge"]["status"] == "open"
    assert (await read_charge(api, charge["id"]))["status"] == "open"
    # Sent concurrently (the endpoints keep no order): read in the order the events were made.
    received = [json.loads(got.body) for got in receiver.received]
    standard = sorted(received, key=lambda body: int(body["sequence"]))
    assert [body["data"]["attempt"] for body in standard] == [1, 2]
    assert {body["data"]["decline_code"] for body in standard} == {"generic_decline"}
    assert standard[0]["data"]["card"]["last4"] == "0341"
    assert standard[0]["data"]["charge"]["id"] == charge["id"]
    forms = [parse_qs(got.body.decode()) for got in receiver.healthy]
    forms.sort(key=lambda form: form["tentativa"])
    assert [form["tentativa"] for form in forms] == [["1"], ["2"]]
    assert forms[0]["data[id_recebimento_recb]"] == [str(charge["number"])]


async def test_a_processing_card_is_decided_by_the_gateways_notification(
    sandbox: TenantClient,
    live: LiveApp,
) -> None:
    api = live.as_tenant(sandbox)
    live.connections.sandbox.processing_seconds = 0
    customer_id = await new_customer(api)
    await save_card(api, customer_id, PROCESSING)
    charge = await _card_charge(api, customer_id)

    paid = await _pay(api, charge["id"])
    assert paid["attempt"]["status"] == "processing"
    assert paid["charge"]["status"] == "open"
    await live.connections.sandbox.notifications_settled()

    settled = await read_charge(api, charge["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", AMOUNT)
    listed = await api.get("/v1/inbound-events")
    [event] = listed.json()["data"]
    assert (event["rail"], event["outcome"]) == ("card", "settled")


async def test_paying_needs_a_card_of_the_charges_customer(
    sandbox: TenantClient,
    live: LiveApp,
) -> None:
    api = live.as_tenant(sandbox)
    customer_id = await new_customer(api)
    someone_else = await new_customer(api, "Bruno")
    others_card = await save_card(api, someone_else, APPROVED)
    charge = await _card_charge(api, customer_id)

    no_default = await api.post(f"/v1/charges/{charge['id']}/pay", {})
    not_theirs = await api.post(f"/v1/charges/{charge['id']}/pay", {"card_id": others_card})
    missing = await api.post("/v1/charges/chg_nope/pay", {})

    assert (no_default.status_code, not_theirs.status_code, missing.status_code) == (422, 422, 404)
    assert no_default.json()["errors"][0]["field"] == "card_id"
    assert (await read_charge(api, charge["id"]))["status"] == "open"
