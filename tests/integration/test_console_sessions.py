"""Signing in to the console (users/sessions.py) on both databases: sessions found by their
token's hash, expiring 12 hours after the last request and 7 days after sign-in, last_seen_at
written once a minute; the throttle (5 failures in 15 minutes lock an e-mail for 15 minutes,
known or not), recorded although the sign-in is refused; real time for a sandbox tenant."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import func, select

from assina.core.clock import FrozenClock, ShiftedClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.users.models import ConsoleLoginThrottle, ConsoleRole, ConsoleSession, ConsoleUser
from assina.users.passwords import hash_password
from assina.users.sessions import prune_console_sign_ins, sign_out
from tests.integration.console_user_support import (
    PASSWORD,
    current,
    in_write,
    new_tenant,
    new_user,
    refused,
    signed_in,
)

EMAIL = "ana@example.com"
WRONG = "senha-errada-99"


async def _stored_session(database: Database, session_id: str) -> ConsoleSession:
    async with database.read() as session:
        stored = await session.get(ConsoleSession, session_id)
        assert stored is not None
        session.expunge(stored)  # as read: the read's rollback would expire it
    return stored


async def _throttle(database: Database, email: str) -> ConsoleLoginThrottle | None:
    async with database.read() as session:
        throttle = await session.get(ConsoleLoginThrottle, email)
        if throttle is not None:
            session.expunge(throttle)  # as read: the read's rollback would expire it
    return throttle


async def test_a_sign_in_opens_a_session_its_token_finds_and_the_token_is_not_stored(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    ana = await new_user(database, clock, tenant_id, EMAIL, ConsoleRole.FINANCE)
    done = await signed_in(database, clock, "  ANA@Example.com ")
    assert done.user.id == ana.id
    stored = await _stored_session(database, done.console_session.id)
    assert stored.id.startswith("ses_")
    assert (stored.tenant_id, stored.user_id) == (tenant_id, ana.id)
    assert stored.token_hash == hashlib.sha256(done.token.encode()).hexdigest() != done.token
    assert len(done.token) >= 43 and len(stored.csrf_token) >= 43
    assert stored.csrf_token != done.token
    assert stored.created_at == stored.last_seen_at == clock.real_now()
    assert stored.expires_at == clock.real_now() + timedelta(days=7)

    found = await current(database, clock, done.token)
    assert found is not None
    assert (found[0].id, found[1].id, found[1].role) == (stored.id, ana.id, ConsoleRole.FINANCE)
    assert await current(database, clock, done.token + "x") is None
    assert await current(database, clock, "") is None


async def test_a_session_ends_12_hours_after_its_last_request(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    token = (await signed_in(database, clock, EMAIL)).token
    clock.advance(timedelta(hours=11, minutes=59))
    assert await current(database, clock, token) is not None  # and seen now
    clock.advance(timedelta(hours=11, minutes=59))
    assert await current(database, clock, token) is not None
    clock.advance(timedelta(hours=12))
    assert await current(database, clock, token) is None


async def test_a_session_ends_7_days_after_sign_in_however_busy(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    token = (await signed_in(database, clock, EMAIL)).token
    signed_at = clock.real_now()
    while clock.real_now() + timedelta(hours=10) < signed_at + timedelta(days=7):
        clock.advance(timedelta(hours=10))
        assert await current(database, clock, token) is not None
    clock.set(signed_at + timedelta(days=7) - timedelta(seconds=1))
    assert await current(database, clock, token) is not None
    clock.advance(timedelta(seconds=1))
    assert await current(database, clock, token) is None


async def test_last_seen_is_written_at_most_once_a_minute(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    done = await signed_in(database, clock, EMAIL)
    signed_at = clock.real_now()
    for seconds in (1, 30, 59):
        clock.set(signed_at + timedelta(seconds=seconds))
        assert await current(database, clock, done.token) is not None
        stored = await _stored_session(database, done.console_session.id)
        assert stored.last_seen_at == signed_at
    clock.set(signed_at + timedelta(seconds=60))
    found = await current(database, clock, done.token)
    assert found is not None and found[0].last_seen_at == clock.real_now()
    assert (await _stored_session(database, done.console_session.id)).last_seen_at == (
        clock.real_now()
    )


async def test_sign_out_ends_that_session_only(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    first = await signed_in(database, clock, EMAIL)
    second = await signed_in(database, clock, EMAIL)
    await in_write(database, lambda s: sign_out(s, first.token))
    await in_write(database, lambda s: sign_out(s, "no-such-token"))
    assert await current(database, clock, first.token) is None
    assert await current(database, clock, second.token) is not None


async def test_a_wrong_password_an_unknown_email_and_an_inactive_user_get_one_answer(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    async with database.write() as session:
        session.add(
            ConsoleUser(
                id="usr_inactive",
                tenant_id=tenant_id,
                email="gone@example.com",
                name=None,
                password_hash=hash_password(PASSWORD),
                role=ConsoleRole.ADMIN,
                active=False,
                created_at=clock.real_now(),
                updated_at=clock.real_now(),
            )
        )
    answers = [
        await refused(database, clock, EMAIL, WRONG),
        await refused(database, clock, "nobody@example.com", PASSWORD),
        await refused(database, clock, "gone@example.com", PASSWORD),
        await refused(database, clock, "not an e-mail", PASSWORD),
        await refused(database, clock, EMAIL, "x" * 10_000),
    ]
    bodies = {(p.status, p.slug, p.detail, tuple(p.headers.items())) for p in answers}
    assert bodies == {(401, "invalid-credentials", "E-mail ou senha incorretos.", ())}


async def test_five_failures_lock_the_email_for_15_minutes_even_for_the_right_password(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    for attempt in range(5):
        clock.advance(timedelta(seconds=30))
        assert (await refused(database, clock, EMAIL, WRONG)).status == 401, attempt
    throttle = await _throttle(database, EMAIL)
    assert throttle is not None and throttle.failures == 5  # committed, although refused
    locked_at = clock.real_now()
    assert throttle.locked_until == locked_at + timedelta(minutes=15)

    sixth = await refused(database, clock, EMAIL, PASSWORD)
    assert (sixth.status, sixth.slug) == (429, "too-many-attempts")
    assert sixth.headers == {"Retry-After": "900"}
    clock.advance(timedelta(minutes=10, seconds=30))
    later = await refused(database, clock, " Ana@Example.com", PASSWORD)
    assert (later.status, later.headers) == (429, {"Retry-After": "270"})

    clock.set(locked_at + timedelta(minutes=15))
    await signed_in(database, clock, EMAIL)
    assert await _throttle(database, EMAIL) is None  # a success clears it


async def test_an_unknown_email_is_throttled_like_a_known_one(
    database: Database, clock: FrozenClock
) -> None:
    for _ in range(5):
        assert (await refused(database, clock, "nobody@example.com", WRONG)).status == 401
    assert (await refused(database, clock, "nobody@example.com", WRONG)).status == 429
    assert (await refused(database, clock, "other@example.com", WRONG)).status == 401


async def test_failures_count_within_15_minutes_and_a_success_resets_them(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    for _ in range(4):
        await refused(database, clock, EMAIL, WRONG)
    clock.advance(timedelta(minutes=15))  # the window of the first four is over
    for _ in range(4):
        assert (await refused(database, clock, EMAIL, WRONG)).status == 401
    throttle = await _throttle(database, EMAIL)
    assert throttle is not None and throttle.failures == 4 and throttle.locked_until is None
    await signed_in(database, clock, EMAIL)
    for _ in range(4):
        assert (await refused(database, clock, EMAIL, WRONG)).status == 401
    await signed_in(database, clock, EMAIL)  # a fifth attempt, right: no lock
    async with database.read() as session:
        sessions = await session.scalar(select(func.count()).select_from(ConsoleSession))
    assert sessions == 2


async def test_sessions_and_the_throttle_run_in_real_time_for_a_shifted_clock(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    """A sandbox tenant's test clock moves its business time only: a year ahead, its users'
    sessions still last their hours of real time."""
    tenant_id = await new_tenant(database, clock, secret_box, "Sandbox Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    shifted = ShiftedClock(clock, timedelta(days=365))
    done = await signed_in(database, shifted, EMAIL)
    assert done.console_session.expires_at == clock.real_now() + timedelta(days=7)
    assert await current(database, clock, done.token) is not None
    clock.advance(timedelta(hours=1))
    assert await current(database, shifted, done.token) is not None


async def test_housekeeping_prunes_ended_sessions_and_throttles_only(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, EMAIL)
    idle = await signed_in(database, clock, EMAIL)
    await refused(database, clock, "nobody@example.com", WRONG)
    clock.advance(timedelta(hours=11))
    busy = await signed_in(database, clock, EMAIL)
    await refused(database, clock, "other@example.com", WRONG)
    clock.advance(timedelta(hours=1))
    await refused(database, clock, "fresh@example.com", WRONG)
    assert await in_write(database, lambda s: prune_console_sign_ins(s, clock)) == 1
    assert await current(database, clock, busy.token) is not None
    async with database.read() as session:
        kept = set(await session.scalars(select(ConsoleSession.id)))
        throttled = set(await session.scalars(select(ConsoleLoginThrottle.email)))
    assert kept == {busy.console_session.id} != {idle.console_session.id}
    assert throttled == {"fresh@example.com"}  # the other windows are over
