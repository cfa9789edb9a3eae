"""The customer's payment page, `/pay/{token}`: reached with the charge's `payment_url` and no
API key; amount, fees due today, PIX and boleto; a settled or cancelled charge says so; a bad
token is a 404 page; the sandbox card form saves a card and makes one attempt now."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from assina.charges.links import DEFAULT_BASE_URL, payment_links_for
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.events.models import Event
from assina.notifications.models import Email, EmailKind
from assina.payments.models import CardAttempt, CustomerCard
from assina.rules.pix import pix_qr_svg
from tests.conftest import TenantClient
from tests.integration.charge_support import PIX_SETTINGS, create_charge, line, read_charge
from tests.integration.email_support import send_due
from tests.integration.payment_support import LiveApp

APPROVED = "4111111111111111"
ALWAYS_DECLINED = "4000000000000341"  # saved, every charge declined
REFUSED_WHEN_SAVED = "4000000000000002"
CARD_FORM = {"exp_month": "12", "exp_year": "2030", "cvc": "123", "holder_name": "ANA SOUZA"}


async def _settings(api: TenantClient, **extra: Any) -> None:
    body = {**PIX_SETTINGS, **extra}
    response = await api.http.put("/v1/billing-settings", json=body, headers=api.headers)
    assert response.status_code == 200, response.text


def _path(charge: dict[str, Any]) -> str:
    url = charge["payment_url"]
    assert url.startswith(f"{DEFAULT_BASE_URL}/pay/{charge['id']}."), url
    return urlsplit(url).path


async def _page(http: httpx.AsyncClient, charge: dict[str, Any]) -> httpx.Response:
    """The page as the customer opens it: no Authorization header."""
    return await http.get(_path(charge))


async def _events(database: Database, event_type: str) -> list[Event]:
    async with database.read() as session:
        found = (await session.scalars(select(Event).where(Event.type == event_type))).all()
        session.expunge_all()
    return list(found)


async def test_the_page_shows_the_amount_pix_and_boleto(sandbox: TenantClient) -> None:
    await _settings(sandbox)
    charge = await create_charge(sandbox, items=[line(12345)], due_date="2026-02-10")
    instructions = charge["payment_instructions"]
    assert instructions["pix_code"] and instructions["boleto_line"]

    page = await _page(sandbox.http, charge)

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "Sandbox Alfa" in html and f"Cobrança nº {charge['number']}" in html
    assert "R$ 123,45" in html and "10/02/2026" in html and "Aula" in html
    assert instructions["pix_code"] in html
    assert pix_qr_svg(instructions["pix_code"]) in html  # the QR inline, as the API draws it
    assert instructions["boleto_line"] in html
    assert f"{_path(charge)}/boleto.pdf" in html
    assert 'action="' + _path(charge) + '/card"' in html  # a sandbox tenant: the card form
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # no external asset
    pdf = await sandbox.http.get(f"{_path(charge)}/boleto.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.content == (await sandbox.get(f"/v1/charges/{charge['id']}/boleto.pdf")).content


async def test_the_charge_e_mail_carries_the_link(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer = await api.post("/v1/customers", {"name": "Ana", "email": "ana@example.com"})
    charge = await create_charge(api, customer.json()["id"], due_date="2026-02-10")

    [email] = await _emails(database, clock, EmailKind.CHARGE_CREATED)

    assert charge["payment_url"] in email.text_body
    assert f'href="{charge["payment_url"]}"' in email.html_body


async def test_an_overdue_charge_shows_the_fees_owed_today(sandbox: TenantClient) -> None:
    # Today is 2026-01-15 in São Paulo: 10 days late. Fine 2 % of 300,00 = 6,00; interest
    # 3 % a month for 10 of 30 days = 3,00.
    await _settings(sandbox, fine_percent=2, monthly_interest_percent=3)
    charge = await create_charge(sandbox, items=[line(30000)], due_date="2026-01-05")

    html = (await _page(sandbox.http, charge)).text

    assert "Vencida em 05/01/2026" in html
    assert "Multa por atraso</span><b>R$ 6,00" in html
    assert "Juros até hoje</span><b>R$ 3,00" in html
    assert "Total para pagar hoje</span><b>R$ 309,00" in html
    assert "R$ 300,00" in html


async def test_a_live_tenant_has_the_page_without_a_card_form(api: TenantClient) -> None:
    await _settings(api)
    charge = await create_charge(api, due_date="2026-02-10")

    page = await _page(api.http, charge)

    assert page.status_code == 200
    assert charge["payment_instructions"]["pix_code"] in page.text
    assert "/card" not in page.text and "boleto.pdf" not in page.text
    posted = await api.http.post(f"{_path(charge)}/card", data={"number": APPROVED, **CARD_FORM})
    assert posted.status_code == 404


async def test_a_bad_token_is_a_404_page(api: TenantClient) -> None:
    charge = await create_charge(api)
    path = _path(charge)
    token = path.rsplit("/", 1)[1]
    mac = token.rsplit(".", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    other_key = payment_links_for(SecretBox("another-secret-key"), None).token(charge["id"])
    other_charge = f"chg_01JQ8X7E8F9G0H1J2K3M4N5P6Q.{mac}"

    assert other_key != token  # another ASSINA_SECRET_KEY makes other links
    for bad in (tampered, other_key, other_charge, charge["id"], "x" * 200, "a.b"):
        page = await api.http.get(f"/pay/{bad}")
        assert page.status_code == 404, bad
        assert "Link de pagamento inválido" in page.text
        assert charge["id"] not in page.text
    pdf = await api.http.get(f"/pay/{tampered}/boleto.pdf")
    assert pdf.status_code == 404


async def test_a_settled_charge_says_when_it_was_paid(sandbox: TenantClient) -> None:
    await _settings(sandbox)
    charge = await create_charge(sandbox, due_date="2026-02-10")
    settled = await sandbox.post(f"/v1/charges/{charge['id']}/settle", {})
    assert settled.status_code == 200 and settled.json()["payment_url"] is None

    html = (await _page(sandbox.http, charge)).text

    assert "Pago em 15/01/2026" in html and "R$ 100,00" in html
    assert charge["payment_instructions"]["pix_code"] not in html
    assert charge["payment_instructions"]["boleto_line"] not in html
    assert "/card" not in html


async def test_an_invalidated_charge_is_no_longer_due(sandbox: TenantClient) -> None:
    charge = await create_charge(sandbox, due_date="2026-02-10")
    invalidated = await sandbox.post(f"/v1/charges/{charge['id']}/invalidate", {})
    assert invalidated.status_code == 200 and invalidated.json()["payment_url"] is None

    html = (await _page(sandbox.http, charge)).text

    assert "Esta cobrança foi cancelada" in html and "não precisa mais ser paga" in html
    assert charge["payment_instructions"]["boleto_line"] not in html
    reopened = await sandbox.post(f"/v1/charges/{charge['id']}/reactivate", {})
    assert reopened.json()["payment_url"] == charge["payment_url"]  # the same link again


# --- the sandbox card form --------------------------------------------------------------------


async def _pay_by_form(live: LiveApp, charge: dict[str, Any], number: str) -> httpx.Response:
    return await live.http.post(f"{_path(charge)}/card", data={"number": number, **CARD_FORM})


async def _emails(database: Database, clock: FrozenClock, kind: EmailKind) -> list[Email]:
    """The outbox's e-mails of the kind, once sent: rendered when sent (docs/emails.md)."""
    await send_due(database, clock)
    async with database.read() as session:
        found = (await session.scalars(select(Email).where(Email.kind == kind))).all()
        session.expunge_all()
    return list(found)


