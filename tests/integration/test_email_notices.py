"""No e-mail says two things at once, on both backends: a charge issued on (or after) its
reminder day gets its `charge_created` e-mail and no reminder for that day, and the "trial
ends soon" e-mail names the first paid period's charge when it is issued already."""

from __future__ import annotations

from datetime import date
from typing import Any

from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.contract_support import new_product, post_contract
from tests.integration.email_support import put
from tests.integration.test_calendar import at_noon, charges_of
from tests.integration.test_dunning import DUE, days, email_body, emails_of


async def new_customer(api: TenantClient, name: str) -> str:
    email = f"{name.lower()}@example.com"
    response = await api.post("/v1/customers", {"name": name, "email": email})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def set_policy(api: TenantClient, **changes: Any) -> None:
    response = await put(api, "/v1/dunning-policy", changes)
    assert response.status_code == 200, response.text


async def set_lead_days(api: TenantClient, lead_days: int) -> None:
    response = await put(api, "/v1/billing-settings", {"charge_lead_days": lead_days})
    assert response.status_code == 200, response.text


def sent(emails: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, day queued) of each e-mail, oldest first."""
    return [(email["kind"], email["created_at"][:10]) for email in emails]


async def test_a_charge_issued_on_its_reminder_day_gets_no_reminder_that_day(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """Lead days 3 and reminders 3 and 1 day before: the calendar issues the charge 3 days
    before its due date, the day of the first reminder, which its charge_created e-mail makes
    needless (that day and the next ones); the reminder 1 day before still goes."""
    await set_lead_days(api, 3)
    await set_policy(api, reminder_days_before_due=[3, 1])
    customer_id = await new_customer(api, "Lia")
    product = await new_product(api, name="Plano Mensal", amount=10000)
    await post_contract(api, customer_id, [product], start_date="2026-01-25")

    await days(database, clock, DUE, date(2026, 1, 25))
    assert sent(await emails_of(api, customer_id)) == [
        ("charge_created", "2026-01-22"),
        ("reminder", "2026-01-24"),
    ]


async def test_a_charge_posted_due_in_three_days_gets_no_reminder_that_day(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    await set_policy(api, reminder_days_before_due=[3, 1])
    customer_id = await new_customer(api, "Rui")
    clock.set(at_noon(DUE))
    for due in ("2026-01-18", "2026-01-16", "2026-01-25"):
        charge = {"customer_id": customer_id, "due_date": due}
        charge["items"] = [{"description": "Avulso", "amount": 5000}]
        assert (await api.post("/v1/charges", charge)).status_code == 201

    await days(database, clock, DUE, date(2026, 1, 25))
    emails = [e for e in await emails_of(api, customer_id) if e["kind"] != "overdue"]
    by_due = {(e["kind"], e["created_at"][:10], await due_of(api, e)) for e in emails}
    assert by_due == {
        # Each charge's own e-mail when posted.
        ("charge_created", "2026-01-15", "2026-01-18"),
        ("charge_created", "2026-01-15", "2026-01-16"),
        ("charge_created", "2026-01-15", "2026-01-25"),
        # Due in 3 days: not reminded that day (nor the next), only 1 day before.
        ("reminder", "2026-01-17", "2026-01-18"),
        # Due tomorrow: the reminder 1 day before was due the day it was posted: none.
        # Due in 10 days: both reminders, on their days.
        ("reminder", "2026-01-22", "2026-01-25"),
        ("reminder", "2026-01-24", "2026-01-25"),
    }
    assert len(emails) == len(by_due)


async def due_of(api: TenantClient, email: dict[str, Any]) -> str:
    charge = (await api.get(f"/v1/charges/{email['charge_id']}")).json()
    return str(charge["due_date"])


async def test_reminders_go_as_before_when_charge_created_is_not_sent(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """Without the charge_created e-mail, the reminder is the only one to tell."""
    settings = {"disabled_kinds": ["charge_created"]}
    assert (await put(api, "/v1/email-settings", settings)).status_code == 200
    customer_id = await new_customer(api, "Bel")
    clock.set(at_noon(DUE))
    charge = {"customer_id": customer_id, "due_date": "2026-01-18"}
    charge["items"] = [{"description": "Avulso", "amount": 5000}]
    assert (await api.post("/v1/charges", charge)).status_code == 201
    await days(database, clock, DUE, DUE)
    assert sent(await emails_of(api, customer_id)) == [("reminder", "2026-01-15")]


async def trial_notice(
    api: TenantClient, database: Database, clock: FrozenClock, name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A 14-day trial from Jan 15 (trial_end, the first paid day, Jan 29), walked to the day
    after: the contract and its one "trial ends soon" e-mail."""
    clock.set(at_noon(DUE))
    customer_id = await new_customer(api, name)
    product = await new_product(api, name="Plano Mensal", amount=10000)
    contract = await post_contract(api, customer_id, [product], trial_days=14)
    assert contract["trial_end"] == "2026-01-29"
    await days(database, clock, DUE, date(2026, 1, 30))
    [notice] = [e for e in await emails_of(api, customer_id) if e["kind"] == "trial_ending"]
    assert notice["created_at"][:10] == "2026-01-26"
    return contract, notice


