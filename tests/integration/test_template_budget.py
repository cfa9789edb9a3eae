"""Template bombs (issue 13, point 1), on both backends. Each piece of them was allowed on its
own, and together they built gigabytes on the event loop for seconds: a loop whose body calls
`replace` (the preview stalled /healthz 7.2 s), 600 `~`-joined `replace` calls (6.2 s, +800 MB),
and one saved behind `{% if customer.name == 'boom' %}`, which passed the save check and then
stalled every tenant on one charge for "boom". Now every rendering of a part spends from one
budget (budget.py): over it, a 422 naming the cap at preview and save, and the default template,
with a note on the e-mail, when sent. How fast the server stays meanwhile is measured by
bench/template_bombs.py, not here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.notifications.models import Email
from tests.assertions import assert_problem
from tests.conftest import TenantClient
from tests.integration.email_support import create, put, sender_for, smtp_server

REMINDER = "/v1/email-templates/reminder"
CHARGE_CREATED = "/v1/email-templates/charge_created"

MEGA = "(('x'*1000)|replace('x','y'*999))"  # 999,000 characters: one call may
# The loop, verbatim: a loop over ~1,000,000 characters, each turn building as many.
LOOP_BOMB = (
    "{% for c in customer.name|replace(customer.name, ('z'*1000)|replace('z','z'*999)) %}"
    "{% if " + MEGA + "|length > 0 %}{% endif %}{% endfor %}"
)
JOINED_BOMB = "{{ " + " ~ ".join([MEGA] * 600) + " }}"  # the 21.6 KB
# Slow, not big: 1,000 turns of a million characters each (seconds of work before budgets).
SLOW_BOMB = (
    "{% for c in customer.name|replace(customer.name, 'z'*1000) %}"
    "{% if " + MEGA + "|length > 0 %}{% endif %}{% endfor %}"
)


def template(**parts: str) -> dict[str, str]:
    return {"subject": "Cobrança", "html": "<p>Cobrança</p>", "text": "Cobrança", **parts}


def only_error(response: Any) -> dict[str, str]:
    assert_problem(response, 422)
    [error] = response.json()["errors"]
    return dict(error)


async def test_the_loop_bomb_preview_is_refused_naming_the_cap(api: TenantClient) -> None:
    response = await api.post(f"{REMINDER}/preview", json={"template": template(text=LOOP_BOMB)})
    error = only_error(response)
    assert error["field"] == "template.text"
    assert "over the render budget" in error["message"]
    assert "built more than 1,000,000 characters" in error["message"]


async def test_six_hundred_joined_copies_are_refused_before_they_are_built(
    api: TenantClient,
) -> None:
    assert 21_000 < len(JOINED_BOMB) < 22_000
    response = await api.post(f"{REMINDER}/preview", json={"template": template(html=JOINED_BOMB)})
    error = only_error(response)
    assert error["field"] == "template.html"
    # Refused while parsed (more than 5,000 tokens), not by its output after 600 copies; 50
    # of them are refused by what they build, before the first is built.
    assert "more than 5,000 tokens" in error["message"], error
    fifty = "{{ " + " ~ ".join([MEGA] * 50) + " }}"
    response = await api.post(f"{REMINDER}/preview", json={"template": template(html=fifty)})
    error = only_error(response)
    assert error["field"] == "template.html"
    assert "built more than 1,000,000 characters" in error["message"], error


async def test_a_template_over_a_cap_is_refused_at_save_with_the_cap_named(
    api: TenantClient,
) -> None:
    twenty_thousand = "customer.name|replace(customer.name, 'z'*1000)|replace('z','z'*20)"
    many_turns = "{% for c in " + twenty_thousand + " %}.{% endfor %}"
    slow = "{% for c in " + twenty_thousand + " %}" + "{% if c|length > 5 %}{% endif %}" * 120
    slow += "{% endfor %}"
    for part, source, cap in (
        ("text", LOOP_BOMB, "built more than 1,000,000 characters"),
        ("subject", many_turns, "loops ran more than 10,000 iterations"),
        ("html", slow, "took longer than 100 ms"),  # 10,000 turns of 120 filters would do
        ("html", "{{ customer.name }}" * 600, "more than 1,000 parts"),
        ("text", "{{ " + twenty_thousand + "|list|sort }}", "may go over at most 10,000 items"),
    ):
        response = await put(api, REMINDER, template(**{part: source}))
        error = only_error(response)
        assert error["field"] == part
        assert cap in error["message"], error
    assert (await api.get(REMINDER)).json()["customized"] is False


async def test_a_bomb_reached_at_send_time_sends_the_default_and_says_so(
    api: TenantClient, other_api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    guarded = "{% if customer.name == 'boom' %}" + SLOW_BOMB + "{% endif %}Olá {{ customer.name }}"
    saved = await put(api, CHARGE_CREATED, template(text=guarded))
    assert saved.status_code == 200, saved.text  # the sample customers are not "boom"

    customers = {}
    for name in ("boom", "Ana"):
        customer = await create(api, "/v1/customers", {"name": name, "email": "a@example.com"})
        customers[customer["id"]] = name
        await create(
            api,
            "/v1/charges",
            {
                "customer_id": customer["id"],
                "items": [{"description": "Mensalidade", "amount": 1000}],
                "due_date": "2026-02-10",
            },
        )
    assert (await other_api.get("/v1/tenant")).status_code == 200
    with smtp_server() as server:  # rendered when sent (docs/emails.md)
        assert await sender_for(database, clock, server.url).send_once() == 2

    async with database.read() as session:
        emails = {customers[e.customer_id]: e for e in await session.scalars(select(Email))}
        session.expunge_all()
    assert emails["Ana"].text_body == "Olá Ana\n" and emails["Ana"].last_error is None
    boom = emails["boom"]
    assert boom.subject.startswith("Nova cobrança")  # the default of pt-BR
    assert boom.last_error is not None
    assert "the saved template failed" in boom.last_error
    assert "over the render budget" in boom.last_error
