"""The e-mail sender (a worker loop): claims due e-mails in batches with a lease, sends them
over one SMTP connection per batch, and records the outcomes in one transaction per batch.

- No transaction, row lock or pooled connection is held while talking to the SMTP server.
  The claim is `… FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share the work;
  a worker that dies holding a lease loses nothing: once `locked_until` passes, another
  claims the e-mails again (at least once, never zero times).
- Failures retry after 1 min, 5 min, 30 min, 2 h and 6 h; then the e-mail is `failed`. A 5xx
  answer to the recipient or to the message (550 no such mailbox, 554 rejected) is final at
  once; anything else (no connection, a timeout, a 4xx, a refused login) is retried.
- Without ASSINA_SMTP_URL nothing is sent: due e-mails are marked `not_configured`, and are
  sent by the first sender that runs with a URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosmtplib
from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.config import Settings
from assina.core.clock import Clock
from assina.db.database import Database
from assina.db.shapes import one_of
from assina.notifications.models import SENDABLE, Email, EmailStatus
from assina.notifications.smtp import (
    Outgoing,
    SmtpConnection,
    SmtpTarget,
    ascii_address,
    build_message,
    parse_smtp_url,
)

logger = logging.getLogger("assina.emails")

RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
EMAILS: Table = Email.__table__  # type: ignore[assignment]
MAX_ERROR = 500


@dataclass(frozen=True)
class SenderConfig:
    smtp: SmtpTarget | None
    from_address: str = "assina@localhost"
    batch_size: int = 20
    lease: timedelta = timedelta(minutes=10)
    poll_interval_seconds: float = 5.0
    timeout_seconds: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderConfig:
        smtp = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        return cls(smtp=smtp, from_address=settings.smtp_from)


@dataclass(frozen=True)
class Result:
    """One attempt: sent (`error` None), or the error and whether it is final."""

    email_id: str
    attempt_count: int  # attempts before this one
    error: str | None = None
    permanent: bool = False


def retry_delay(failed_attempts: int) -> timedelta | None:
    """How long to wait after the `failed_attempts`-th failure; None once the schedule is spent."""
    if 1 <= failed_attempts <= len(RETRY_SCHEDULE):
        return RETRY_SCHEDULE[failed_attempts - 1]
    return None


def describe_error(error: BaseException) -> tuple[str, bool]:
    """(what went wrong, whether it is final) for an exception raised by one send."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        refused = error.recipients[0]
        return f"{refused.code} {refused.message}", refused.code >= 500
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return f"{error.code} {error.message}", error.code >= 500
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}", False
    return f"{type(error).__name__}: {error}", False


