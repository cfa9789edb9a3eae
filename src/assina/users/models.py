"""The console's users, their signed-in sessions, and the sign-in throttle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column

MAX_EMAIL_LENGTH = 320


class ConsoleRole(StrEnum):
    """What a console user may do (docs/console.md): `admin` everything; `finance` everything
    but webhooks, API keys and users; `viewer` sees and changes nothing."""

    ADMIN = "admin"
    FINANCE = "finance"
    VIEWER = "viewer"


class ConsoleUser(Base):
    """A person who signs in to the console of one tenant. The e-mail is unique across all
    tenants, so that signing in needs no tenant: the e-mail says which one."""

    __tablename__ = "console_users"
    __table_args__ = (Index("ix_console_users_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    # Trimmed and lower-cased (users/service.py, `console_email`).
    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # An argon2id PHC string (`$argon2id$v=19$m=…`), never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[ConsoleRole] = mapped_column(EnumText(ConsoleRole, 16))
    active: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConsoleSession(Base):
    """One sign-in: the browser holds a random token in a cookie, the database only its
    SHA-256. Idle for 12 hours, or 7 days after sign-in (`expires_at`), it is over."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_tenant_id_user_id", "tenant_id", "user_id"),)

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("console_users.id"), nullable=False)
    # Unique, so indexed: every console request finds its session by it.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Sent back in every form the console posts (console/ checks it).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # Written at most once a minute (users/sessions.py), not on every page.
    last_seen_at: Mapped[datetime]
    # The latest instant the session can last, however busy: 7 days after sign-in.
    expires_at: Mapped[datetime]


class ConsoleLoginThrottle(Base):
    """Failed sign-ins of one e-mail, whether or not a user has it (so the throttle does not
    tell which e-mails exist): 5 failures within 15 minutes lock it for 15 minutes."""

    __tablename__ = "console_login_throttles"

    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
