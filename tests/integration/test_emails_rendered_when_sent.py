"""E-mails are queued with what renders them and rendered when sent (issue 18; docs/emails.md,
"When an e-mail is rendered"), on both backends: the outbox shows an e-mail not sent yet as
it would be sent now; the sender sends it rendered with the objects as they are then, the day
it was queued, and keeps what it sent; the calendar's batches and its per-contract steps
queue e-mails that render the same."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from assina.calendar.run import run_calendar
from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.notifications.models import Email, EmailStatus
from tests.conftest import TenantClient
from tests.integration.contract_support import new_customer
from tests.integration.email_support import Mailbox, create, parts, sender_for, smtp_server
from tests.integration.test_calendar import FIRST_DAY, at_noon
from tests.integration.test_calendar_batches import (
    BATCHED,
    ONE_BY_ONE,
    normalised,
    scenario,
)


async def one_email(api: TenantClient) -> dict[str, Any]:
    [email] = (await api.get("/v1/emails")).json()["data"]
    detail: dict[str, Any] = (await api.get(f"/v1/emails/{email['id']}")).json()
    assert detail["subject"] == email["subject"]
    return detail


async def stored_row(database: Database, email_id: str) -> Email:
    async with database.read() as session:
        email = await session.scalar(select(Email).where(Email.id == email_id))
        assert email is not None
        session.expunge(email)
        return email


async def test_an_email_is_rendered_when_sent_with_its_objects_then_and_its_day(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer = await create(api, "/v1/customers", {"name": "Ana", "email": "ana@example.com"})
    line = {"description": "Mensalidade", "amount": 10000}
    charge = await create(
        api,
        "/v1/charges",
        {"customer_id": customer["id"], "items": [line], "due_date": "2026-02-10"},
    )
    queued_on = clock.now()
    row = await stored_row(database, (await one_email(api))["id"])
    assert row.rendered_at is None and row.subject == row.text_body == row.html_body == ""

    # Not sent yet: shown as it would be sent now.
    before = await one_email(api)
    assert "R$ 100,00" in before["text"] and "R$ 100,00" in before["html"]
    assert before["subject"] == "Nova cobrança de R$ 100,00 com vencimento em 10/02/2026"

    # The charge changes, and days go by, before the sender runs.
    items = {"items": [{"description": "Mensalidade", "amount": 12345}]}
    assert (await api.patch(f"/v1/charges/{charge['id']}", items)).status_code == 200
    clock.advance(timedelta(days=3))
    changed = await one_email(api)
    assert "R$ 123,45" in changed["text"] and "R$ 100,00" not in changed["text"]
    assert changed["subject"] == "Nova cobrança de R$ 123,45 com vencimento em 10/02/2026"

    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        assert await sender_for(database, clock, server.url).send_once() == 1
    [message] = mailbox.messages()
    text, html = parts(message)
    row = await stored_row(database, changed["id"])
    assert row.status == EmailStatus.SENT
    assert row.rendered_at == clock.now()
    assert (row.subject, row.text_body) == (message["Subject"], text)
    assert row.html_body == html.removesuffix("\n")  # MIME ends the part with a line break
    assert "R$ 123,45" in text
    # `today` is the day it was queued, not the day it went.
    assert queued_on.date() != clock.now().date()
    sent = await one_email(api)
    assert (sent["subject"], sent["text"], sent["html"]) == (row.subject, text, row.html_body)
    # What the outbox showed before it went is what went.
    assert (changed["subject"], changed["text"], changed["html"]) == (
        sent["subject"],
        sent["text"],
        sent["html"],
    )

    # What was sent stays, whatever changes after.
    items = {"items": [{"description": "Mensalidade", "amount": 99}]}
    assert (await api.patch(f"/v1/charges/{charge['id']}", items)).status_code == 200
    assert (await one_email(api))["text"] == text


async def test_the_day_an_email_speaks_of_is_the_day_it_was_queued(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    template = {"subject": "Hoje é {{ today }}", "html": "", "text": "{{ today }}"}
    response = await api.http.put(
        "/v1/email-templates/charge_created", json=template, headers=api.headers
    )
    assert response.status_code == 200, response.text
    customer = await create(api, "/v1/customers", {"name": "Ana", "email": "ana@example.com"})
    clock.set(at_noon(date(2026, 1, 15)))
    line = {"description": "Mensalidade", "amount": 10000}
    body = {"customer_id": customer["id"], "items": [line], "due_date": "2026-02-10"}
    await create(api, "/v1/charges", body)
    clock.advance(timedelta(days=2))
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        assert await sender_for(database, clock, server.url).send_once() == 1
    [message] = mailbox.messages()
    assert message["Subject"] == "Hoje é 15/01/2026"


async def rendered_emails(api: TenantClient, names: dict[str, str]) -> list[list[Any]]:
    """The tenant's e-mails as the API shows them (rendered now: none was sent), ids
    normalised, the tenant's name that signs them left out (as test_calendar_batches does)."""
    # Not in the PIX code's merchant name (the same PIX receiver in both tenants).
    signature = re.compile(re.escape((await api.get("/v1/tenant")).json()["name"]) + "(?! Ltda)")
    shown: list[list[Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = (await api.get("/v1/emails", params=params)).json()
        for email in page["data"]:
            detail = (await api.get(f"/v1/emails/{email['id']}")).json()
            text, html = (signature.sub("", detail[part]) for part in ("text", "html"))
            fields = (detail["kind"], detail["charge_id"], detail["subject"], text, html)
            shown.append(normalised(list(fields), names))
        if not page["has_more"]:
            return shown
        params["starting_after"] = page["data"][-1]["id"]


async def test_batches_and_one_by_one_queue_emails_that_render_the_same(
    api: TenantClient, other_api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """test_calendar_batches compares the outbox's rows; here, what they render to."""
    batched = await scenario(api)
    one_by_one = await scenario(other_api)
    for day in [FIRST_DAY + timedelta(days=n) for n in range(0, 40, 3)]:
        clock.set(at_noon(day))
        await run_calendar(database, clock, None, api.tenant.tenant_id, BATCHED)
        await run_calendar(database, clock, None, other_api.tenant.tenant_id, ONE_BY_ONE)
    # Charges first, in number order, so that both tenants name the same objects alike.
    names: dict[str, str] = {}
    other_names: dict[str, str] = {}
    for tenant_api, tenant_names in ((api, names), (other_api, other_names)):
        for contract in (batched if tenant_api is api else one_by_one).values():
            normalised(contract["id"], tenant_names)
    expected = await rendered_emails(other_api, other_names)
    assert await rendered_emails(api, names) == expected
    assert len(expected) > 20
    assert all(email[2] and email[3] and email[4] for email in expected)


async def test_a_customer_without_an_address_keeps_its_email_unsent_and_readable(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id = await new_customer(api)  # no e-mail address
    line = {"description": "Mensalidade", "amount": 10000}
    body = {"customer_id": customer_id, "items": [line], "due_date": "2026-02-10"}
    await create(api, "/v1/charges", body)
    with smtp_server() as server:
        assert await sender_for(database, clock, server.url).send_once() == 0
    email = await one_email(api)
    assert email["status"] == EmailStatus.NO_RECIPIENT
    assert email["subject"] and email["text"] and "R$ 100,00" in email["text"]
