"""Console users (users/service.py) on both databases: e-mails stored lower-cased and unique
across tenants, bad input as 422s naming the field, the tenant's last active admin kept,
deactivation and a new password ending sessions."""

from __future__ import annotations

from functools import partial

from sqlalchemy import func, select

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.users.models import ConsoleRole, ConsoleSession, ConsoleUser
from assina.users.passwords import verify_password
from assina.users.service import (
    change_role,
    create_console_user,
    deactivate_console_user,
    get_console_user,
    list_console_users,
    set_password,
)
from tests.integration.console_user_support import (
    PASSWORD,
    current,
    in_write,
    new_tenant,
    new_user,
    refusal,
    refused,
    signed_in,
)

NEW_PASSWORD = "outra-senha-boa-2"


async def test_a_user_is_stored_with_a_lowercased_email_and_an_argon2id_hash(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    async with database.write() as session:
        user = await create_console_user(
            session, clock, tenant_id, "  Ana.Silva@Example.COM ", PASSWORD, "finance", " Ana "
        )
    assert user.id.startswith("usr_")
    assert (user.email, user.name, user.role, user.active) == (
        "ana.silva@example.com",
        "Ana",
        ConsoleRole.FINANCE,
        True,
    )
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert user.created_at == user.updated_at == clock.real_now()
    async with database.read() as session:
        [listed] = await list_console_users(session, tenant_id)
        assert listed.id == user.id
        assert verify_password(PASSWORD, listed.password_hash)
        assert (await get_console_user(session, tenant_id, user.id)).email == user.email


async def test_an_email_is_unique_across_all_tenants(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    alfa = await new_tenant(database, clock, secret_box, "Escola Alfa")
    beta = await new_tenant(database, clock, secret_box, "Escola Beta")
    await new_user(database, clock, alfa, "ana@example.com")
    for tenant_id in (alfa, beta):
        taken = await refusal(
            database,
            lambda s, t=tenant_id: create_console_user(
                s, clock, t, "ANA@example.com ", PASSWORD, ConsoleRole.VIEWER
            ),
        )
        assert (taken.status, taken.slug) == (409, "email-taken")
    async with database.read() as session:
        assert await list_console_users(session, beta) == []
        assert await session.scalar(select(func.count()).select_from(ConsoleUser)) == 1


async def test_bad_input_is_a_422_naming_its_field_and_an_unknown_tenant_a_404(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    cases = [
        ("email", dict(email="not an e-mail")),
        ("email", dict(email="")),
        ("password", dict(password="curta")),
        ("password", dict(password="a" * 12)),
        ("role", dict(role="owner")),
        ("name", dict(name="Ana\nSilva")),
    ]
    for field, change in cases:
        arguments: dict[str, object] = dict(
            tenant_id=tenant_id, email="ana@example.com", password=PASSWORD, role="admin"
        )
        arguments.update(change)
        problem = await refusal(
            database,
            lambda s, a=arguments: create_console_user(s, clock, **a),  # type: ignore[arg-type]
        )
        assert problem.status == 422, (field, problem)
        assert [error.field for error in problem.errors] == [field]
    unknown = await refusal(
        database,
        lambda s: create_console_user(
            s, clock, "ten_unknown", "ana@example.com", PASSWORD, "admin"
        ),
    )
    assert (unknown.status, unknown.slug) == (404, "not-found")
    other = await new_tenant(database, clock, secret_box, "Escola Beta")
    user = await new_user(database, clock, other, "bia@example.com")
    hidden = await refusal(database, lambda s: get_console_user(s, tenant_id, user.id))
    assert hidden.status == 404


async def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    other_tenant = await new_tenant(database, clock, secret_box, "Escola Beta")
    await new_user(database, clock, other_tenant, "admin@beta.example")  # not this tenant's
    ana = await new_user(database, clock, tenant_id, "ana@example.com")
    await new_user(database, clock, tenant_id, "leo@example.com", ConsoleRole.FINANCE)

    async def last_admin_refuses(user_id: str) -> None:
        for use_case in (
            partial(change_role, clock=clock, tenant_id=tenant_id, user_id=user_id, role="viewer"),
            partial(deactivate_console_user, clock=clock, tenant_id=tenant_id, user_id=user_id),
        ):
            problem = await refusal(database, lambda s, u=use_case: u(session=s))
            assert (problem.status, problem.slug) == (409, "last-admin")

    await last_admin_refuses(ana.id)
    # With a second admin, the first may go; the second is then the last one.
    bia = await new_user(database, clock, tenant_id, "bia@example.com")
    demoted = await in_write(database, lambda s: change_role(s, clock, tenant_id, ana.id, "viewer"))
    assert demoted.role == ConsoleRole.VIEWER
    await last_admin_refuses(bia.id)
    # An inactive admin does not count as one.
    await in_write(database, lambda s: change_role(s, clock, tenant_id, ana.id, ConsoleRole.ADMIN))
    await in_write(database, lambda s: deactivate_console_user(s, clock, tenant_id, ana.id))
    await last_admin_refuses(bia.id)
    async with database.read() as session:
        roles = {u.email: (u.role, u.active) for u in await list_console_users(session, tenant_id)}
    assert roles == {
        "ana@example.com": (ConsoleRole.ADMIN, False),
        "leo@example.com": (ConsoleRole.FINANCE, True),
        "bia@example.com": (ConsoleRole.ADMIN, True),
    }


async def test_deactivation_ends_the_users_sessions_and_sign_ins(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    await new_user(database, clock, tenant_id, "ana@example.com")
    leo = await new_user(database, clock, tenant_id, "leo@example.com", ConsoleRole.VIEWER)
    token = (await signed_in(database, clock, "leo@example.com")).token
    assert await current(database, clock, token) is not None

    await in_write(database, lambda s: deactivate_console_user(s, clock, tenant_id, leo.id))
    assert await current(database, clock, token) is None
    problem = await refused(database, clock, "leo@example.com", PASSWORD)
    assert (problem.status, problem.slug) == (401, "invalid-credentials")
    async with database.read() as session:
        left = await session.scalar(select(func.count()).select_from(ConsoleSession))
    assert left == 0


async def test_a_new_password_ends_the_other_sessions_and_replaces_the_old_one(
    database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    ana = await new_user(database, clock, tenant_id, "ana@example.com")
    here = await signed_in(database, clock, "ana@example.com")
    elsewhere = await signed_in(database, clock, "ana@example.com")

    weak = await refusal(database, lambda s: set_password(s, clock, tenant_id, ana.id, "short"))
    assert [error.field for error in weak.errors] == ["password"]
    await in_write(
        database,
        lambda s: set_password(
            s, clock, tenant_id, ana.id, NEW_PASSWORD, keep_session_id=here.console_session.id
        ),
    )
    assert await current(database, clock, here.token) is not None
    assert await current(database, clock, elsewhere.token) is None
    assert (await refused(database, clock, "ana@example.com", PASSWORD)).status == 401
    await signed_in(database, clock, "ana@example.com", NEW_PASSWORD)

    # An admin's reset (no session kept) signs the user out everywhere.
    await in_write(database, lambda s: set_password(s, clock, tenant_id, ana.id, PASSWORD))
    assert await current(database, clock, here.token) is None
