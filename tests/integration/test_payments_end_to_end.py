"""Issue 15's end to end: on a sandbox tenant served for real, charges are settled by PIX and
boleto (the sandbox receives the payment and notifies over HTTP) and by card (the calendar
tries it on its due date), a declining card raises `card.declined`, and a real receiver gets
every one of them in both webhook formats."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.charge_support import create_charge, line, new_customer
from tests.integration.delivery_support import Receiver, dispatch_once, new_endpoint
from tests.integration.payment_support import LiveApp, save_card

EVENTS = ["charge.settled", "card.declined"]


async def _charge(api: TenantClient, customer_id: str, amount: int, method: str) -> dict[str, Any]:
    today = date.fromisoformat((await api.get("/v1/test-clock")).json()["today"])
    due = (today + timedelta(days=1)).isoformat()
    return await create_charge(
        api, customer_id, items=[line(amount)], due_date=due, payment_method=method
    )


async def test_money_in_by_pix_boleto_and_card_reaches_a_receiver_in_both_formats(
    sandbox: TenantClient,
    live: LiveApp,
    database: Database,
    clock: FrozenClock,
    receiver: Receiver,
) -> None:
    api = live.as_tenant(sandbox)
    await new_endpoint(api, receiver.url, event_types=EVENTS)
    await new_endpoint(api, receiver.ok_url, event_types=EVENTS, format="superlogica")
    ana = await new_customer(api, "Ana")
    bruno = await new_customer(api, "Bruno")
    await save_card(api, ana, "4111111111111111")
    await save_card(api, bruno, "4000000000000341")
    by_pix = await _charge(api, ana, 10_100, "pix")
    by_boleto = await _charge(api, ana, 10_200, "boleto")
    by_card = await _charge(api, ana, 10_300, "card")
    declined = await _charge(api, bruno, 10_400, "card")

    for charge, method in ((by_pix, "pix"), (by_boleto, "boleto")):
        paid = await api.post(f"/v1/sandbox/charges/{charge['id']}/pay", {"method": method})
        assert paid.status_code == 202, paid.text
    await live.connections.sandbox.notifications_settled()
    advanced = await api.post("/v1/test-clock/advance", {"days": 1})  # the card charges' due date
    assert advanced.status_code == 200, advanced.text
    while await dispatch_once(database, clock):
        pass

    standard = [json.loads(received.body) for received in receiver.received]
    settled = {body["data"]["id"]: body["data"] for body in standard if body["type"] == EVENTS[0]}
    assert set(settled) == {by_pix["id"], by_boleto["id"], by_card["id"]}
    assert [settled[c["id"]]["settled_amount"] for c in (by_pix, by_boleto, by_card)] == [
        10_100,
        10_200,
        10_300,
    ]
    [refused] = [body["data"] for body in standard if body["type"] == EVENTS[1]]
    assert (refused["charge_id"], refused["attempt"]) == (declined["id"], 1)
    assert refused["decline_code"] == "generic_decline"
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in receiver.received)

    forms = [parse_qs(received.body.decode()) for received in receiver.healthy]
    settled_forms = {f["data[id_recebimento_recb]"][0]: f for f in forms if "tentativa" not in f}
    numbers = {str(c["number"]) for c in (by_pix, by_boleto, by_card)}
    assert set(settled_forms) == numbers
    assert {f["data[fl_status_recb]"][0] for f in settled_forms.values()} == {"1"}
    [declined_form] = [f for f in forms if "tentativa" in f]
    assert declined_form["tentativa"] == ["1"]
    assert declined_form["data[id_recebimento_recb]"] == [str(declined["number"])]
    assert all(f["validationtoken"] for f in forms)
