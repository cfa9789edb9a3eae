"""Money arriving by itself: the sandbox provider receives a payment over real HTTP, notifies
assina's inbound route signed, and the charge is settled once; replays, bad signatures,
unknown charges, a second rail and a lost notification (found by reconciliation)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.events.models import Event
from assina.payments.models import InboundEvent
from assina.tenants.service import create_tenant
from tests.conftest import TenantClient
from tests.integration.charge_support import create_charge, line, read_charge
from tests.integration.payment_support import (
    LiveApp,
    received_body,
    sandbox_inbound_url,
    sandbox_today,
    signed_notification,
)

PIX_AMOUNT = 12_345


async def _open_charge(
    api: TenantClient, amount: int = PIX_AMOUNT, **fields: Any
) -> dict[str, Any]:
    due = await sandbox_today(api) + timedelta(days=5)
    return await create_charge(
        api, items=[line(amount)], due_date=due.isoformat(), payment_method="pix", **fields
    )


async def _settled_events(database: Database, charge_id: str) -> int:
    async with database.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.type == "charge.settled", Event.data["id"].as_string() == charge_id)
        )
    return int(count or 0)


async def _inbound(api: TenantClient, **query: str) -> list[dict[str, Any]]:
    listed = await api.get("/v1/inbound-events", params=query)
    assert listed.status_code == 200, listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


async def _pay(api: TenantClient, charge_id: str, **body: Any) -> dict[str, Any]:
    paid = await api.post(f"/v1/sandbox/charges/{charge_id}/pay", body)
    assert paid.status_code == 202, paid.text
    payment: dict[str, Any] = paid.json()
    return payment


async def test_a_pix_payment_in_the_sandbox_settles_the_charge_through_the_inbound_route(
    sandbox: TenantClient, live: LiveApp, database: Database
) -> None:
    api = live.as_tenant(sandbox)
    charge = await _open_charge(api)

    payment = await _pay(api, charge["id"], method="pix")
    await live.connections.sandbox.notifications_settled()

    assert payment["amount"] == PIX_AMOUNT and payment["status"] == "received"
    assert len(payment["end_to_end_id"]) == 32
    settled = await read_charge(api, charge["id"])
    assert settled["status"] == "settled"
    assert settled["settled_amount"] == PIX_AMOUNT
    assert await _settled_events(database, charge["id"]) == 1
    [event] = await _inbound(api)
    assert event["outcome"] == "settled" and event["source"] == "notification"
    assert event["charge_id"] == charge["id"] and event["amount"] == PIX_AMOUNT
    assert event["provider_payment_id"] == payment["id"]
    assert event["payload"]["data"]["end_to_end_id"] == payment["end_to_end_id"]


async def test_a_replayed_notification_answers_200_and_changes_nothing(
    sandbox: TenantClient, client: httpx.AsyncClient, database: Database
) -> None:
    charge = await _open_charge(sandbox)
    url = await sandbox_inbound_url(sandbox)
    now = await sandbox.get("/v1/test-clock")
    body = received_body("spay_1.received", charge["id"], PIX_AMOUNT, now.json()["now"])
    raw, headers = signed_notification(sandbox.tenant.tenant_id, body, _unix(now.json()["now"]))

    first = await client.post(url, content=raw, headers=headers)
    again = await client.post(url, content=raw, headers=headers)

    assert first.status_code == 200, first.text
    assert first.json()["received"][0]["outcome"] == "settled"
    assert again.status_code == 200, again.text
    assert again.json()["received"] == [
        {"event_id": "spay_1.received", "inbound_event_id": None, "outcome": None}
    ]
    assert await _settled_events(database, charge["id"]) == 1
    assert len(await _inbound(sandbox)) == 1


def _unix(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


async def _nothing_written(database: Database) -> bool:
    async with database.read() as session:
        return (await session.scalar(select(func.count()).select_from(InboundEvent))) == 0


async def test_a_bad_signature_answers_401_and_writes_nothing(
    sandbox: TenantClient, client: httpx.AsyncClient, database: Database
) -> None:
    charge = await _open_charge(sandbox)
    url = await sandbox_inbound_url(sandbox)
    now = (await sandbox.get("/v1/test-clock")).json()["now"]
    body = received_body("spay_2.received", charge["id"], PIX_AMOUNT, now)
    forged, headers = signed_notification(
        sandbox.tenant.tenant_id, body, _unix(now), secret="not the tenant's secret"
    )
    raw, good_headers = signed_notification(sandbox.tenant.tenant_id, body, _unix(now))
    stale, stale_headers = signed_notification(sandbox.tenant.tenant_id, body, _unix(now) - 3600)

    answers = [
        await client.post(url, content=forged, headers=headers),
        await client.post(url, content=raw, headers={"Content-Type": "application/json"}),
        await client.post(url, content=raw + b" ", headers=good_headers),  # body changed
        await client.post(url, content=stale, headers=stale_headers),  # an hour old
    ]

    assert [answer.status_code for answer in answers] == [401, 401, 401, 401]
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    assert await _nothing_written(database)
    assert (await read_charge(sandbox, charge["id"]))["status"] == "open"


async def test_unknown_urls_answer_404_and_an_unreadable_body_400(
    sandbox: TenantClient, client: httpx.AsyncClient, database: Database
) -> None:
    url = await sandbox_inbound_url(sandbox)
    now = (await sandbox.get("/v1/test-clock")).json()["now"]
    raw, headers = signed_notification(sandbox.tenant.tenant_id, {"no": "fields"}, _unix(now))

    wrong_token = await client.post(url[:-4] + "abcd", content=raw, headers=headers)
    wrong_provider = await client.post(url.replace("/sandbox/", "/pagseguro/"), content=raw)
    other_provider = await client.post(url.replace("/sandbox/", "/asaas/"), content=raw)
    unreadable = await client.post(url, content=raw, headers=headers)

    assert [wrong_token.status_code, wrong_provider.status_code] == [404, 404]
    assert other_provider.status_code == 404  # the sandbox's token is not Asaas's
    assert unreadable.status_code == 400, unreadable.text
    assert await _nothing_written(database)


async def test_a_payment_for_no_charge_of_the_tenant_is_kept_as_unmatched(
    sandbox: TenantClient, other_sandbox_charge: str, client: httpx.AsyncClient
) -> None:
    url = await sandbox_inbound_url(sandbox)
    now = (await sandbox.get("/v1/test-clock")).json()["now"]
    for event_id, charge_id in (
        ("spay_3.received", "chg_nope"),
        ("spay_4.received", other_sandbox_charge),
    ):
        body = received_body(event_id, charge_id, PIX_AMOUNT, now)
        raw, headers = signed_notification(sandbox.tenant.tenant_id, body, _unix(now))
        answer = await client.post(url, content=raw, headers=headers)
        assert answer.status_code == 200, answer.text

    unmatched = await _inbound(sandbox, outcome="unmatched")
    assert [event["event_id"] for event in unmatched] == ["spay_3.received", "spay_4.received"]
    assert await _inbound(sandbox, outcome="settled") == []


@pytest.fixture
async def other_sandbox_charge(
    client: httpx.AsyncClient, database: Database, clock: FrozenClock, secret_box: SecretBox
) -> str:
    """An open charge of another sandbox tenant: a reference this tenant must not settle."""
    async with database.write() as session:
        other = await create_tenant(session, clock, secret_box, "Outro", sandbox=True)
    return str((await _open_charge(TenantClient(other, client)))["id"])


async def test_whichever_rail_pays_first_settles_the_charge_once(
    sandbox: TenantClient, live: LiveApp, database: Database
) -> None:
    api = live.as_tenant(sandbox)
    charge = await _open_charge(api)

    await _pay(api, charge["id"], method="pix")
    await live.connections.sandbox.notifications_settled()
    await _pay(api, charge["id"], method="boleto")
    await live.connections.sandbox.notifications_settled()

    assert await _settled_events(database, charge["id"]) == 1
    outcomes = [(e["rail"], e["outcome"]) for e in await _inbound(api)]
    assert outcomes == [("pix", "settled"), ("boleto", "already_settled")]


async def test_a_partial_payment_settles_with_what_was_received(
    sandbox: TenantClient, live: LiveApp
) -> None:
    api = live.as_tenant(sandbox)
    charge = await _open_charge(api)

    await _pay(api, charge["id"], method="boleto", amount=PIX_AMOUNT - 345)
    await live.connections.sandbox.notifications_settled()

    settled = await read_charge(api, charge["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", PIX_AMOUNT - 345)


async def test_a_lost_notification_is_found_by_reconciliation_once(
    sandbox: TenantClient, live: LiveApp, database: Database
) -> None:
    api = live.as_tenant(sandbox)
    charge = await _open_charge(api)
    live.connections.sandbox.notifying = False  # the provider loses the notification

    await _pay(api, charge["id"], method="pix")
    await live.connections.sandbox.notifications_settled()
    assert (await read_charge(api, charge["id"]))["status"] == "open"

    first = await api.post("/v1/reconciliations")
    second = await api.post("/v1/reconciliations")

    assert first.status_code == 200, first.text
    assert [entry["outcome"] for entry in first.json()["recorded"]] == ["settled"]
    assert second.status_code == 200 and second.json()["recorded"] == []
    assert (await read_charge(api, charge["id"]))["status"] == "settled"
    assert await _settled_events(database, charge["id"]) == 1
    [event] = await _inbound(api)
    assert event["source"] == "reconciliation"


async def test_a_paid_charge_that_is_then_notified_is_not_settled_twice(
    sandbox: TenantClient, live: LiveApp, database: Database
) -> None:
    """Reconciliation first, then the late notification of the same payment: one event id."""
    api = live.as_tenant(sandbox)
    charge = await _open_charge(api)
    live.connections.sandbox.notifying = False
    payment = await _pay(api, charge["id"], method="pix")
    assert (await api.post("/v1/reconciliations")).status_code == 200

    now = (await api.get("/v1/test-clock")).json()["now"]
    # A PIX payment's notification is keyed on its end-to-end id, as reconciliation keys it.
    body = received_body(payment["end_to_end_id"], charge["id"], PIX_AMOUNT, now)
    body["data"] |= {"id": payment["id"], "end_to_end_id": payment["end_to_end_id"]}
    raw, headers = signed_notification(sandbox.tenant.tenant_id, body, _unix(now))
    late = await live.http.post(await sandbox_inbound_url(api), content=raw, headers=headers)

    assert late.status_code == 200 and late.json()["received"][0]["inbound_event_id"] is None
    assert await _settled_events(database, charge["id"]) == 1


async def test_live_tenants_have_no_sandbox_payments(api: TenantClient) -> None:
    charge = await create_charge(api)

    paid = await api.post(f"/v1/sandbox/charges/{charge['id']}/pay", {"method": "pix"})
    reconciled = await api.post("/v1/reconciliations")

    assert (paid.status_code, reconciled.status_code) == (404, 404)


async def test_sandbox_payment_requests_are_checked(sandbox: TenantClient) -> None:
    charge = await _open_charge(sandbox)
    path = f"/v1/sandbox/charges/{charge['id']}/pay"

    answers = [
        await sandbox.post(path, {"method": "card"}),
        await sandbox.post(path, {"method": "pix", "amount": 0}),
        await sandbox.post(path, {"method": "pix", "amount": "doze"}),
        await sandbox.post("/v1/sandbox/charges/chg_nope/pay", {"method": "pix"}),
    ]

    assert [answer.status_code for answer in answers] == [422, 422, 422, 404]
