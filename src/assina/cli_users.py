"""`assina user`: the console's users from the command line (the first admin of a tenant is
made here; the console manages the others)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from assina.config import Settings
from assina.core.clock import SystemClock
from assina.core.errors import Problem
from assina.db.database import Database
from assina.tenants.service import get_tenant
from assina.users.models import ConsoleRole, ConsoleUser
from assina.users.service import create_console_user, list_console_users

T = TypeVar("T")

user_app = typer.Typer(help="Manage the console's users.", no_args_is_help=True)

TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant (ten_…).")]


def _in_one_transaction(use_case: Callable[[AsyncSession], Awaitable[T]], *, write: bool) -> T:
    """Run `use_case` in one transaction of the configured database; a Problem it raises
    ends the command with its detail on stderr and exit status 1."""

    async def run() -> T:
        database = Database.from_url(Settings().database_url, pool_size=1)
        try:
            transaction = database.write() if write else database.read()
            async with transaction as session:
                return await use_case(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except Problem as problem:
        typer.echo(f"error: {problem.detail}", err=True)
        raise typer.Exit(1) from problem


def _password_from_stdin() -> str:
    """The password: asked twice without echo on a terminal; otherwise the first line of
    stdin, without its line break (spaces are the password's)."""
    if sys.stdin.isatty():
        password: str = typer.prompt("Senha", hide_input=True, confirmation_prompt=True)
        return password
    line = sys.stdin.readline()
    if not line:
        typer.echo("error: no password on stdin (one line expected)", err=True)
        raise typer.Exit(1)
    return line.removesuffix("\n").removesuffix("\r")


def _shown(user: ConsoleUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "tenant_id": user.tenant_id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "active": user.active,
        "created_at": user.created_at.isoformat(),
    }


@user_app.command("create")
def user_create(
    email: Annotated[
        str, typer.Argument(metavar="EMAIL", help="The user's e-mail (unique across tenants).")
    ],
    tenant_id: TenantOption,
    role: Annotated[
        ConsoleRole,
        typer.Option(
            help="admin: everything; finance: all but webhooks, API keys and users; "
            "viewer: sees, changes nothing."
        ),
    ] = ConsoleRole.ADMIN,
    name: Annotated[str | None, typer.Option(help="The user's name.")] = None,
) -> None:
    """Create a console user of a tenant and print it as JSON. The password is asked twice
    (hidden) or, when stdin is not a terminal, read as its first line: at least 10
    characters, not one character repeated."""
    password = _password_from_stdin()

    async def create(session: AsyncSession) -> dict[str, Any]:
        user = await create_console_user(
            session, SystemClock(), tenant_id, email, password, role, name
        )
        return _shown(user)

    typer.echo(json.dumps(_in_one_transaction(create, write=True)))


@user_app.command("list")
def user_list(
    tenant_id: TenantOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List a tenant's console users, oldest first: id, e-mail, role, active, name."""

    async def listed(session: AsyncSession) -> list[dict[str, Any]]:
        await get_tenant(session, tenant_id)
        return [_shown(user) for user in await list_console_users(session, tenant_id)]

    users = _in_one_transaction(listed, write=False)
    if as_json:
        typer.echo(json.dumps(users))
        return
    rows = [("ID", "E-MAIL", "ROLE", "ACTIVE", "CREATED", "NAME")]
    rows += [
        (
            u["id"],
            u["email"],
            u["role"],
            "yes" if u["active"] else "no",
            _when(u["created_at"]),
            u["name"] or "-",
        )
        for u in users
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, row[-1]]))


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).isoformat(timespec="seconds")