async def test_the_trial_ending_email_names_the_first_charge_already_issued(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """With the default 10 lead days, the first period's charge (due Jan 29) is issued on
    Jan 19, before the notice of Jan 26: the notice says its number, amount and due date."""
    contract, notice = await trial_notice(api, database, clock, "Teo")
    first = (await charges_of(api, contract["id"]))[0]
    assert (first["period_start"], first["due_date"]) == ("2026-01-29", "2026-01-29")
    body = await email_body(api, notice["id"])
    assert (
        f"A primeira cobrança, nº {first['number']}, no valor de R$ 100,00, já foi emitida e "
        "vence em 29/01/2026." in " ".join(body.split())
    )
    assert notice["charge_id"] == first["id"]
    # The preview of that contract's notice says the same.
    preview = await api.post(
        "/v1/email-templates/trial_ending/preview", {"contract_id": contract["id"]}
    )
    assert preview.status_code == 200, preview.text
    assert f"nº {first['number']}, no valor de R$ 100,00" in preview.json()["text"]


async def test_the_trial_ending_email_says_nothing_of_a_charge_not_issued_yet(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """With 0 lead days the first charge is issued on Jan 29 itself, after the notice."""
    await set_lead_days(api, 0)
    contract, notice = await trial_notice(api, database, clock, "Ivo")
    body = await email_body(api, notice["id"])
    assert "primeira cobrança" not in body
    assert notice["charge_id"] is None
    assert [c["due_date"] for c in await charges_of(api, contract["id"])] == ["2026-01-29"]
    preview = await api.post(
        "/v1/email-templates/trial_ending/preview", {"contract_id": contract["id"]}
    )
    assert preview.status_code == 200, preview.text
    assert "primeira cobrança" in preview.json()["text"]  # issued by now (Jan 30)


async def test_the_first_charge_is_named_once_issued_even_when_paid_ahead(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    clock.set(at_noon(DUE))
    customer_id = await new_customer(api, "Gil")
    product = await new_product(api, name="Plano Mensal", amount=10000)
    contract = await post_contract(api, customer_id, [product], trial_days=14)
    await days(database, clock, DUE, date(2026, 1, 19))
    [first] = await charges_of(api, contract["id"])
    assert (await api.post(f"/v1/charges/{first['id']}/settle", {})).status_code == 200
    await days(database, clock, date(2026, 1, 20), date(2026, 1, 26))
    [notice] = [e for e in await emails_of(api, customer_id) if e["kind"] == "trial_ending"]
    assert notice["charge_id"] == first["id"]
    assert "A primeira cobrança" in await email_body(api, notice["id"])
