"""A template whose output carries a control character (issue 13, point 2): `{{ "\\x00" }}`
saved, then every charge of the tenant failed on PostgreSQL and the NUL went out in
`Subject:` on SQLite. Now it is refused at save like any template that does not render; one
that only does it for some data falls back to the default when sent; and the defaults drop
control characters that stored data carries. On both backends."""

from __future__ import annotations

from sqlalchemy import select

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.notifications.models import Email
from tests.assertions import assert_problem
from tests.conftest import TenantClient
from tests.integration.email_support import create, put, send_due

CHARGE_CREATED = "/v1/email-templates/charge_created"


def template(**parts: str) -> dict[str, str]:
    return {"subject": "Cobrança", "html": "<p>Cobrança</p>", "text": "Cobrança", **parts}


async def charge_for(api: TenantClient, name: str, description: str = "Mensalidade") -> None:
    customer = await create(api, "/v1/customers", {"name": name, "email": "a@example.com"})
    await create(
        api,
        "/v1/charges",
        {
            "customer_id": customer["id"],
            "items": [{"description": description, "amount": 1000}],
            "due_date": "2026-02-10",
        },
    )


async def emails(database: Database, clock: FrozenClock) -> list[Email]:
    """The outbox, once sent: what each e-mail was rendered to when sent."""
    await send_due(database, clock)
    async with database.read() as session:
        found = list((await session.scalars(select(Email))).all())
        session.expunge_all()
        return found


async def test_a_template_that_renders_a_control_character_is_refused_at_save(
    api: TenantClient,
) -> None:
    for part, source in (
        ("text", 'A{{ "\\x00" }}B'),
        ("subject", 'Cobrança{{ "\\x0b" }}'),
        ("html", '<p>{{ "\\x1b" }}[31m</p>'),
    ):
        response = await put(api, CHARGE_CREATED, template(**{part: source}))
        assert_problem(response, 422)
        assert response.json()["errors"][0]["field"] == part, response.text
        assert "control character" in response.json()["errors"][0]["message"]
    assert (await api.get(CHARGE_CREATED)).json()["customized"] is False
    # Tabs and line breaks are text.
    assert (await put(api, CHARGE_CREATED, template(text='A{{ "\\t" }}B\n'))).status_code == 200


async def test_one_that_does_it_for_some_data_falls_back_to_the_default(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    bomb = '{% if customer.name == "boom" %}{{ "\\x00" }}{% endif %}Cobrança'
    saved = await put(api, CHARGE_CREATED, template(subject=bomb))
    assert saved.status_code == 200, saved.text  # the samples are not "boom"

    await charge_for(api, "boom")

    [email] = await emails(database, clock)
    assert "\x00" not in email.subject and email.subject.startswith("Nova cobrança")
    assert email.last_error is not None and "control character" in email.last_error


async def test_the_defaults_drop_control_characters_of_stored_data(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await charge_for(api, "Ana", description="Mensalidade\x0bde março\x1b")

    [email] = await emails(database, clock)
    assert "Mensalidade" in email.text_body
    for text in (email.subject, email.text_body, email.html_body):
        assert "\x0b" not in text and "\x1b" not in text
