"""The e-mail sender, the e-mail adapter of the relay kernel (relay/kernel.py): claims due
e-mails in batches with a lease, sends them over one SMTP connection per batch, and records
the outcomes in one transaction per batch.

- No transaction, row lock or pooled connection is held while talking to the SMTP server.
  The claim is `… FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share the work;
  a worker that dies holding a lease loses nothing: once `locked_until` passes, another
  claims the e-mails again (at least once, never zero times). It polls; it is not woken by
  commits (e-mails are not urgent to the second).
- Failures retry after 1 min, 5 min, 30 min, 2 h and 6 h; then the e-mail is `failed`. A 5xx
  answer to the recipient or to the message (550 no such mailbox, 554 rejected) is final at
  once; anything else (no connection, a timeout, a 4xx, a refused login) is retried.
- An e-mail is queued with what renders it and rendered here, just before its first attempt,
  outside the claim's transaction (rendering.py); what was rendered is kept on the row in the
  transaction that records the attempt, so a retry sends the same and the outbox shows what
  was sent. One that cannot be rendered (even the default failed) is `failed` at once.
- A `fiscal_invoice` e-mail carries its nota fiscal's PDF, rendered when it is sent
  (attachments.py), after the claim's transaction.
- Without ASSINA_SMTP_URL nothing is sent: due e-mails are marked `not_configured`, and are
  sent by the first sender that runs with a URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import aiosmtplib
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.config import Settings
from assina.core.clock import Clock
from assina.core.smtp_target import SmtpTarget, parse_smtp_url
from assina.db.database import Database
from assina.notifications.attachments import invoice_attachments, invoice_documents
from assina.notifications.models import Email, EmailStatus
from assina.notifications.rendering import Made, Outcome, ToRender, Unrenderable, render_queued
from assina.notifications.smtp import (
    Attachment,
    Outgoing,
    SmtpConnection,
    ascii_address,
    build_message,
)
from assina.relay.kernel import Relay
from assina.relay.outbox import Outbox, skip_locked
from assina.relay.outcomes import Attempted, Delivered, FailedForGood, RetryLater, Verdict
from assina.relay.schedule import RetrySchedule

logger = logging.getLogger("assina.emails")

RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
EMAIL_RETRIES = RetrySchedule(RETRY_SCHEDULE)
EMAILS: Table = Email.__table__  # type: ignore[assignment]
EMAIL_OUTBOX = Outbox(
    EMAILS,
    # `not_configured` ones are sent by the first sender that runs with a URL.
    pending=(EmailStatus.PENDING, EmailStatus.NOT_CONFIGURED),
    delivered=EmailStatus.SENT,
    failed=EmailStatus.FAILED,
    delivered_at="sent_at",
    last_error="last_error",
)


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


def _attached(attachments: dict[str, Attachment], invoice_id: str | None) -> tuple[Attachment, ...]:
    attachment = attachments.get(invoice_id) if invoice_id is not None else None
    return (attachment,) if attachment is not None else ()


def attempted(outgoing: Outgoing, verdict: Verdict) -> Attempted:
    return Attempted(outgoing.email_id, outgoing.attempt_count, verdict, EMAIL_RETRIES)


def classify(error: BaseException) -> Verdict:
    text, permanent = describe_error(error)
    return FailedForGood(text) if permanent else RetryLater(text)


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


# What the sender reads of a due e-mail: to send it, and to render it if need be.
_CLAIMED_COLUMNS = (
    Email.id,
    Email.tenant_id,
    Email.kind,
    Email.customer_id,
    Email.charge_id,
    Email.contract_id,
    Email.fiscal_invoice_id,
    Email.render_extra,
    Email.rendered_at,
    Email.created_at,
    Email.to_address,
    Email.subject,
    Email.text_body,
    Email.html_body,
    Email.from_name,
    Email.reply_to,
    Email.attempt_count,
)


@dataclass(frozen=True)
class _Claimed:
    """A claimed e-mail: what is sent, and what renders it when it is not rendered yet."""

    outgoing: Outgoing
    to_render: ToRender | None

    @property
    def email_id(self) -> str:
        return self.outgoing.email_id


async def _keep_rendered(session: AsyncSession, now: datetime, made: Mapping[str, Made]) -> None:
    """What was rendered and tried, kept on the rows (in the transaction that records the
    attempts): a retry sends the same, and the outbox shows what was sent. A note (the
    tenant's template failed and the default was sent) goes in `last_error`, after the
    attempt's own outcome was recorded there."""
    if not made:
        return
    rows = [
        {
            "email": email_id,
            "subject": one.rendered.subject,
            "text_body": one.rendered.text,
            "html_body": one.rendered.html,
            "rendered_at": now,
        }
        for email_id, one in made.items()
    ]
    await session.execute(_KEEP_RENDERED, rows)
    notes = [{"email": email_id, "note": one.note} for email_id, one in made.items() if one.note]
    if notes:
        await session.execute(_KEEP_NOTE, notes)


# Built once: every batch of first attempts runs them.
_ONE_EMAIL = EMAILS.c.id == bindparam("email")
_KEEP_RENDERED = (
    update(EMAILS)
    .where(_ONE_EMAIL)
    .values(
        subject=bindparam("subject"),
        text_body=bindparam("text_body"),
        html_body=bindparam("html_body"),
        rendered_at=bindparam("rendered_at"),
    )
)
_KEEP_NOTE = update(EMAILS).where(_ONE_EMAIL).values(last_error=bindparam("note"))


class EmailSender:
    def __init__(self, database: Database, clock: Clock, config: SenderConfig) -> None:
        self.database = database
        self.clock = clock
        self.config = config
        self.relay = Relay(
            database,
            clock,
            EMAIL_OUTBOX,
            lease=config.lease,
            poll_interval_seconds=config.poll_interval_seconds,
            wake_on_commits=False,
        )

    async def send_once(self) -> int:
        """One batch: claim, render what is not rendered yet, send, record (with what was
        rendered); returns how many e-mails were claimed. Without an SMTP URL, marks the
        waiting e-mails `not_configured` and returns 0."""
        if self.config.smtp is None:
            await self._mark_not_configured()
            return 0
        claimed = await self._claim()
        if claimed:
            outgoing, unrenderable, made = await self._render(claimed)
            results = unrenderable + await self._send(self.config.smtp, outgoing)
            tried = {result.job_id for result in results}
            untried = [c.email_id for c in claimed if c.email_id not in tried]

            async def keep_rendered(session: AsyncSession, now: datetime) -> None:
                await _keep_rendered(session, now, {i: made[i] for i in tried if i in made})

            await self.relay.record(lambda _now: results, untried=untried, also=keep_rendered)
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop`: batch after batch while there is work, else every poll."""
        if self.config.smtp is None:
            logger.warning("ASSINA_SMTP_URL is not set: e-mails are kept as not_configured")

        async def step() -> bool:
            return await self.send_once() >= self.config.batch_size

        await self.relay.run(stop, step, "e-mail pass")

    async def _mark_not_configured(self) -> None:
        async with self.database.write() as session:
            await session.execute(
                update(EMAILS)
                .where(EMAILS.c.status == EmailStatus.PENDING)
                .values(status=EmailStatus.NOT_CONFIGURED)
            )

    async def _claim(self) -> list[_Claimed]:
        async with self.relay.claiming() as claim:
            due = (
                select(*_CLAIMED_COLUMNS)
                .where(EMAIL_OUTBOX.due(claim.now))
                .order_by(Email.next_attempt_at, Email.id)
                .limit(self.config.batch_size)
            )
            due = skip_locked(due, self.relay.lock_rows, of=Email)
            rows = (await claim.session.execute(due)).all()
            if not rows:
                return []
            await claim.lease([row.id for row in rows])
            invoice_ids = {row.fiscal_invoice_id for row in rows if row.fiscal_invoice_id}
            documents = await invoice_documents(claim.session, invoice_ids)
        attachments = await invoice_attachments(documents)
        return [
            _Claimed(
                Outgoing(
                    email_id=row.id,
                    to_address=row.to_address or "",
                    subject=row.subject,
                    text_body=row.text_body,
                    html_body=row.html_body,
                    from_name=row.from_name,
                    reply_to=row.reply_to,
                    attempt_count=row.attempt_count,
                    attachments=_attached(attachments, row.fiscal_invoice_id),
                ),
                None if row.rendered_at is not None else ToRender.of(row),
            )
            for row in rows
        ]

    async def _render(
        self, claimed: Sequence[_Claimed]
    ) -> tuple[list[Outgoing], list[Attempted], dict[str, Made]]:
        """The claimed e-mails not rendered yet, rendered now (rendering.py): what to send,
        the attempts of those that cannot be rendered (failed for good), and what was
        rendered, by id, to keep once sent."""
        waiting = [c.to_render for c in claimed if c.to_render is not None]
        outcomes: dict[str, Outcome] = {}
        if waiting:
            async with self.database.read() as session:
                outcomes = await render_queued(session, waiting)
        outgoing: list[Outgoing] = []
        unrenderable: list[Attempted] = []
        made: dict[str, Made] = {}
        for one in claimed:
            outcome = outcomes.get(one.email_id)
            if outcome is None:
                outgoing.append(one.outgoing)
            elif isinstance(outcome, Unrenderable):
                verdict = FailedForGood(f"unrenderable: {outcome.reason}")
                unrenderable.append(attempted(one.outgoing, verdict))
            else:
                made[one.email_id] = outcome
                rendered = outcome.rendered
                outgoing.append(
                    replace(
                        one.outgoing,
                        subject=rendered.subject,
                        text_body=rendered.text,
                        html_body=rendered.html,
                    )
                )
        return outgoing, unrenderable, made

    async def _send(self, target: SmtpTarget, batch: Sequence[Outgoing]) -> list[Attempted]:
        """Send in order over one connection; stop (the rest unattempted) once half the
        lease is spent, so that no other worker takes over an e-mail being sent."""
        deadline = time.monotonic() + self.config.lease.total_seconds() / 2
        results: list[Attempted] = []
        try:
            async with SmtpConnection(target, self.config.timeout_seconds) as connection:
                for outgoing in batch:
                    if time.monotonic() > deadline:
                        break
                    results.append(await self._send_one(connection, outgoing))
        except Exception as error:  # no connection: every e-mail not tried fails alike
            message, _ = describe_error(error)
            logger.warning("SMTP server %s: %s", target, message)
            tried = {result.job_id for result in results}
            results += [attempted(o, RetryLater(message)) for o in batch if o.email_id not in tried]
        return results

    async def _send_one(self, connection: SmtpConnection, outgoing: Outgoing) -> Attempted:
        from_address = self.config.from_address
        try:
            message = build_message(outgoing, from_address, self.clock.now())
            recipient = ascii_address(outgoing.to_address)
        except (ValueError, TypeError, IndexError) as error:
            return attempted(outgoing, FailedForGood(f"unsendable: {error}"))
        try:
            await connection.send(message, from_address, recipient)
        except Exception as error:  # this e-mail's outcome; the next one reconnects if need be
            return attempted(outgoing, classify(error))
        return attempted(outgoing, Delivered())
