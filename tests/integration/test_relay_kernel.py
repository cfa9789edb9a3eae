"""The relay kernel on a real outbox (the e-mails table), on SQLite and PostgreSQL: the claim
leases due jobs once, a lease that ran out is taken over, PostgreSQL's claim skips the rows
another worker is claiming, and typed outcomes move their jobs along the retry schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Table, insert, select

from assina.core.clock import FrozenClock
from assina.core.ids import new_id
from assina.db.database import Database
from assina.db.dialect import runs_concurrent_writers
from assina.notifications.models import Email, EmailStatus
from assina.notifications.sender import EMAIL_OUTBOX
from assina.relay.kernel import Claim, Relay
from assina.relay.outbox import skip_locked
from assina.relay.outcomes import Attempted, Delivered, FailedForGood, RetryLater
from assina.relay.schedule import RetrySchedule
from tests.conftest import TenantClient

EMAILS: Table = Email.__table__  # type: ignore[assignment]
LEASE = timedelta(minutes=10)
SCHEDULE = RetrySchedule((timedelta(minutes=1), timedelta(minutes=5)))


def relay(database: Database, clock: FrozenClock) -> Relay:
    return Relay(
        database,
        clock,
        EMAIL_OUTBOX,
        lease=LEASE,
        poll_interval_seconds=1.0,
        wake_on_commits=False,
    )


async def queue(api: TenantClient, database: Database, clock: FrozenClock, count: int) -> list[str]:
    customer = await api.post("/v1/customers", {"name": "Ana"})
    assert customer.status_code == 201
    now = clock.now()
    rows = [
        {
            "id": new_id("eml"),
            "tenant_id": api.tenant.tenant_id,
            "customer_id": customer.json()["id"],
            "kind": "charge_created",
            "to_address": "ana@example.com",
            "subject": f"e-mail {n}",
            "text_body": "texto",
            "html_body": "<p>texto</p>",
            "status": EmailStatus.PENDING.value,
            "attempt_count": 0,
            "next_attempt_at": now + timedelta(seconds=n),
            "created_at": now,
        }
        for n in range(count)
    ]
    async with database.write() as session:
        await session.execute(insert(EMAILS), rows)
    return [row["id"] for row in rows]


async def claim_due(kernel: Relay, limit: int = 10) -> list[str]:
    async with kernel.claiming() as claim:
        return await choose_and_lease(kernel, claim, limit)


async def choose_and_lease(kernel: Relay, claim: Claim, limit: int) -> list[str]:
    due = (
        select(EMAILS.c.id)
        .where(EMAIL_OUTBOX.due(claim.now))
        .order_by(EMAILS.c.next_attempt_at, EMAILS.c.id)
        .limit(limit)
    )
    ids = list(await claim.session.scalars(skip_locked(due, kernel.lock_rows, of=EMAILS)))
    if ids:
        await claim.lease(ids)
    return ids


async def states(database: Database) -> dict[str, tuple[Any, ...]]:
    async with database.read() as session:
        rows = await session.execute(
            select(
                Email.id,
                Email.status,
                Email.attempt_count,
                Email.next_attempt_at,
                Email.locked_until,
                Email.last_error,
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}


async def test_a_claim_leases_due_jobs_once(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    ids = await queue(api, database, clock, 3)
    clock.advance(timedelta(seconds=1))  # two of the three are due
    kernel = relay(database, clock)

    assert await claim_due(kernel) == ids[:2]
    assert await claim_due(kernel) == []
    leased = await states(database)
    assert [leased[i][3] for i in ids] == [clock.now() + LEASE, clock.now() + LEASE, None]


async def test_a_lease_that_ran_out_is_taken_over(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    ids = await queue(api, database, clock, 1)
    dead_worker, other_worker = relay(database, clock), relay(database, clock)
    assert await claim_due(dead_worker) == ids

    clock.advance(LEASE - timedelta(seconds=1))
    assert await claim_due(other_worker) == []
    clock.advance(timedelta(seconds=1))
    assert await claim_due(other_worker) == ids
    assert (await states(database))[ids[0]][3] == clock.now() + LEASE


async def test_the_claim_skips_rows_another_worker_is_claiming(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    if not runs_concurrent_writers(database.engine):
        pytest.skip("SQLite has one writer: claims never overlap")
    ids = await queue(api, database, clock, 3)
    clock.advance(timedelta(seconds=2))
    first, second = relay(database, clock), relay(database, clock)
    async with first.claiming() as claim:
        taken = await choose_and_lease(first, claim, 2)
        # The first claim's transaction is still open, its rows locked: not waited for.
        assert await claim_due(second) == ids[2:]
    assert taken == ids[:2]


async def test_typed_outcomes_move_their_jobs_along_the_schedule(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    sent, retried, refused, spent, untried = await queue(api, database, clock, 5)
    clock.advance(timedelta(seconds=5))
    kernel = relay(database, clock)
    assert len(await claim_due(kernel)) == 5
    attempts = [
        Attempted(sent, 0, Delivered(), SCHEDULE),
        Attempted(retried, 0, RetryLater("421 try later"), SCHEDULE),
        Attempted(refused, 0, FailedForGood("550 no such mailbox"), SCHEDULE),
        Attempted(spent, 2, RetryLater("timeout"), SCHEDULE),  # a third failure: none left
    ]
    await kernel.record(lambda _now: attempts, untried=[untried])

    now = clock.now()
    after = await states(database)
    assert after[sent][:2] == (EmailStatus.SENT.value, 1) and after[sent][4] is None
    assert after[retried] == (
        EmailStatus.PENDING.value,
        1,
        now + SCHEDULE.steps[0],
        None,
        "421 try later",
    )
    assert after[refused][0::4] == (EmailStatus.FAILED.value, "550 no such mailbox")
    assert after[spent][0::4] == (EmailStatus.FAILED.value, "timeout")
    assert after[untried][:2] == (EmailStatus.PENDING.value, 0) and after[untried][3] is None
    # Released, the untried one is due again at once; the retried one at its step.
    assert await claim_due(kernel) == [untried]
    clock.advance(SCHEDULE.steps[0])
    assert await claim_due(kernel) == [retried]
