"""A charge's moves: settle (with late fees on the tenant's calendar), reverse, invalidate,
reactivate; every other move is a 409 that changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from assina.charges.models import Charge
from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.assertions import assert_invalid, assert_problem, iso
from tests.conftest import TenantClient
from tests.integration.charge_support import (
    charge_events,
    create_charge,
    event_ids_about,
    line,
    read_charge,
    state,
)

MOVES = ("settle", "reverse", "invalidate", "reactivate")
ALLOWED = {
    "open": {"settle", "invalidate"},
    "settled": {"reverse"},
    "reversed": set(),
    "invalidated": {"reactivate"},
}
PATH_TO = {  # the moves that bring a new charge to each status
    "open": [],
    "settled": ["settle"],
    "reversed": ["settle", "reverse"],
    "invalidated": ["invalidate"],
}


async def move(api: TenantClient, charge_id: str, name: str, body: Any = None) -> dict[str, Any]:
    response = await api.post(f"/v1/charges/{charge_id}/{name}", body)
    assert response.status_code == 200, response.text
    charge: dict[str, Any] = response.json()
    return charge


async def charge_in(api: TenantClient, status: str) -> dict[str, Any]:
    charge = await create_charge(api)
    for name in PATH_TO[status]:
        charge = await move(api, charge["id"], name)
    assert charge["status"] == status
    return charge


async def settled_with(
    api: TenantClient,
    clock: FrozenClock,
    settled_at: str,
    amount: int = 10000,
    received: int | None = None,
    **body: Any,
) -> dict[str, Any]:
    """A charge of `amount` due 2026-01-10, settled at `settled_at` (with `received`)."""
    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    charge = await create_charge(api, items=[line(amount)], due_date="2026-01-10")
    if received is not None:
        body["amount"] = received
    return await move(api, charge["id"], "settle", {"settled_at": settled_at, **body})


# --- the allowed moves ---------------------------------------------------------------------------


async def test_every_allowed_move_with_its_event(api: TenantClient, clock: FrozenClock) -> None:
    charge = await create_charge(api, due_date="2026-01-20")
    expected = [
        ("invalidate", "invalidated", "charge.invalidated", "open"),
        ("reactivate", "open", "charge.reactivated", "invalidated"),
        ("settle", "settled", "charge.settled", "open"),
        ("reverse", "reversed", "charge.reversed", "settled"),
    ]
    for name, status, event_type, before in expected:
        clock.advance(timedelta(minutes=5))
        moved = await move(api, charge["id"], name)
        assert moved["status"] == status
        assert moved["updated_at"] == iso(clock.now())
        assert await read_charge(api, charge["id"]) == moved
        event = (await charge_events(api))[-1]
        assert (event["type"], event["data"], event["previous"]) == (
            event_type,
            moved,
            {"status": before},
        )
        assert event["id"] in await event_ids_about(api, charge["customer_id"])
        charge = moved
    # What was settled stays on record after the reversal.
    assert charge["settled_amount"] == 10000
    assert charge["settled_at"] is not None


@pytest.mark.parametrize(
    ("status", "name"),
    [(status, name) for status in ALLOWED for name in MOVES if name not in ALLOWED[status]],
)
async def test_every_forbidden_move_is_409_and_changes_nothing(
    api: TenantClient, database: Database, status: str, name: str
) -> None:
    charge = await charge_in(api, status)
    before = await state(api, database)
    response = await api.post(f"/v1/charges/{charge['id']}/{name}")
    body = assert_problem(response, 409, "invalid-transition")
    assert status in body["detail"]
    assert await state(api, database) == before


@pytest.mark.parametrize("status", ["settled", "reversed", "invalidated"])
async def test_only_an_open_charge_can_be_patched(
    api: TenantClient, database: Database, status: str
) -> None:
    charge = await charge_in(api, status)
    before = await state(api, database)
    response = await api.patch(f"/v1/charges/{charge['id']}", {"due_date": "2026-05-01"})
    assert_problem(response, 409, "invalid-transition")
    assert await state(api, database) == before


async def test_a_reactivated_charge_can_be_patched_again(api: TenantClient) -> None:
    charge = await charge_in(api, "invalidated")
    await move(api, charge["id"], "reactivate")
    patched = await api.patch(f"/v1/charges/{charge['id']}", {"due_date": "2026-05-01"})
    assert patched.status_code == 200, patched.text


# --- settling and late fees ----------------------------------------------------------------------


async def test_settled_on_time_by_default_now(api: TenantClient, clock: FrozenClock) -> None:
    charge = await create_charge(api, due_date="2026-01-20", payment_method="pix")
    clock.advance(timedelta(hours=1))
    settled = await move(api, charge["id"], "settle")
    assert settled == {
        **charge,
        "status": "settled",
        "settled_at": iso(clock.now()),
        "settled_amount": 10000,
        "payment_url": None,  # nothing left to pay
        "updated_at": iso(clock.now()),
    }


async def test_late_fees_end_to_end(api: TenantClient, clock: FrozenClock) -> None:
    # 2026-01-25 12:00 in São Paulo: 15 days late. 2 % of 10000 and 1 % a month for 15 days.
    settled = await settled_with(api, clock, "2026-01-25T15:00:00Z")
    assert (settled["fine_amount"], settled["interest_amount"]) == (200, 50)
    assert settled["settled_amount"] == 10250
    assert settled["settled_at"] == "2026-01-25T15:00:00Z"


@pytest.mark.parametrize(
    ("settled_at", "fine", "interest"),
    [
        ("2026-01-11T02:59:59Z", 0, 0),  # 23:59:59 on the due date in São Paulo
        ("2026-01-11T03:00:00Z", 200, 3),  # 00:00 the day after: 1 day, 3.33 centavos
        ("2026-01-26T01:00:00Z", 200, 50),  # still the 25th in São Paulo: 15 days
        ("2026-01-26T03:00:00Z", 200, 53),  # the 26th: 16 days, 53.33 centavos
        ("2026-01-09T12:00:00-03:00", 0, 0),  # early
    ],
)
async def test_days_late_are_counted_on_the_tenants_calendar(
    api: TenantClient, clock: FrozenClock, settled_at: str, fine: int, interest: int
) -> None:
    settled = await settled_with(api, clock, settled_at)
    assert (settled["fine_amount"], settled["interest_amount"]) == (fine, interest)
    assert settled["settled_amount"] == 10000 + fine + interest


async def test_the_tenants_time_zone_decides_the_day(api: TenantClient, clock: FrozenClock) -> None:
    assert (await api.patch("/v1/tenant", {"time_zone": "Asia/Tokyo"})).status_code == 200
    # 16:00 UTC on the due date is 01:00 the next day in Tokyo: one day late.
    settled = await settled_with(api, clock, "2026-01-10T16:00:00Z")
    assert (settled["fine_amount"], settled["interest_amount"]) == (200, 3)


async def test_fees_follow_the_billing_settings(api: TenantClient, clock: FrozenClock) -> None:
    body = {"fine_percent": "10", "monthly_interest_percent": "3.3333"}
    await api.http.put("/v1/billing-settings", json=body, headers=api.headers)
    settled = await settled_with(api, clock, "2026-02-09T15:00:00Z", amount=9990)  # 30 days
    # fine 999.0; interest 9990 * 3.3333 % = 332.99667 → 333
    assert (settled["fine_amount"], settled["interest_amount"]) == (999, 333)
    assert settled["settled_amount"] == 9990 + 999 + 333


async def test_fees_round_half_to_even(api: TenantClient, clock: FrozenClock) -> None:
    await api.http.put("/v1/billing-settings", json={"fine_percent": "0.5"}, headers=api.headers)
    # 0.5 % of 500 = 2.5 → 2; of 700 = 3.5 → 4.
    assert (await settled_with(api, clock, "2026-01-12T15:00:00Z", amount=500))["fine_amount"] == 2
    assert (await settled_with(api, clock, "2026-01-12T15:00:00Z", amount=700))["fine_amount"] == 4


async def test_a_given_amount_is_what_was_received(
    api: TenantClient, clock: FrozenClock, database: Database
) -> None:
    settled = await settled_with(api, clock, "2026-01-25T15:00:00Z", received=9000, method="cash")
    assert settled["settled_amount"] == 9000
    assert (settled["fine_amount"], settled["interest_amount"]) == (200, 50)
    default = await settled_with(api, clock, "2026-01-25T15:00:00Z")
    async with database.read() as session:
        rows = await session.execute(select(Charge.id, Charge.settlement_method))
        methods = {charge_id: method for charge_id, method in rows}
    assert methods[settled["id"]] == "cash"
    assert methods[default["id"]] == "boleto"  # the charge's payment_method


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"settled_at": "2026-01-15T12:00:01Z"}, "settled_at"),  # one second in the future
        ({"settled_at": "1999-12-31T23:59:59Z"}, "settled_at"),
        ({"settled_at": "2026-01-14T12:00:00"}, "settled_at"),  # no zone
        ({"settled_at": "0001-01-01T00:00:00+01:00"}, "settled_at"),
        ({"amount": -1}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": 10**15 + 1}, "amount"),
        ({"method": "cheque"}, "method"),
        ({"fine_amount": 0}, "fine_amount"),
    ],
)
async def test_invalid_settlement_is_422_and_changes_nothing(
    api: TenantClient, database: Database, body: dict[str, Any], field: str
) -> None:
    charge = await create_charge(api)
    before = await state(api, database)
    assert_invalid(await api.post(f"/v1/charges/{charge['id']}/settle", body), field)
    assert await state(api, database) == before


async def test_settle_replays_with_an_idempotency_key(api: TenantClient) -> None:
    charge = await create_charge(api)
    key = {"Idempotency-Key": "pagamento-1"}
    url = f"/v1/charges/{charge['id']}/settle"
    first = await api.post(url, {"method": "pix"}, headers=key)
    again = await api.post(url, {"method": "pix"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [e["type"] for e in await charge_events(api)] == ["charge.created", "charge.settled"]
    assert_problem(await api.post(url, {"method": "pix"}), 409, "invalid-transition")


async def test_concurrent_settlements_settle_once(api: TenantClient) -> None:
    charge = await create_charge(api)
    url = f"/v1/charges/{charge['id']}/settle"
    answers = await asyncio.gather(*(api.post(url) for _ in range(5)))
    assert sorted(answer.status_code for answer in answers) == [200, 409, 409, 409, 409]
    assert [e["type"] for e in await charge_events(api)] == ["charge.created", "charge.settled"]


async def test_a_deeply_nested_body_on_an_action_is_no_500(api: TenantClient) -> None:
    """Actions take no body, but the Idempotency-Key fingerprint still reads it."""
    charge = await create_charge(api)
    headers = {**api.headers, "Idempotency-Key": "k-1", "Content-Type": "application/json"}
    url = f"/v1/charges/{charge['id']}/reverse"
    response = await api.http.post(url, content=b"[" * 100_000, headers=headers)
    assert_problem(response, 409, "invalid-transition")
