"""Configurações → Usuários (admins only): the tenant's console users, a new one (e-mail, name,
role, password), another role, deactivation; through users/service.py. The tenant's last
active admin can be neither demoted nor deactivated: the 409 is shown on the page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.console.auth import AdministratorDep, ConsoleCaller
from assina.console.forms import field_errors, read_form, refusal
from assina.console.web import render_page
from assina.core.errors import Problem
from assina.users import service
from assina.users.models import ConsoleRole

router = APIRouter(prefix="/console/settings/users")

LIST_PATH = "/console/settings/users"


@router.get("")
async def user_list(caller: AdministratorDep) -> Response:
    return await _user_page(caller, {"role": ConsoleRole.FINANCE.value}, None)


@router.post("")
async def create_user(request: Request, caller: AdministratorDep) -> Response:
    form = await read_form(request)
    values = {name: form.get(name) for name in ("email", "name", "role")}
    try:
        async with caller.runtime.database.write() as session:
            await service.create_console_user(
                session,
                caller.clock,
                caller.tenant_id,
                values["email"],
                form.get("password"),
                values["role"],
                form.optional("name"),
            )
    except Problem as problem:
        if problem.status == 404:
            raise
        return await _user_page(caller, values, problem)  # never the password back
    return RedirectResponse(LIST_PATH, status_code=303)


@router.post("/{user_id}/role")
async def change_role(user_id: str, request: Request, caller: AdministratorDep) -> Response:
    role = (await read_form(request)).get("role")

    async def change(session: AsyncSession) -> object:
        return await service.change_role(session, caller.clock, caller.tenant_id, user_id, role)

    answer = await _change(caller, change)
    if user_id == caller.user_id and role != ConsoleRole.ADMIN and answer.status_code == 303:
        # An admin who gave up the role can no longer see this page.
        return RedirectResponse("/console/settings", status_code=303)
    return answer


@router.post("/{user_id}/deactivate")
async def deactivate_user(user_id: str, caller: AdministratorDep) -> Response:
    async def deactivate(session: AsyncSession) -> object:
        return await service.deactivate_console_user(
            session, caller.clock, caller.tenant_id, user_id
        )

    return await _change(caller, deactivate)


async def _change(
    caller: ConsoleCaller, change: Callable[[AsyncSession], Awaitable[object]]
) -> Response:
    """One change in one transaction; a refusal (409 last admin, 422 role) shown on the list,
    a user of no one's (404) as the error page."""
    try:
        async with caller.runtime.database.write() as session:
            await change(session)
    except Problem as problem:
        if problem.status == 404:
            raise
        return await _user_page(caller, {"role": ConsoleRole.FINANCE.value}, problem)
    return RedirectResponse(LIST_PATH, status_code=303)


async def _user_page(
    caller: ConsoleCaller, values: dict[str, Any], problem: Problem | None
) -> Response:
    async with caller.runtime.database.read() as session:
        users = await service.list_console_users(session, caller.tenant_id)
        shown = [
            {
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "role": ConsoleRole(user.role).value,
                "active": user.active,
                "created_at": user.created_at,
            }
            for user in users
        ]
    return render_page(
        "settings/users.html",
        caller.frame,
        **refusal(problem),
        users=shown,
        roles=[role.value for role in ConsoleRole],
        values=values,
        errors=field_errors(problem),
    )
