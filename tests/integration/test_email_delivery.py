"""E-mails end to end: queued in the caller's transaction, sent by the sender to a real SMTP
server (aiosmtpd on loopback), retried on the injected clock, and visible in the API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError

from assina.charges.models import Charge
from assina.core.clock import FrozenClock
from assina.customers.models import Customer
from assina.db.database import Database
from assina.notifications.models import Email, EmailKind, EmailStatus
from assina.notifications.outbox import email_context, queue_email
from assina.notifications.sender import RETRY_SCHEDULE
from tests.conftest import TenantClient
from tests.integration.email_support import (
    Mailbox,
    SmtpServer,
    create,
    customer_and_charge,
    free_port,
    parts,
    put,
    queue,
    self_signed_certificate,
    sender_for,
    smtp_server,
    stored,
)

PIX_RECEIVER = {
    "pix_key": "pix@escola.com.br",
    "merchant_name": "Escola Alfa",
    "merchant_city": "Sao Paulo",
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


async def test_a_queued_email_reaches_the_smtp_server(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    assert (await put(api, "/v1/billing-settings", PIX_RECEIVER)).status_code == 200
    settings = {"from_name": "Escola Alfa — Secretaria", "reply_to": "secretaria@escola.com.br"}
    assert (await put(api, "/v1/email-settings", settings)).status_code == 200
    customer_id, charge_id = await customer_and_charge(api)
    tenant_id = api.tenant.tenant_id
    email_id = await queue(
        database, clock, tenant_id, EmailKind.CHARGE_CREATED, customer_id, charge_id=charge_id
    )
    assert (await api.get(f"/v1/emails/{email_id}")).json()["status"] == "pending"

    assert await sender_for(database, clock, smtp.url).send_once() == 1

    [message] = smtp.mailbox.messages()
    assert message["Subject"] == "Nova cobrança de R$ 1.234,56 com vencimento em 10/02/2026"
    assert message["To"] == "joao@example.com"
    assert message["From"].addresses[0].display_name == "Escola Alfa — Secretaria"
    assert message["From"].addresses[0].addr_spec == "assina@localhost"
    assert message["Reply-To"] == "secretaria@escola.com.br"
    assert message["Message-ID"] == f"<{email_id}@localhost>"
    text, html = parts(message)
    assert "Olá, João Conceição!" in text
    assert "no valor de R$ 1.234,56" in text
    assert "Referente a: Mensalidade de março." in text
    assert "000201" in text  # the PIX copia e cola
    assert html is not None
    assert "Olá, João Conceição!" in html and "<p" in html
    assert [e.rcpt_tos for e in smtp.mailbox.received] == [["joao@example.com"]]

    shown = (await api.get(f"/v1/emails/{email_id}")).json()
    assert shown["status"] == "sent"
    assert shown["attempt_count"] == 1
    assert shown["sent_at"] == "2026-01-15T12:00:00Z"
    assert shown["last_error"] is None
    assert shown["next_attempt_at"] is None
    assert shown["text"] == text
    assert shown["charge_id"] == charge_id and shown["customer_id"] == customer_id
    # Nothing is sent twice.
    assert await sender_for(database, clock, smtp.url).send_once() == 0
    assert len(smtp.mailbox.received) == 1


async def test_english_tenants_get_english_defaults_and_formats(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    assert (await put(api, "/v1/email-settings", {"locale": "en"})).status_code == 200
    customer_id, charge_id = await customer_and_charge(api)
    await queue(
        database, clock, api.tenant.tenant_id, EmailKind.OVERDUE, customer_id, charge_id=charge_id
    )
    await sender_for(database, clock, smtp.url).send_once()
    [message] = smtp.mailbox.messages()
    assert message["Subject"] == "Overdue: charge no. 1, due on February 10, 2026"
    text, _ = parts(message)
    assert "for R$1,234.56, due on February 10, 2026." in text


async def test_a_saved_template_is_used_and_html_escapes_data(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    template = {
        "subject": "Aviso {{ charge.number }} — {{ customer.name }}",
        "html": "<p>{{ customer.name }} &amp; {{ charge.amount }}</p>",
        "text": "Até {{ charge.due_date }}: {{ days_overdue }} dias.",
    }
    assert (await put(api, "/v1/email-templates/overdue", template)).status_code == 200
    customer = await api.post("/v1/customers", {"name": "Ana <b>& Cia"})
    charge = await api.post(
        "/v1/charges",
        {
            "customer_id": customer.json()["id"],
            "items": [{"description": "Taxa", "amount": 5000}],
            "due_date": "2026-01-10",
        },
    )
    # The address comes after the charge: its charge_created e-mail is not sent.
    address = {"email": "ana@example.com"}
    assert (await api.patch(f"/v1/customers/{customer.json()['id']}", address)).status_code == 200
    await queue(
        database,
        clock,
        api.tenant.tenant_id,
        EmailKind.OVERDUE,
        customer.json()["id"],
        charge_id=charge.json()["id"],
        extra={"days_overdue": 7},
    )
    await sender_for(database, clock, smtp.url).send_once()
    [message] = smtp.mailbox.messages()
    assert message["Subject"] == "Aviso 1 — Ana <b>& Cia"
    text, html = parts(message)
    assert text == "Até 10/01/2026: 7 dias.\n"
    assert html == "<p>Ana &lt;b&gt;&amp; Cia &amp; R$ 50,00</p>\n"


async def test_a_template_failing_on_real_data_falls_back_to_the_default(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    # Fine with the sample data (charge 1234) and its sparse variant, a division by zero for
    # charge number 1.
    template = {"subject": "{{ 10 // (charge.number - 1) }}", "html": "", "text": "x"}
    assert (await put(api, "/v1/email-templates/reminder", template)).status_code == 200
    customer_id, charge_id = await customer_and_charge(api)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.REMINDER, customer_id, charge_id=charge_id
    )
    # Rendered when sent (docs/emails.md, "When an e-mail is rendered"): the API shows it,
    # before, as it would be sent; the sender sends the default and says so.
    shown = (await api.get(f"/v1/emails/{email_id}")).json()
    assert shown["subject"] == "Lembrete: a cobrança nº 1 vence em 10/02/2026"
    assert shown["status"] == EmailStatus.PENDING
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        assert await sender_for(database, clock, server.url).send_once() == 1
    email = await stored(database, email_id)
    assert email.subject == "Lembrete: a cobrança nº 1 vence em 10/02/2026"
    assert email.last_error is not None and "ZeroDivisionError" in email.last_error
    assert email.status == EmailStatus.SENT
    [message] = mailbox.messages()
    assert message["Subject"] == email.subject


async def test_a_server_that_says_try_later_gets_retries_then_failed(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    mailbox = Mailbox(rcpt_replies=["451 4.7.1 Greylisted, try again later"] * 10)
    customer_id, charge_id = await customer_and_charge(api)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.REMINDER, customer_id, charge_id=charge_id
    )
    with smtp_server(mailbox) as server:
        sender = sender_for(database, clock, server.url)
        for attempt, wait in enumerate(RETRY_SCHEDULE, start=1):
            assert await sender.send_once() == 1
            email = await stored(database, email_id)
            assert email.status == EmailStatus.PENDING
            assert email.attempt_count == attempt
            assert email.last_error == "451 4.7.1 Greylisted, try again later"
            assert email.next_attempt_at == clock.now() + wait
            clock.advance(wait - timedelta(seconds=1))
            assert await sender.send_once() == 0  # not due yet
            clock.advance(timedelta(seconds=1))
        assert await sender.send_once() == 1
    email = await stored(database, email_id)
    assert email.status == EmailStatus.FAILED
    assert email.attempt_count == len(RETRY_SCHEDULE) + 1 == mailbox.attempts
    assert mailbox.received == []
    shown = (await api.get("/v1/emails", params={"status": "failed"})).json()["data"]
    assert [e["id"] for e in shown] == [email_id]
    assert shown[0]["next_attempt_at"] is None


async def test_a_rejected_recipient_fails_at_once(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    mailbox = Mailbox(rcpt_replies=["550 5.1.1 No such mailbox"])
    customer_id, charge_id = await customer_and_charge(api)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.RECEIPT, customer_id, charge_id=charge_id
    )
    with smtp_server(mailbox) as server:
        assert await sender_for(database, clock, server.url).send_once() == 1
    email = await stored(database, email_id)
    assert email.status == EmailStatus.FAILED
    assert email.last_error == "550 5.1.1 No such mailbox"
    assert email.attempt_count == 1


async def test_a_message_refused_for_now_is_retried_and_then_sent(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    mailbox = Mailbox(data_replies=["452 4.3.1 Insufficient system storage"])
    customer_id, charge_id = await customer_and_charge(api)
    tenant_id = api.tenant.tenant_id
    first = await queue(
        database, clock, tenant_id, EmailKind.REMINDER, customer_id, charge_id=charge_id
    )
    second = await queue(
        database, clock, tenant_id, EmailKind.OVERDUE, customer_id, charge_id=charge_id
    )
    with smtp_server(mailbox) as server:
        sender = sender_for(database, clock, server.url)
        assert await sender.send_once() == 2  # one connection: the second goes through
        assert (await stored(database, first)).status == EmailStatus.PENDING
        assert (await stored(database, second)).status == EmailStatus.SENT
        clock.advance(RETRY_SCHEDULE[0])
        assert await sender.send_once() == 1
    assert (await stored(database, first)).status == EmailStatus.SENT
    assert len(mailbox.received) == 2


async def test_without_an_smtp_url_emails_wait_as_not_configured_then_go(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    customer_id, charge_id = await customer_and_charge(api)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.REMINDER, customer_id, charge_id=charge_id
    )
    assert await sender_for(database, clock, None).send_once() == 0
    listed = (await api.get("/v1/emails", params={"status": "not_configured"})).json()["data"]
    assert [e["id"] for e in listed] == [email_id]
    assert listed[0]["next_attempt_at"] == "2026-01-15T12:00:00Z"
    clock.advance(timedelta(days=3))
    assert await sender_for(database, clock, smtp.url).send_once() == 1
    assert (await stored(database, email_id)).status == EmailStatus.SENT
    assert len(smtp.mailbox.received) == 1


async def test_a_customer_without_an_address_is_recorded_not_sent(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    customer_id, charge_id = await customer_and_charge(api, email=None)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.OVERDUE, customer_id, charge_id=charge_id
    )
    assert await sender_for(database, clock, smtp.url).send_once() == 0
    shown = (await api.get(f"/v1/emails/{email_id}")).json()
    assert shown["status"] == "no_recipient" and shown["to"] is None
    assert "João Conceição" in shown["text"]
    assert smtp.mailbox.received == []


async def test_an_unreachable_server_schedules_a_retry(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id, charge_id = await customer_and_charge(api)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.REMINDER, customer_id, charge_id=charge_id
    )
    closed = f"smtp://127.0.0.1:{free_port()}"
    assert await sender_for(database, clock, closed).send_once() == 1
    email = await stored(database, email_id)
    assert email.status == EmailStatus.PENDING
    assert email.attempt_count == 1
    assert email.next_attempt_at == clock.now() + RETRY_SCHEDULE[0]
    assert email.last_error and "SMTPConnect" in email.last_error
    assert email.locked_until is None


# AUTH over plain text on loopback, on purpose: aiosmtpd warns about it.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_credentials_from_the_url_log_in(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id, charge_id = await customer_and_charge(api)
    tenant_id = api.tenant.tenant_id
    email_id = await queue(
        database, clock, tenant_id, EmailKind.REMINDER, customer_id, charge_id=charge_id
    )
    with smtp_server(credentials=("escola", "s3nh@:forte%")) as server:
        wrong = server.url.replace("s3nh", "errada")
        assert await sender_for(database, clock, wrong).send_once() == 1
        email = await stored(database, email_id)
        assert email.status == EmailStatus.PENDING and email.last_error
        assert email.last_error.startswith("535")
        assert "errada" not in email.last_error
        clock.advance(RETRY_SCHEDULE[0])
        assert await sender_for(database, clock, server.url).send_once() == 1
        assert len(server.mailbox.received) == 1
    assert (await stored(database, email_id)).status == EmailStatus.SENT


async def test_a_leased_email_waits_for_its_lease_to_end(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    """A worker that died holding e-mails: another sends them once the lease has passed."""
    customer_id, charge_id = await customer_and_charge(api)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.REMINDER, customer_id, charge_id=charge_id
    )
    async with database.write() as session:
        await session.execute(
            update(Email).values(locked_until=clock.now() + timedelta(minutes=10))
        )
    sender = sender_for(database, clock, smtp.url)
    assert await sender.send_once() == 0
    clock.advance(timedelta(minutes=10))
    assert await sender.send_once() == 1
    assert (await stored(database, email_id)).status == EmailStatus.SENT


async def test_the_email_commits_or_rolls_back_with_its_step(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id, charge_id = await customer_and_charge(api)
    async with database.read() as session:
        before = await session.scalar(select(func.count()).select_from(Email))

    class StepFailed(Exception):
        pass

    with pytest.raises(StepFailed):
        async with database.write() as session:
            customer = await session.get_one(Customer, customer_id)
            charge = await session.get_one(Charge, charge_id)
            await queue_email(
                session, clock, api.tenant.tenant_id, EmailKind.OVERDUE, customer, charge=charge
            )
            raise StepFailed
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Email)) == before


async def test_queueing_costs_one_query(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """The calendar queues e-mails for thousands of customers: one SELECT each (tenant,
    settings and template together), and the INSERT at the caller's flush."""
    customer_id, charge_id = await customer_and_charge(api)
    template = {"subject": "{{ charge.amount }}", "html": "", "text": "x"}
    assert (await put(api, "/v1/email-templates/reminder", template)).status_code == 200
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async with database.write() as session:
        customer = await session.get_one(Customer, customer_id)
        charge = await session.get_one(Charge, charge_id)
        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        try:
            for kind in (EmailKind.REMINDER, EmailKind.OVERDUE):
                await queue_email(
                    session, clock, api.tenant.tenant_id, kind, customer, charge=charge
                )
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 2, statements
    assert all(statement.lstrip().upper().startswith("SELECT") for statement in statements)