class EmailSender:
    def __init__(self, database: Database, clock: Clock, config: SenderConfig) -> None:
        self.database = database
        self.clock = clock
        self.config = config

    async def send_once(self) -> int:
        """One batch: claim, send, record; returns how many e-mails were claimed. Without an
        SMTP URL, marks the waiting e-mails `not_configured` and returns 0."""
        if self.config.smtp is None:
            await self._mark_not_configured()
            return 0
        claimed = await self._claim()
        if claimed:
            results = await self._send(self.config.smtp, claimed)
            tried = {result.email_id for result in results}
            untried = [o.email_id for o in claimed if o.email_id not in tried]
            async with self.database.write() as session:
                await record_results(session, results, self.clock.now(), untried)
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop`: batch after batch while there is work, else every poll."""
        if self.config.smtp is None:
            logger.warning("ASSINA_SMTP_URL is not set: e-mails are kept as not_configured")
        while not stop.is_set():
            claimed = 0
            try:
                claimed = await self.send_once()
            except Exception:
                logger.exception("e-mail pass failed")
            if claimed < self.config.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.poll_interval_seconds)

    async def _mark_not_configured(self) -> None:
        async with self.database.write() as session:
            await session.execute(
                update(EMAILS)
                .where(EMAILS.c.status == EmailStatus.PENDING.value)
                .values(status=EmailStatus.NOT_CONFIGURED.value)
            )

    async def _claim(self) -> list[Outgoing]:
        async with self.database.write() as session:
            now = self.clock.now()
            due = (
                select(
                    Email.id,
                    Email.to_address,
                    Email.subject,
                    Email.text_body,
                    Email.html_body,
                    Email.from_name,
                    Email.reply_to,
                    Email.attempt_count,
                )
                .where(
                    Email.status.in_(SENDABLE),
                    Email.next_attempt_at <= now,
                    or_(Email.locked_until.is_(None), Email.locked_until <= now),
                )
                .order_by(Email.next_attempt_at, Email.id)
                .limit(self.config.batch_size)
            )
            if not self.database.is_sqlite:
                due = due.with_for_update(of=Email, skip_locked=True)
            rows = (await session.execute(due)).all()
            if not rows:
                return []
            await session.execute(
                update(EMAILS)
                .where(one_of(EMAILS.c.id, [row.id for row in rows]))
                .values(locked_until=now + self.config.lease)
            )
        return [
            Outgoing(
                email_id=row.id,
                to_address=row.to_address or "",
                subject=row.subject,
                text_body=row.text_body,
                html_body=row.html_body,
                from_name=row.from_name,
                reply_to=row.reply_to,
                attempt_count=row.attempt_count,
            )
            for row in rows
        ]

    async def _send(self, target: SmtpTarget, batch: Sequence[Outgoing]) -> list[Result]:
        """Send in order over one connection; stop (the rest unattempted) once half the
        lease is spent, so that no other worker takes over an e-mail being sent."""
        deadline = time.monotonic() + self.config.lease.total_seconds() / 2
        results: list[Result] = []
        try:
            async with SmtpConnection(target, self.config.timeout_seconds) as connection:
                for outgoing in batch:
                    if time.monotonic() > deadline:
                        break
                    results.append(await self._send_one(connection, outgoing))
        except Exception as error:  # no connection: every e-mail not tried fails alike
            message, _ = describe_error(error)
            logger.warning("SMTP server %s: %s", target, message)
            tried = {result.email_id for result in results}
            results += [
                Result(o.email_id, o.attempt_count, message)
                for o in batch
                if o.email_id not in tried
            ]
        return results

    async def _send_one(self, connection: SmtpConnection, outgoing: Outgoing) -> Result:
        from_address = self.config.from_address
        try:
            message = build_message(outgoing, from_address, self.clock.now())
            recipient = ascii_address(outgoing.to_address)
        except (ValueError, TypeError, IndexError) as error:
            return Result(outgoing.email_id, outgoing.attempt_count, f"unsendable: {error}", True)
        try:
            await connection.send(message, from_address, recipient)
        except Exception as error:  # this e-mail's outcome; the next one reconnects if need be
            text, permanent = describe_error(error)
            return Result(outgoing.email_id, outgoing.attempt_count, text, permanent)
        return Result(outgoing.email_id, outgoing.attempt_count)


async def record_results(
    session: AsyncSession, results: Sequence[Result], now: datetime, untried: Sequence[str] = ()
) -> None:
    """Move each attempted e-mail to sent, failed or pending again, and release the leases
    (of the `untried` ones too)."""
    if untried:
        await session.execute(
            update(EMAILS).where(one_of(EMAILS.c.id, untried)).values(locked_until=None)
        )
    attempted = {
        "attempt_count": EMAILS.c.attempt_count + 1,
        "last_attempt_at": now,
        "locked_until": None,
    }
    sent = [r.email_id for r in results if r.error is None]
    if sent:
        await session.execute(
            update(EMAILS)
            .where(one_of(EMAILS.c.id, sent))
            .values(status=EmailStatus.SENT.value, sent_at=now, last_error=None, **attempted)
        )
    moves = []
    for result in results:
        if result.error is None:
            continue
        delay = None if result.permanent else retry_delay(result.attempt_count + 1)
        status = EmailStatus.FAILED if delay is None else EmailStatus.PENDING
        moves.append(
            {
                "email": result.email_id,
                "new_status": status.value,
                "retry_at": now + delay if delay is not None else now,
                "error": result.error[:MAX_ERROR],
            }
        )
    if moves:
        await session.execute(
            update(EMAILS)
            .where(EMAILS.c.id == bindparam("email"))
            .values(
                status=bindparam("new_status"),
                next_attempt_at=bindparam("retry_at"),
                last_error=bindparam("error"),
                **attempted,
            ),
            moves,
        )
