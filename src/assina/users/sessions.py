"""Signing in to the console, the sessions it opens, and the sign-in throttle.

A session is a random token in the browser's cookie; the database keeps its SHA-256 only. It
ends 12 hours after its last request (`IDLE_TIMEOUT`) and 7 days after sign-in at most
(`MAX_SESSION_AGE`). Its `last_seen_at` is written at most once a minute, not on every page.

Failed sign-ins are counted per e-mail, whether or not a user has it: 5 within 15 minutes
lock the e-mail for 15 minutes, during which even the right password is refused (429).

Everything here runs in real time (`clock.real_now()`), also for a sandbox tenant whose test
clock has been advanced.

How a boundary (the console's sign-in page) uses `sign_in`, which owns its transactions (the
password is checked between them): a refused sign-in is returned, not raised, because the
failure it counted is committed::

    outcome = await sign_in(database, clock, email, password)
    if isinstance(outcome, SignInRefused):
        ...  # outcome.problem: 401 invalid-credentials, or 429 with a Retry-After header
    set_cookie(outcome.token)  # and outcome.console_session.csrf_token for the forms
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import Problem
from assina.core.ids import new_id
from assina.core.inputs import unstorable_text
from assina.db.database import Database
from assina.db.dialect import insert_on_conflict
from assina.users.models import (
    MAX_EMAIL_LENGTH,
    ConsoleLoginThrottle,
    ConsoleSession,
    ConsoleUser,
)
from assina.users.passwords import (
    MAX_PASSWORD_LENGTH,
    dummy_hash,
    hash_password_off_loop,
    needs_rehash,
    verify_password_off_loop,
)
from assina.users.service import console_email

IDLE_TIMEOUT = timedelta(hours=12)
MAX_SESSION_AGE = timedelta(days=7)
# `last_seen_at` is exact to this much: a session in use is written at most once per interval.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
TOKEN_BYTES = 32


@dataclass(frozen=True)
class SignedIn:
    """A sign-in that worked: `token` goes in the cookie (it is not stored, so this is the
    one time it is seen), `console_session` carries the CSRF token."""

    token: str
    console_session: ConsoleSession
    user: ConsoleUser


@dataclass(frozen=True)
class SignInRefused:
    """A sign-in that did not work: commit the transaction (the failure was counted), then
    answer `problem` (401 `invalid-credentials`, or 429 `too-many-attempts` whose headers
    carry Retry-After)."""

    problem: Problem


def hash_session_token(token: str) -> str:
    """The SHA-256 (hex) a session is found by. Tokens carry 256 random bits, so a fast hash
    is enough. Any text hashes (a forged cookie with odd characters finds no session)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def invalid_credentials() -> Problem:
    """The one answer to a wrong e-mail, a wrong password or an inactive user."""
    return Problem(401, "invalid-credentials", "E-mail ou senha incorretos.", "Unauthorized")


def too_many_attempts(locked_until: datetime, now: datetime) -> Problem:
    seconds = max(1, math.ceil((locked_until - now).total_seconds()))
    minutes = math.ceil(seconds / 60)
    return Problem(
        429,
        "too-many-attempts",
        f"Muitas tentativas de entrar com este e-mail. Tente de novo em {minutes} min.",
        "Too Many Requests",
        headers={"Retry-After": str(seconds)},
    )


def _throttle_key(email: str) -> str | None:
    """The e-mail as the throttle counts it: as stored for users when it is an address,
    otherwise trimmed and lower-cased; None when no user can have it (too long, or text no
    database stores), so there is nothing to count."""
    try:
        return console_email(email)
    except Problem:
        key = email.strip().lower()
    if len(key) > MAX_EMAIL_LENGTH or unstorable_text(key) is not None:
        return None
    return key


@dataclass(frozen=True)
class _Candidate:
    """Who an e-mail names, as read before the password is checked."""

    user_id: str | None
    password_hash: str | None


async def sign_in(
    database: Database, clock: Clock, email: str, password: str
) -> SignedIn | SignInRefused:
    """Check an e-mail and password and open a session: `SignedIn`, or `SignInRefused`
    (returned, not raised: the failure it counted is committed). The throttle is asked first;
    a success clears it, a failure counts in it. Takes one argon2 verification of CPU (off the
    event loop) whether or not the e-mail exists, so that the time tells nothing.

    The verification runs between two transactions, not inside one: it takes tens of
    milliseconds, and on SQLite a write transaction would hold every other writer that long.
    The write transaction that records the outcome checks the lock again and that the
    password checked is still the user's."""
    now = clock.real_now()
    key = _throttle_key(email)
    if key is None:
        await _password_matches(None, password)
        return SignInRefused(invalid_credentials())
    async with database.read() as session:
        throttle = await session.get(ConsoleLoginThrottle, key)
        if _locked(throttle, now):
            return SignInRefused(_locked_out(throttle, now))
        candidate = await _candidate(session, key)
    matches = await _password_matches(candidate.password_hash, password)
    rehashed = None
    if matches and candidate.password_hash and needs_rehash(candidate.password_hash):
        rehashed = await hash_password_off_loop(password)
    async with database.write() as session:
        throttle = await session.get(ConsoleLoginThrottle, key, with_for_update=True)
        if _locked(throttle, now):  # locked by another attempt meanwhile
            return SignInRefused(_locked_out(throttle, now))
        user = await session.get(ConsoleUser, candidate.user_id) if candidate.user_id else None
        if (
            not matches
            or user is None
            or not user.active
            or (user.password_hash != candidate.password_hash)
        ):
            await _count_failure(session, key, throttle, now)
            return SignInRefused(invalid_credentials())
        if throttle is not None:
            await session.delete(throttle)
        if rehashed is not None:
            user.password_hash, user.updated_at = rehashed, now
        return await _open_session(session, user, now)