async def _cards(database: Database) -> list[CustomerCard]:
    async with database.read() as session:
        found = (await session.scalars(select(CustomerCard))).all()
        session.expunge_all()
    return list(found)


async def test_an_approved_card_pays_the_charge(
    sandbox: TenantClient, live: LiveApp, database: Database
) -> None:
    api = live.as_tenant(sandbox)
    charge = await create_charge(api, items=[line(15000)], due_date="2026-02-10")

    answer = await _pay_by_form(live, charge, "4111 1111 1111 1111")

    assert answer.status_code == 200, answer.text
    assert "Aprovado" in answer.text and "Pago em 15/01/2026" in answer.text
    settled = await read_charge(api, charge["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", 15000)
    [card] = await _cards(database)
    assert (card.customer_id, card.last4, card.is_default) == (charge["customer_id"], "1111", True)
    assert APPROVED not in card.token_sealed and card.saved_from_ip == "127.0.0.1"
    again = await _pay_by_form(live, charge, APPROVED)
    assert again.status_code == 404  # settled: no card form any more


async def test_a_declined_card_raises_card_declined(
    sandbox: TenantClient, live: LiveApp, database: Database, clock: FrozenClock
) -> None:
    api = live.as_tenant(sandbox)
    customer = await api.post("/v1/customers", {"name": "Ana", "email": "ana@example.com"})
    charge = await create_charge(
        api, customer.json()["id"], items=[line(15000)], due_date="2026-02-10"
    )

    answer = await _pay_by_form(live, charge, ALWAYS_DECLINED)

    assert answer.status_code == 200, answer.text
    assert "Recusado" in answer.text
    assert "Cartão recusado pelo emissor" in answer.text
    assert 'action="' + _path(charge) + '/card"' in answer.text  # try another card
    assert (await read_charge(api, charge["id"]))["status"] == "open"
    [declined] = await _events(database, "card.declined")
    assert declined.data["charge_id"] == charge["id"]
    assert (declined.data["attempt"], declined.data["decline_code"]) == (1, "generic_decline")
    assert declined.data["card"]["last4"] == "0341"
    # The customer is e-mailed the page's link, to update the card or pay another way.
    [email] = await _emails(database, clock, EmailKind.CARD_DECLINED)
    assert (email.charge_id, email.to_address) == (charge["id"], "ana@example.com")
    assert charge["payment_url"] in email.text_body
    assert f'href="{charge["payment_url"]}"' in email.html_body
    assert "final 0341" in email.text_body and "Cartão recusado pelo emissor" in email.text_body


async def test_a_card_the_gateway_will_not_keep_is_refused_before_any_attempt(
    sandbox: TenantClient, live: LiveApp, database: Database
) -> None:
    api = live.as_tenant(sandbox)
    charge = await create_charge(api, due_date="2026-02-10")

    refused = await _pay_by_form(live, charge, REFUSED_WHEN_SAVED)
    mistyped = await _pay_by_form(live, charge, "4111111111111112")
    expired = await live.http.post(
        f"{_path(charge)}/card", data={"number": APPROVED, **CARD_FORM, "exp_year": "2025"}
    )

    assert (refused.status_code, mistyped.status_code, expired.status_code) == (422, 422, 422)
    assert "Cartão recusado pelo emissor" in refused.text
    assert "Número de cartão inválido" in mistyped.text
    assert "Cartão vencido" in expired.text
    assert await _cards(database) == []
    async with database.read() as session:
        assert (await session.scalars(select(CardAttempt))).all() == []
    assert (await read_charge(api, charge["id"]))["status"] == "open"
