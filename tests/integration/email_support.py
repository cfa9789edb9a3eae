"""A real SMTP server on loopback (aiosmtpd) and helpers for the e-mail tests."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from assina.charges.models import Charge
from assina.contracts.models import Contract
from assina.core.clock import FrozenClock
from assina.core.smtp_target import parse_smtp_url
from assina.customers.models import Customer
from assina.db.database import Database
from assina.notifications.models import Email, EmailKind
from assina.notifications.outbox import queue_email
from assina.notifications.sender import EmailSender, SenderConfig
from tests.conftest import TenantClient


@dataclass
class Mailbox:
    """What the server received, and how it answers: `rcpt_replies` / `data_replies` are
    answered in order (then `250 OK`), e.g. `"451 4.7.1 Try again later"`."""

    received: list[Envelope] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    attempts: int = 0  # RCPT commands seen
    encrypted: list[bool] = field(default_factory=list)  # per message received: over TLS?
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_message: Callable[[], object] | None = None  # called (in the server's thread) per message

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        with self.lock:
            self.attempts += 1
            reply = self.rcpt_replies.pop(0) if self.rcpt_replies else None
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            reply = self.data_replies.pop(0) if self.data_replies else None
            if reply is None:
                self.received.append(envelope)
                self.encrypted.append(session.ssl is not None)
        if reply is None and self.on_message is not None:
            self.on_message()
        return reply or "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            envelopes = list(self.received)
        return [parsed(envelope) for envelope in envelopes]


def parsed(envelope: Envelope) -> EmailMessage:
    raw = envelope.original_content or envelope.content
    assert isinstance(raw, bytes)
    return cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


def parts(message: EmailMessage) -> tuple[str, str | None]:
    """(text body, HTML body or None), decoded, with the wire's CRLF line ends as LF."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    text_content = cast(str, cast(EmailMessage, text).get_content()).replace("\r\n", "\n")
    if html is None:
        return text_content, None
    return text_content, cast(str, cast(EmailMessage, html).get_content()).replace("\r\n", "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int
    credentials: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        if self.credentials is None:
            return f"smtp://127.0.0.1:{self.port}"
        user, password = self.credentials
        quoted = password.replace("%", "%25").replace("@", "%40").replace(":", "%3A")
        return f"smtp://{user}:{quoted}@127.0.0.1:{self.port}"


def self_signed_certificate(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A certificate for 127.0.0.1, signed by itself: the server's TLS context, and the
    certificate's file for a client to trust (SSL_CERT_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


@contextmanager
def smtp_server(
    mailbox: Mailbox | None = None,
    credentials: tuple[str, str] | None = None,
    starttls: ssl.SSLContext | None = None,
) -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1 (its own thread and loop); with `credentials`, AUTH is required
    (over plain text when there is no `starttls`: loopback only); with `starttls`, the server
    offers STARTTLS with that context and refuses mail and AUTH before it."""
    mailbox = mailbox or Mailbox()
    extra: dict[str, Any] = {}
    if starttls is not None:
        extra = {"tls_context": starttls, "require_starttls": True}
    if credentials is not None:

        def authenticate(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == credentials
            )
            return AuthResult(success=ok, handled=False)

        # AUTH over plain text only when the server has no TLS to offer (loopback tests).
        plain = starttls is None
        extra |= {
            "authenticator": authenticate,
            "auth_require_tls": not plain,
            "auth_required": True,
        }
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield SmtpServer(mailbox, port, credentials)
    finally:
        controller.stop()


def sender_for(
    database: Database, clock: FrozenClock, url: str | None, from_address: str = "assina@localhost"
) -> EmailSender:
    smtp = parse_smtp_url(url) if url else None
    config = SenderConfig(smtp=smtp, from_address=from_address, timeout_seconds=5.0)
    return EmailSender(database, clock, config)


async def send_due(database: Database, clock: FrozenClock) -> Mailbox:
    """Send every e-mail due to a local SMTP server: an e-mail is rendered when it is sent
    (docs/emails.md), so its row holds its subject and bodies from then on."""
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        sender = sender_for(database, clock, server.url)
        while await sender.send_once():
            pass
    return mailbox


async def put(api: TenantClient, path: str, body: object) -> httpx.Response:
    return await api.http.put(path, json=body, headers=api.headers)


async def create(api: TenantClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(path, body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def customer_and_charge(
    api: TenantClient, email: str | None = "joao@example.com", amount: int = 123456
) -> tuple[str, str]:
    """A customer with accents in the name, and an open charge of `amount` due 2026-02-10.

    The customer gets its e-mail address only after the charge, so that the charge's own
    `charge_created` e-mail stays `no_recipient` and the tests' SMTP server sees only the
    e-mails they queue themselves."""
    customer = await create(
        api, "/v1/customers", {"name": "João Conceição", "document": "529.982.247-25"}
    )
    charge = await create(
        api,
        "/v1/charges",
        {
            "customer_id": customer["id"],
            "items": [{"description": "Mensalidade de março", "amount": amount}],
            "due_date": "2026-02-10",
        },
    )
    if email is not None:
        response = await api.patch(f"/v1/customers/{customer['id']}", {"email": email})
        assert response.status_code == 200, response.text
    return customer["id"], charge["id"]


async def queue(
    database: Database,
    clock: FrozenClock,
    tenant_id: str,
    kind: EmailKind,
    customer_id: str,
    *,
    charge_id: str | None = None,
    contract_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Queue one e-mail the way a calendar step would: inside its write transaction."""
    async with database.write() as session:
        customer = await session.get_one(Customer, customer_id)
        charge = await session.get_one(Charge, charge_id) if charge_id else None
        contract = await session.get_one(Contract, contract_id) if contract_id else None
        email = await queue_email(
            session,
            clock,
            tenant_id,
            kind,
            customer,
            charge=charge,
            contract=contract,
            extra=extra,
        )
        assert email is not None, f"the tenant disabled {kind}"
        return email.id


async def stored(database: Database, email_id: str) -> Email:
    async with database.read() as session:
        email = await session.scalar(select(Email).where(Email.id == email_id))
        assert email is not None
        session.expunge(email)  # readable after the read transaction ends
        return email
