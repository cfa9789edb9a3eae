"""Notifications that arrive together share a transaction (payments/inbound_commit.py): sent
at once, with replays and a second rail among them, each charge is still settled once and
each request gets its own answer; a delivery that fails its batch fails alone."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from assina.core.clock import Clock, FrozenClock
from assina.db.database import Database
from assina.events.models import Event
from assina.payment_settings.models import InboundToken, PaymentProvider
from assina.payment_settings.service import InboundTokens
from assina.payments.inbound import Recorded
from assina.payments.inbound_commit import MAX_BATCH, InboundGroupCommit
from assina.payments.models import InboundEvent, InboundOutcome
from assina.payments.providers import PaymentRail, ReceivedPayment
from tests.conftest import TenantClient
from tests.integration.charge_support import create_charge, line
from tests.integration.payment_support import (
    received_body,
    sandbox_inbound_url,
    signed_notification,
)

AMOUNT = 5_000


class CountedGroupCommit(InboundGroupCommit):
    """The app's group commit, counting how many deliveries each transaction carried."""

    def __init__(self, database: Database, clock: Clock, max_batch: int = MAX_BATCH) -> None:
        super().__init__(database, clock, max_batch)
        self.batches: list[int] = []

    async def _commit(self, batch: Sequence[Any]) -> list[list[Recorded]]:
        self.batches.append(len(batch))
        return await super()._commit(batch)


async def _open_charges(api: TenantClient, count: int) -> list[str]:
    today = (await api.get("/v1/test-clock")).json()["today"]
    due = (date.fromisoformat(today) + timedelta(days=3)).isoformat()
    charges = [
        await create_charge(api, items=[line(AMOUNT)], due_date=due, payment_method="pix")
        for _ in range(count)
    ]
    return [charge["id"] for charge in charges]


async def _settled_count(database: Database) -> dict[str, int]:
    async with database.read() as session:
        data = await session.scalars(select(Event.data).where(Event.type == "charge.settled"))
        return dict(Counter(str(entry["id"]) for entry in data))


async def test_notifications_sent_at_once_settle_each_charge_once_and_each_gets_its_answer(
    app: FastAPI,
    sandbox: TenantClient,
    client: httpx.AsyncClient,
    database: Database,
    clock: FrozenClock,
) -> None:
    counted = CountedGroupCommit(database, clock)
    app.state.inbound_group_commit = counted
    charges = await _open_charges(sandbox, 12)
    url = await sandbox_inbound_url(sandbox)
    now = (await sandbox.get("/v1/test-clock")).json()["now"]
    stamp = int(datetime.fromisoformat(now).timestamp())

    def request(event_id: str, charge_id: str, method: str = "pix") -> tuple[bytes, Any]:
        body = received_body(event_id, charge_id, AMOUNT, now)
        body["data"]["method"] = method
        return signed_notification(sandbox.tenant.tenant_id, body, stamp)

    sent = [request(f"spay_{i}.received", charge_id) for i, charge_id in enumerate(charges)]
    sent += sent  # every notification delivered twice
    sent += [request(f"spay_b{i}.received", charges[i], "boleto") for i in range(3)]
    answers = await asyncio.gather(
        *(client.post(url, content=raw, headers=headers) for raw, headers in sent)
    )

    assert [answer.status_code for answer in answers] == [200] * len(sent)
    received = [answer.json()["received"][0] for answer in answers]
    recorded = [entry for entry in received if entry["inbound_event_id"] is not None]
    replays = [entry for entry in received if entry["inbound_event_id"] is None]
    assert len(recorded) == 15 and len(replays) == 12
    assert sorted(entry["event_id"] for entry in replays) == sorted(
        f"spay_{i}.received" for i in range(12)
    )
    outcomes = sorted(entry["outcome"] for entry in recorded)
    assert outcomes == ["already_settled"] * 3 + ["settled"] * 12
    assert await _settled_count(database) == {charge_id: 1 for charge_id in charges}
    # They did go together: some transaction carried more than one request.
    assert sum(counted.batches) >= len(sent) and max(counted.batches) > 1


def _payment(event_id: str, charge_id: str, amount: int, clock: FrozenClock) -> ReceivedPayment:
    return ReceivedPayment(event_id, event_id, charge_id, PaymentRail.PIX, amount, clock.now())


async def test_a_delivery_that_fails_its_batch_fails_alone(
    api: TenantClient, other_api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    ours = await create_charge(api, items=[line(AMOUNT)], payment_method="pix")
    theirs = await create_charge(other_api, items=[line(AMOUNT)], payment_method="pix")
    broken = await create_charge(api, items=[line(AMOUNT)], payment_method="pix")

    group_commit = InboundGroupCommit(database, clock)

    async def notify(tenant: TenantClient, payment: ReceivedPayment) -> list[Recorded]:
        tenant_id = tenant.tenant.tenant_id
        return await group_commit.record(tenant_id, PaymentProvider.SANDBOX, [payment], {})

    results = await asyncio.gather(
        notify(api, _payment("evt_a", ours["id"], AMOUNT, clock)),
        # An amount no database column holds: its transaction fails, whatever else it carries.
        notify(api, _payment("evt_big", broken["id"], 2**70, clock)),
        notify(other_api, _payment("evt_b", theirs["id"], AMOUNT, clock)),
        return_exceptions=True,
    )

    assert isinstance(results[1], Exception)
    assert [entry.outcome for entry in results[0]] == [InboundOutcome.SETTLED]  # type: ignore[union-attr]
    assert [entry.outcome for entry in results[2]] == [InboundOutcome.SETTLED]  # type: ignore[union-attr]
    assert await _settled_count(database) == {ours["id"]: 1, theirs["id"]: 1}
    async with database.read() as session:
        events = set(await session.scalars(select(InboundEvent.event_id)))
    assert events == {"evt_a", "evt_b"}


@pytest.mark.parametrize("max_batch", [1, 3])
async def test_a_batch_never_carries_more_than_its_limit(
    api: TenantClient, database: Database, clock: FrozenClock, max_batch: int
) -> None:
    charges = [await create_charge(api, items=[line(AMOUNT)]) for _ in range(7)]

    group_commit = CountedGroupCommit(database, clock, max_batch)
    payments = [
        _payment(f"evt_{i}", charge["id"], AMOUNT, clock) for i, charge in enumerate(charges)
    ]
    results = await asyncio.gather(
        *(
            group_commit.record(api.tenant.tenant_id, PaymentProvider.SANDBOX, [payment], {})
            for payment in payments
        )
    )

    assert [[entry.event_id for entry in result] for result in results] == [
        [f"evt_{i}"] for i in range(7)
    ]
    assert max(group_commit.batches) <= max_batch and sum(group_commit.batches) == 7
    assert len(await _settled_count(database)) == 7


async def test_an_inbound_token_once_found_is_remembered_and_an_unknown_one_never(
    sandbox: TenantClient, database: Database
) -> None:
    url = await sandbox_inbound_url(sandbox)
    token = url.rsplit("/", 1)[1]
    tokens = InboundTokens(database)

    assert await tokens.tenant_for("sandbox", token) == sandbox.tenant.tenant_id
    async with database.write() as session:
        await session.execute(delete(InboundToken))
    # Found once, it is not asked again (a token never changes hands).
    assert await tokens.tenant_for("sandbox", token) == sandbox.tenant.tenant_id
    # Under another provider, or another token, it is asked, and not found.
    assert await tokens.tenant_for("asaas", token) is None
    assert await tokens.tenant_for("sandbox", token[:-1] + "x") is None
    assert await tokens.tenant_for("paypal", token) is None
