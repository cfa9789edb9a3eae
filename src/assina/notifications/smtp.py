"""SMTP: the `ASSINA_SMTP_URL` forms, the MIME message, and one connection per batch.

- `smtp://[user[:password]@]host[:port]` — port 587 by default; upgraded with STARTTLS when the
  server offers it (certificates verified);
- `smtps://[user[:password]@]host[:port]` — implicit TLS, port 465 by default.

User and password are percent-decoded (`p%40ss` for `p@ss`); the password is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from types import TracebackType

import aiosmtplib

from assina.core.smtp_target import SmtpTarget

TIMEOUT_SECONDS = 20.0


def ascii_address(address: str) -> str:
    """The address as SMTP without SMTPUTF8 carries it: an international domain in punycode
    (`ana@exãmple.com` → `ana@xn--exmple-4ta.com`). ValueError for a non-ASCII local part."""
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise ValueError("the address has non-ASCII characters before the @")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("the address's domain is not a valid international name") from None
    return f"{local}@{domain}"


@dataclass(frozen=True)
class Attachment:
    """A file carried with the message (a nota fiscal's PDF)."""

    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


@dataclass(frozen=True)
class Outgoing:
    """What the sender needs of one `emails` row, and what it attaches."""

    email_id: str
    to_address: str
    subject: str
    text_body: str
    html_body: str
    from_name: str | None
    reply_to: str | None
    attempt_count: int
    attachments: tuple[Attachment, ...] = ()


def build_message(outgoing: Outgoing, from_address: str, now: datetime) -> EmailMessage:
    """The MIME message (UTF-8, quoted-printable): text, plus HTML as an alternative when
    there is one, and the attachments (then `multipart/mixed`, base64). The Message-ID
    carries the e-mail's id, the same on every retry. ValueError for an address that cannot
    be written in a header."""
    domain = from_address.rpartition("@")[2]
    message = EmailMessage()
    message["Subject"] = outgoing.subject
    message["From"] = Address(display_name=outgoing.from_name or "", addr_spec=from_address)
    message["To"] = Address(addr_spec=ascii_address(outgoing.to_address))
    if outgoing.reply_to:
        message["Reply-To"] = Address(addr_spec=ascii_address(outgoing.reply_to))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{outgoing.email_id}@{domain}>"
    message["X-Assina-Email-Id"] = outgoing.email_id
    # Quoted-printable: 7-bit clean, for servers without 8BITMIME.
    message.set_content(outgoing.text_body, charset="utf-8", cte="quoted-printable")
    if outgoing.html_body:
        message.add_alternative(
            outgoing.html_body, subtype="html", charset="utf-8", cte="quoted-printable"
        )
    for attachment in outgoing.attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message


class SmtpConnection:
    """One SMTP session for a batch of messages (`async with`); reconnects after a message
    that left the connection unusable."""

    def __init__(self, target: SmtpTarget, timeout: float = TIMEOUT_SECONDS) -> None:
        self.target = target
        self.timeout = timeout
        self._client: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> SmtpConnection:
        await self._connect()
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        await self._close()

    async def _connect(self) -> aiosmtplib.SMTP:
        target = self.target
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.implicit_tls,
            start_tls=None,  # STARTTLS when the server offers it
            timeout=self.timeout,
        )
        await client.connect()
        self._client = client
        return client

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        """Raises aiosmtplib's errors; the connection is reset (or dropped) after one."""
        client = self._client
        if client is None or not client.is_connected:
            client = await self._connect()
        try:
            await client.send_message(message, sender=sender, recipients=[recipient])
        except Exception:
            await self._reset()
            raise

    async def _reset(self) -> None:
        client = self._client
        if client is None or not client.is_connected:
            self._client = None
            return
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
            self._client = None
