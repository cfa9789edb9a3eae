"""Console users and sign-ins for the tests, each in its own committed transaction, as a
console request would run them (users/sessions.py's docstring)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import Problem
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.tenants.service import create_tenant
from assina.users.models import ConsoleRole, ConsoleSession, ConsoleUser
from assina.users.service import create_console_user
from assina.users.sessions import (
    SignedIn,
    SignInRefused,
    find_session,
    note_seen,
    seen_long_ago,
    sign_in,
)

PASSWORD = "senha-de-teste-1"
T = TypeVar("T")


async def new_tenant(database: Database, clock: Clock, box: SecretBox, name: str) -> str:
    async with database.write() as session:
        return (await create_tenant(session, clock, box, name)).tenant_id


async def new_user(
    database: Database,
    clock: Clock,
    tenant_id: str,
    email: str,
    role: ConsoleRole = ConsoleRole.ADMIN,
    password: str = PASSWORD,
) -> ConsoleUser:
    async with database.write() as session:
        return await create_console_user(session, clock, tenant_id, email, password, role)


async def in_write(database: Database, use_case: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async with database.write() as session:
        return await use_case(session)


async def refusal(
    database: Database, use_case: Callable[[AsyncSession], Awaitable[object]]
) -> Problem:
    """The Problem a use case raises (its transaction rolled back)."""
    with pytest.raises(Problem) as raised:
        await in_write(database, use_case)
    return raised.value


async def attempt(
    database: Database, clock: Clock, email: str, password: str
) -> SignedIn | SignInRefused:
    """One sign-in, committed whatever its outcome (what the console's boundary does)."""
    return await sign_in(database, clock, email, password)


async def signed_in(
    database: Database, clock: Clock, email: str, password: str = PASSWORD
) -> SignedIn:
    outcome = await attempt(database, clock, email, password)
    assert isinstance(outcome, SignedIn), outcome
    return outcome


async def refused(database: Database, clock: Clock, email: str, password: str) -> Problem:
    outcome = await attempt(database, clock, email, password)
    assert isinstance(outcome, SignInRefused), outcome
    return outcome.problem


async def current(
    database: Database, clock: Clock, token: str
) -> tuple[ConsoleSession, ConsoleUser] | None:
    """The session a cookie opens, its request recorded when the last one is a minute old
    (what console/auth.py does, in one transaction here so the rows stay readable)."""
    async with database.write() as session:
        found = await find_session(session, clock, token)
        if found is not None and seen_long_ago(found[0], clock):
            found[0].last_seen_at = await note_seen(session, clock, found[0].id)
    return found
