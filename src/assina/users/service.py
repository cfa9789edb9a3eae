"""Console users: creating them, listing, roles, deactivation and passwords.

Services take a session and a clock and never commit: the boundary (a console request, the
command line) owns the transaction. A console user's times are real times (`real_now`), also
for a sandbox tenant, whose test clock moves its business time only: users are not business
objects (as API keys are not)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import Problem, conflict, invalid, not_found
from assina.core.ids import new_id
from assina.core.inputs import clean_name
from assina.tenants.models import Tenant
from assina.users.models import ConsoleRole, ConsoleSession, ConsoleUser
from assina.users.passwords import check_new_password, hash_password_off_loop

# The validation customers' e-mails get (pydantic's EmailStr, email-validator underneath).
_EMAIL = TypeAdapter(EmailStr)
MAX_NAME_LENGTH = 200


def console_email(email: str) -> str:
    """A console user's e-mail as stored and looked up: trimmed, validated as customers'
    e-mails are, and lower-cased whole (the local part too: one person, one address). A 422
    naming `email` when it is no address."""
    email = email.strip()
    try:
        normalized = _EMAIL.validate_python(email)
    except ValidationError:
        raise invalid("email", "não é um endereço de e-mail válido") from None
    # email-validator refuses addresses longer than 254 characters: the column holds them.
    return normalized.lower()


def console_role(role: ConsoleRole | str) -> ConsoleRole:
    """A role, from a member or its text (a form's value); a 422 naming `role` otherwise."""
    try:
        return ConsoleRole(role)
    except ValueError:
        choices = ", ".join(member.value for member in ConsoleRole)
        raise invalid("role", f"deve ser um de: {choices}") from None


def _console_name(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        cleaned = clean_name(name)
    except ValueError as error:
        raise invalid("name", str(error)) from None
    if len(cleaned) > MAX_NAME_LENGTH:
        raise invalid("name", f"deve ter no máximo {MAX_NAME_LENGTH} caracteres")
    return cleaned


def _email_taken(email: str) -> Problem:
    return conflict(f"Já existe um usuário do console com o e-mail {email}.", slug="email-taken")


async def create_console_user(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    email: str,
    password: str,
    role: ConsoleRole | str,
    name: str | None = None,
) -> ConsoleUser:
    """A new, active console user of the tenant. The e-mail is unique across all tenants
    (409 `email-taken`); a bad e-mail, password, role or name is a 422 naming the field; an
    unknown tenant a 404."""
    stored = console_email(email)
    checked_role = console_role(role)
    checked_name = _console_name(name)
    check_new_password(password)
    if await session.get(Tenant, tenant_id) is None:
        raise not_found("tenant", tenant_id)
    if await session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == stored)):
        raise _email_taken(stored)
    password_hash = await hash_password_off_loop(password)
    now = clock.real_now()
    user = ConsoleUser(
        id=new_id("usr"),
        tenant_id=tenant_id,
        email=stored,
        name=checked_name,
        password_hash=password_hash,
        role=checked_role,
        active=True,
        created_at=now,
        updated_at=now,
    )
    try:
        # A savepoint: another transaction that took the e-mail since the check above is a
        # 409, and this transaction stays usable.
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise _email_taken(stored) from None
    return user


async def list_console_users(session: AsyncSession, tenant_id: str) -> Sequence[ConsoleUser]:
    """The tenant's console users, inactive ones too, oldest first."""
    statement = select(ConsoleUser).where(ConsoleUser.tenant_id == tenant_id)
    return (await session.scalars(statement.order_by(ConsoleUser.id))).all()


async def get_console_user(session: AsyncSession, tenant_id: str, user_id: str) -> ConsoleUser:
    user = await session.scalar(
        select(ConsoleUser).where(ConsoleUser.tenant_id == tenant_id, ConsoleUser.id == user_id)
    )
    if user is None:
        raise not_found("console user", user_id)
    return user


async def _user_for_admin_change(
    session: AsyncSession, tenant_id: str, user_id: str
) -> ConsoleUser:
    """The user, once the tenant is locked: one change of roles or deactivation per tenant at
    a time (SQLite's write lock does the same), so that two concurrent changes cannot
    together leave the tenant without an active admin."""
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    return await get_console_user(session, tenant_id, user_id)


async def _keep_an_admin(session: AsyncSession, user: ConsoleUser) -> None:
    """409 `last-admin` when `user` is the tenant's last active admin."""
    if not (user.active and user.role == ConsoleRole.ADMIN):
        return
    others = await session.scalar(
        select(func.count())
        .select_from(ConsoleUser)
        .where(
            ConsoleUser.tenant_id == user.tenant_id,
            ConsoleUser.id != user.id,
            ConsoleUser.role == ConsoleRole.ADMIN,
            ConsoleUser.active.is_(True),
        )
    )
    if not others:
        raise conflict(
            f"{user.email} é o último administrador ativo; dê o papel de administrador a "
            "outro usuário antes.",
            slug="last-admin",
        )


async def change_role(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    user_id: str,
    role: ConsoleRole | str,
) -> ConsoleUser:
    """Give a user another role. The tenant's last active admin keeps `admin` (409
    `last-admin`). The user's sessions go on, with the new role from their next request."""
    new_role = console_role(role)
    user = await _user_for_admin_change(session, tenant_id, user_id)
    if user.role == new_role:
        return user
    if new_role != ConsoleRole.ADMIN:
        await _keep_an_admin(session, user)
    user.role = new_role
    user.updated_at = clock.real_now()
    await session.flush()
    return user


async def _end_sessions(
    session: AsyncSession, user: ConsoleUser, keep_session_id: str | None = None
) -> None:
    statement = delete(ConsoleSession).where(
        ConsoleSession.tenant_id == user.tenant_id, ConsoleSession.user_id == user.id
    )
    if keep_session_id is not None:
        statement = statement.where(ConsoleSession.id != keep_session_id)
    await session.execute(statement)


async def deactivate_console_user(
    session: AsyncSession, clock: Clock, tenant_id: str, user_id: str
) -> ConsoleUser:
    """The user can no longer sign in, and is signed out everywhere. Not the tenant's last
    active admin (409 `last-admin`). Deactivating an inactive user changes nothing."""
    user = await _user_for_admin_change(session, tenant_id, user_id)
    if not user.active:
        return user
    await _keep_an_admin(session, user)
    user.active = False
    user.updated_at = clock.real_now()
    await _end_sessions(session, user)
    await session.flush()
    return user


async def set_password(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    user_id: str,
    password: str,
    keep_session_id: str | None = None,
) -> ConsoleUser:
    """A new password for the user (422 naming `password` when it breaks a rule). The user's
    sessions end but `keep_session_id`'s: a user changing their own password stays signed
    in there; an admin resetting someone's password passes None and signs them out."""
    check_new_password(password)
    user = await get_console_user(session, tenant_id, user_id)
    user.password_hash = await hash_password_off_loop(password)
    user.updated_at = clock.real_now()
    await _end_sessions(session, user, keep_session_id)
    await session.flush()
    return user