def _locked(throttle: ConsoleLoginThrottle | None, now: datetime) -> bool:
    return (
        throttle is not None and throttle.locked_until is not None and throttle.locked_until > now
    )


def _locked_out(throttle: ConsoleLoginThrottle | None, now: datetime) -> Problem:
    assert throttle is not None and throttle.locked_until is not None  # noqa: S101 (_locked)
    return too_many_attempts(throttle.locked_until, now)


async def _candidate(session: AsyncSession, key: str) -> _Candidate:
    user = await session.scalar(select(ConsoleUser).where(ConsoleUser.email == key))
    if user is None:
        return _Candidate(None, None)
    return _Candidate(user.id, user.password_hash)


async def _open_session(session: AsyncSession, user: ConsoleUser, now: datetime) -> SignedIn:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    console_session = ConsoleSession(
        id=new_id("ses"),
        tenant_id=user.tenant_id,
        user_id=user.id,
        token_hash=hash_session_token(token),
        csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
        created_at=now,
        last_seen_at=now,
        expires_at=now + MAX_SESSION_AGE,
    )
    session.add(console_session)
    await session.flush()
    return SignedIn(token=token, console_session=console_session, user=user)


async def _password_matches(password_hash: str | None, password: str) -> bool:
    """One verification, against the dummy hash when there is no user (or the password is
    longer than any that can be set), so that every refusal costs the same time."""
    if password_hash is None or len(password) > MAX_PASSWORD_LENGTH:
        await verify_password_off_loop(password[:MAX_PASSWORD_LENGTH], dummy_hash())
        return False
    return await verify_password_off_loop(password, password_hash)


async def _count_failure(
    session: AsyncSession, key: str, throttle: ConsoleLoginThrottle | None, now: datetime
) -> None:
    if throttle is None:
        # The first failure of this e-mail: concurrent first failures insert one row, and
        # each then counts in it under its lock.
        await session.execute(
            insert_on_conflict(session, ConsoleLoginThrottle)
            .values(email=key, failures=0, first_failure_at=now, locked_until=None)
            .on_conflict_do_nothing(index_elements=["email"])
        )
        throttle = await session.get(ConsoleLoginThrottle, key, with_for_update=True)
        assert throttle is not None  # noqa: S101 - inserted just above, or by another
    # A lock ends 15 minutes after the fifth failure, so the window is over when it ends too.
    if now - throttle.first_failure_at >= FAILURE_WINDOW:
        throttle.failures, throttle.first_failure_at, throttle.locked_until = 0, now, None
    throttle.failures += 1
    if throttle.failures >= MAX_FAILURES:
        throttle.locked_until = now + LOCK_DURATION
    await session.flush()


async def find_session(
    session: AsyncSession, clock: Clock, token: str
) -> tuple[ConsoleSession, ConsoleUser] | None:
    """The session a cookie's token opens, and its user; None when the token is unknown, the
    session expired (idle 12 hours, or 7 days old) or the user is inactive. Reads only: a
    page reads it in a read transaction, and writes `note_seen` only when `seen_long_ago`."""
    row = (
        await session.execute(
            select(ConsoleSession, ConsoleUser)
            .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
            .where(ConsoleSession.token_hash == hash_session_token(token))
        )
    ).first()
    if row is None:
        return None
    console_session, user = row
    if not user.active or clock.real_now() >= _ends_at(console_session):
        return None
    return console_session, user


def seen_long_ago(console_session: ConsoleSession, clock: Clock) -> bool:
    """Whether the session's last request is a minute old or more: time to record this one."""
    return clock.real_now() - console_session.last_seen_at >= LAST_SEEN_RESOLUTION


async def note_seen(session: AsyncSession, clock: Clock, session_id: str) -> datetime:
    """Record a request of the session in `last_seen_at` (in a write transaction); returns
    the instant recorded."""
    now = clock.real_now()
    # The guard is in the statement, so requests racing for one session write it once.
    await session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.id == session_id,
            ConsoleSession.last_seen_at <= now - LAST_SEEN_RESOLUTION,
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return now


def _ends_at(console_session: ConsoleSession) -> datetime:
    return min(console_session.last_seen_at + IDLE_TIMEOUT, console_session.expires_at)


async def sign_out(session: AsyncSession, token: str) -> None:
    """End the session the token opens (nothing when there is none)."""
    await session.execute(
        delete(ConsoleSession).where(ConsoleSession.token_hash == hash_session_token(token))
    )


async def prune_console_sign_ins(session: AsyncSession, clock: Clock) -> int:
    """Delete expired sessions and the throttles no longer counting or locking (for a
    housekeeping pass); returns how many sessions went."""
    now = clock.real_now()
    ended = await session.execute(
        delete(ConsoleSession).where(
            or_(
                ConsoleSession.expires_at <= now,
                ConsoleSession.last_seen_at <= now - IDLE_TIMEOUT,
            )
        )
    )
    await session.execute(
        delete(ConsoleLoginThrottle).where(
            ConsoleLoginThrottle.first_failure_at <= now - FAILURE_WINDOW,
            or_(
                ConsoleLoginThrottle.locked_until.is_(None),
                ConsoleLoginThrottle.locked_until <= now,
            ),
        )
    )
    return int(getattr(ended, "rowcount", 0) or 0)