async def test_two_senders_share_the_work_without_sending_twice(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    customer_id, charge_id = await customer_and_charge(api)
    tenant_id = api.tenant.tenant_id
    async with database.write() as session:
        customer = await session.get_one(Customer, customer_id)
        charge = await session.get_one(Charge, charge_id)
        for _ in range(30):
            await queue_email(
                session, clock, tenant_id, EmailKind.REMINDER, customer, charge=charge
            )
    first, second = sender_for(database, clock, smtp.url), sender_for(database, clock, smtp.url)
    claimed = await asyncio.gather(first.send_once(), second.send_once())
    assert sum(claimed) == 30 and max(claimed) == 20
    ids = [message["Message-ID"] for message in smtp.mailbox.messages()]
    assert len(ids) == len(set(ids)) == 30
    async with database.read() as session:
        reminders = select(Email.status).where(Email.kind == EmailKind.REMINDER.value)
        statuses = (await session.scalars(reminders)).all()
    assert len(statuses) == 30 and set(statuses) == {EmailStatus.SENT}


async def test_a_notice_key_is_queued_once_and_a_context_saves_the_query(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id, charge_id = await customer_and_charge(api)
    tenant_id = api.tenant.tenant_id
    async with database.write() as session:
        customer = await session.get_one(Customer, customer_id)
        charge = await session.get_one(Charge, charge_id)
        context = await email_context(session, tenant_id, EmailKind.OVERDUE)
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        try:
            email = await queue_email(
                session,
                clock,
                tenant_id,
                EmailKind.OVERDUE,
                customer,
                charge=charge,
                context=context,
                notice_key=f"overdue:{charge_id}:2026-01-15",
            )
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", count)
        assert statements == []
    assert email is not None
    assert (await stored(database, email.id)).notice_key == f"overdue:{charge_id}:2026-01-15"
    with pytest.raises(IntegrityError):
        async with database.write() as session:
            customer = await session.get_one(Customer, customer_id)
            charge = await session.get_one(Charge, charge_id)
            await queue_email(
                session,
                clock,
                tenant_id,
                EmailKind.OVERDUE,
                customer,
                charge=charge,
                notice_key=f"overdue:{charge_id}:2026-01-15",
            )


async def test_the_worker_loop_sends_and_stops(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    customer_id, charge_id = await customer_and_charge(api)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.RECEIPT, customer_id, charge_id=charge_id
    )
    stop = asyncio.Event()
    received = asyncio.Event()
    running = asyncio.get_running_loop()
    smtp.mailbox.on_message = lambda: running.call_soon_threadsafe(received.set)
    loop = asyncio.create_task(sender_for(database, clock, smtp.url).run(stop))
    await asyncio.wait_for(received.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(loop, timeout=10)  # the pass under way ends, then the loop
    assert (await stored(database, email_id)).status == EmailStatus.SENT
    assert len(smtp.mailbox.received) == 1


async def test_a_new_charge_emails_its_customer_unless_there_is_nothing_to_pay(
    api: TenantClient, database: Database, clock: FrozenClock, smtp: SmtpServer
) -> None:
    assert (await put(api, "/v1/billing-settings", PIX_RECEIVER)).status_code == 200
    customer = await create(api, "/v1/customers", {"name": "Rita", "email": "rita@example.com"})
    lines = [{"description": "Mensalidade", "amount": 15000}]
    body = {"customer_id": customer["id"], "items": lines, "due_date": "2026-02-10"}
    charge = await create(api, "/v1/charges", body)
    free = [{"description": "Bolsa", "amount": 0}]
    await create(api, "/v1/charges", {**body, "items": free})

    [queued] = (await api.get("/v1/emails", params={"customer_id": customer["id"]})).json()["data"]
    assert (queued["kind"], queued["charge_id"], queued["status"]) == (
        "charge_created",
        charge["id"],
        "pending",
    )
    assert await sender_for(database, clock, smtp.url).send_once() == 1
    [message] = smtp.mailbox.messages()
    assert message["To"] == "rita@example.com"
    assert message["Subject"] == "Nova cobrança de R$ 150,00 com vencimento em 10/02/2026"
    text, _ = parts(message)
    assert charge["payment_instructions"]["pix_code"] in text


async def test_a_disabled_kind_is_never_queued(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    off = {"disabled_kinds": ["charge_created", "overdue", "charge_created"]}
    saved = await put(api, "/v1/email-settings", off)
    assert saved.status_code == 200, saved.text
    assert saved.json()["disabled_kinds"] == ["charge_created", "overdue"]
    assert (await api.get("/v1/email-settings")).json() == saved.json()
    customer = await create(api, "/v1/customers", {"name": "Rita", "email": "rita@example.com"})
    lines = [{"description": "Mensalidade", "amount": 15000}]
    body = {"customer_id": customer["id"], "items": lines, "due_date": "2026-02-10"}
    charge = await create(api, "/v1/charges", body)
    tenant_id = api.tenant.tenant_id
    async with database.write() as session:
        found = await session.get_one(Customer, customer["id"])
        paid = await session.get_one(Charge, charge["id"])
        overdue = EmailKind.OVERDUE
        assert await queue_email(session, clock, tenant_id, overdue, found, charge=paid) is None
    reminder = await queue(
        database, clock, tenant_id, EmailKind.REMINDER, customer["id"], charge_id=charge["id"]
    )
    listed = (await api.get("/v1/emails", params={"customer_id": customer["id"]})).json()
    assert [email["id"] for email in listed["data"]] == [reminder]
    # The previews still work, and unknown kinds are refused.
    assert (await api.post("/v1/email-templates/charge_created/preview")).status_code == 200
    refused = await put(api, "/v1/email-settings", {"disabled_kinds": ["sms"]})
    assert refused.status_code == 422
    assert (await api.get("/v1/email-settings")).json() == saved.json()


async def test_a_server_that_offers_starttls_gets_the_mail_encrypted(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An `smtp://` URL upgrades with STARTTLS when offered, checking the server's
    certificate; this server refuses any mail sent before STARTTLS."""
    context, certificate = self_signed_certificate(tmp_path)
    customer_id, charge_id = await customer_and_charge(api)
    email_id = await queue(
        database, clock, api.tenant.tenant_id, EmailKind.REMINDER, customer_id, charge_id=charge_id
    )
    with smtp_server(starttls=context, credentials=("escola", "segredo")) as server:
        # Not trusted yet: the certificate check fails, and the e-mail waits for a retry.
        assert await sender_for(database, clock, server.url).send_once() == 1
        refused = await stored(database, email_id)
        assert refused.status == EmailStatus.PENDING and "CERTIFICATE" in str(refused.last_error)
        assert server.mailbox.received == []
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
        clock.advance(RETRY_SCHEDULE[0])
        assert await sender_for(database, clock, server.url).send_once() == 1
        assert server.mailbox.encrypted == [True]
    assert (await stored(database, email_id)).status == EmailStatus.SENT
