"""The `ASSINA_SMTP_URL` forms and the sender address, checked where settings are read
(config.py) as well as where e-mail is sent (notifications/smtp.py, which re-exports them).

- `smtp://[user[:password]@]host[:port]` — port 587 by default, STARTTLS when offered;
- `smtps://[user[:password]@]host[:port]` — implicit TLS, port 465 by default.

User and password are percent-decoded (`p%40ss` for `p@ss`); the password is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """ValueError (naming no secret) for anything but the two forms above."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("ASSINA_SMTP_URL is not a valid URL") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("ASSINA_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("ASSINA_SMTP_URL needs a host: smtp://host:587")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("ASSINA_SMTP_URL takes no path, query or fragment")
    return SmtpTarget(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def check_sender_address(address: str) -> None:
    """ValueError unless `address` is one plain ASCII address (`assina@localhost`)."""
    try:
        parsed = Address(addr_spec=address)
    except Exception as error:
        raise ValueError(f"not an e-mail address: {error}") from None
    if not parsed.username or not parsed.domain or not address.isascii():
        raise ValueError("not an e-mail address such as assina@example.com")
