"""Cards saved with Asaas, charged from assina through the tenant's Asaas account: the Asaas
stand-in over loopback HTTP, assina served for real so that the stand-in's webhooks reach its
inbound route. Pay-now and the calendar's card step; declines with their code; a payment held
for risk analysis decided by webhook; a tenant that removed its Asaas API key fails cleanly."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from assina.calendar.run import CalendarReport, run_tenant_day
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.events.models import Event
from assina.payments.asaas.adapter import AsaasProvider
from assina.payments.card_schedule import CardRun
from assina.payments.models import CardAttempt
from assina.tenants.clock import calendar_tenant
from tests.conftest import TenantClient
from tests.integration.asaas_adapter_support import (
    PAYER,
    REFUSED_VISA,
    WEBHOOK_TOKEN,
    card,
    use_asaas,
)
from tests.integration.asaas_model import REFUSED_DESCRIPTION
from tests.integration.asaas_standin import AsaasStandin
from tests.integration.charge_support import create_charge, line, read_charge
from tests.integration.payment_support import LiveApp

AMOUNT = 14_990
PAYMENTS = ("POST", "/v3/payments")


@pytest.fixture
def app_settings(app_settings: Settings, asaas_standin: AsaasStandin) -> Settings:
    """assina's Asaas adapter sends its requests to the stand-in (ASSINA_ASAAS_BASE_URL)."""
    return app_settings.model_copy(update={"asaas_base_url": f"{asaas_standin.url}/v3"})


@pytest.fixture(autouse=True)
def _standin_on_the_tests_clock(asaas_standin: AsaasStandin, clock: FrozenClock) -> None:
    """The stand-in's today is assina's (it refuses a due date before its today)."""
    asaas_standin.clock = clock


@dataclass(frozen=True)
class AsaasCards:
    """A live tenant with Asaas on its card rail (the stand-in's webhooks reach its inbound
    route), assina served for real, and the adapter that tokenizes as its front end would."""

    tenant: TenantClient
    live: LiveApp
    database: Database
    clock: FrozenClock
    standin: AsaasStandin
    asaas: AsaasProvider


@pytest.fixture
async def cards(
    api: TenantClient,
    live: LiveApp,
    database: Database,
    clock: FrozenClock,
    asaas_standin: AsaasStandin,
    asaas: AsaasProvider,
) -> AsaasCards:
    tenant = live.as_tenant(api)
    asaas_standin.webhook_url = await use_asaas(tenant, "card")
    asaas_standin.webhook_token = WEBHOOK_TOKEN
    return AsaasCards(tenant, live, database, clock, asaas_standin, asaas)


async def _remove_the_asaas_key(api: TenantClient) -> None:
    body = {"card": {"provider": None}, "asaas": {"api_key": None}}
    saved = await api.http.put("/v1/payment-settings", json=body, headers=api.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["asaas"]["api_key_set"] is False


async def _customer_with_asaas_card(cards: AsaasCards, *, refused: bool = False) -> tuple[str, str]:
    """A customer (with what Asaas asks of a card holder) and their card, tokenized with
    Asaas as the tenant's own front end would and saved in assina with its token. `refused`:
    the issuer refuses every charge of it from then on."""
    api, asaas_standin = cards.tenant, cards.standin
    created = await api.post(
        "/v1/customers",
        {
            "name": PAYER.name,
            "document": PAYER.document,
            "email": PAYER.email,
            "phone": PAYER.phone,
            "address": {"postal_code": PAYER.postal_code, "number": PAYER.address_number},
        },
    )
    assert created.status_code == 201, created.text
    customer_id: str = created.json()["id"]
    token = await cards.asaas.tokenize_card(replace(PAYER, customer_id=customer_id), card())
    if refused:
        kept = asaas_standin.cards[token.token]
        asaas_standin.cards[token.token] = replace(kept, number=REFUSED_VISA)
    saved = await api.post(
        f"/v1/customers/{customer_id}/cards",
        {
            "token": token.token,
            "brand": token.brand.value,
            "last4": token.last4,
            "exp_month": token.exp_month,
            "exp_year": token.exp_year,
        },
    )
    assert saved.status_code == 201, saved.text
    return customer_id, token.token


async def _charge_due_today(api: TenantClient, customer_id: str) -> dict[str, Any]:
    return await create_charge(
        api,
        customer_id,
        items=[line(AMOUNT)],
        due_date="2026-01-15",  # the tests' clock's today in São Paulo
        payment_method="card",
    )


async def _pay(api: TenantClient, charge_id: str) -> dict[str, Any]:
    paid = await api.post(f"/v1/charges/{charge_id}/pay", {})
    assert paid.status_code == 200, paid.text
    answer: dict[str, Any] = paid.json()
    return answer


async def _event_data(database: Database, event_type: str) -> list[dict[str, Any]]:
    async with database.read() as session:
        events = await session.scalars(
            select(Event).where(Event.type == event_type).order_by(Event.sequence)
        )
        return [dict(event.data) for event in events]


async def _attempts(database: Database) -> list[CardAttempt]:
    async with database.read() as session:
        found = list(await session.scalars(select(CardAttempt).order_by(CardAttempt.id)))
        session.expunge_all()
    return found


async def _run_calendar_today(cards: AsaasCards) -> CalendarReport:
    async with cards.database.read() as session:
        tenant = await calendar_tenant(session, cards.tenant.tenant.tenant_id)
    assert tenant is not None
    report = CalendarReport()
    run = CardRun(cards.live.connections, cards.live.base_url)
    clock = tenant.clock(cards.clock)
    await run_tenant_day(cards.database, clock, tenant.id, date(2026, 1, 15), report, cards=run)
    return report


async def test_paying_with_an_asaas_card_settles_the_charge(cards: AsaasCards) -> None:
    tenant, asaas_standin, database = cards.tenant, cards.standin, cards.database
    customer_id, token = await _customer_with_asaas_card(cards)
    charge = await _charge_due_today(tenant, customer_id)

    paid = await _pay(tenant, charge["id"])
    await asaas_standin.webhooks_settled()  # PAYMENT_CONFIRMED reached assina too

    assert paid["attempt"]["status"] == "approved"
    assert (paid["charge"]["status"], paid["charge"]["settled_amount"]) == ("settled", AMOUNT)
    [sent] = asaas_standin.requests_to(*PAYMENTS)
    assert sent.body["billingType"] == "CREDIT_CARD"
    assert (sent.body["creditCardToken"], sent.body["remoteIp"]) == (token, "127.0.0.1")
    assert (sent.body["externalReference"], sent.body["value"]) == (charge["id"], 149.9)
    [payment] = asaas_standin.payments.values()
    assert payment.status == "CONFIRMED"
    assert len(await _event_data(database, "charge.settled")) == 1  # the webhook settles nothing
    assert (await read_charge(tenant, charge["id"]))["settled_amount"] == AMOUNT
    # The webhook is the same payment told again, not money to refund.
    told = (await tenant.get("/v1/inbound-events", params={"charge_id": charge["id"]})).json()
    assert sorted((e["kind"], e["outcome"]) for e in told["data"]) == [
        ("PAYMENT_CREATED", "ignored"),
        ("payment_received", "ignored"),
    ]


async def test_a_declined_asaas_card_raises_card_declined_with_its_code(cards: AsaasCards) -> None:
    tenant, asaas_standin, database = cards.tenant, cards.standin, cards.database
    customer_id, _ = await _customer_with_asaas_card(cards, refused=True)
    charge = await _charge_due_today(tenant, customer_id)

    paid = await _pay(tenant, charge["id"])

    attempt = paid["attempt"]
    assert (attempt["status"], attempt["decline_code"]) == ("declined", "generic_decline")
    assert attempt["message"] == REFUSED_DESCRIPTION
    assert paid["charge"]["status"] == "open"
    [declined] = await _event_data(database, "card.declined")
    assert (declined["charge_id"], declined["attempt"]) == (charge["id"], 1)
    assert declined["decline_code"] == "generic_decline"
    assert asaas_standin.payments == {}  # a refused card leaves no payment


async def test_the_calendar_charges_asaas_cards_due_today(cards: AsaasCards) -> None:
    tenant, asaas_standin, database = cards.tenant, cards.standin, cards.database
    approving, _ = await _customer_with_asaas_card(cards)
    refusing, _ = await _customer_with_asaas_card(cards, refused=True)
    approved = await _charge_due_today(tenant, approving)
    declined = await _charge_due_today(tenant, refusing)

    report = await _run_calendar_today(cards)

    assert (report.cards.attempted, report.cards.approved, report.cards.declined) == (2, 1, 1)
    settled = await read_charge(tenant, approved["id"])
    assert (settled["status"], settled["settled_amount"]) == ("settled", AMOUNT)
    assert (await read_charge(tenant, declined["id"]))["status"] == "open"
    [event] = await _event_data(database, "card.declined")
    assert (event["charge_id"], event["decline_code"]) == (declined["id"], "generic_decline")
    assert len(asaas_standin.requests_to(*PAYMENTS)) == 2


async def test_an_asaas_card_of_a_tenant_without_its_asaas_key_fails_cleanly(
    cards: AsaasCards,
) -> None:
    tenant, asaas_standin, database = cards.tenant, cards.standin, cards.database
    customer_id, _ = await _customer_with_asaas_card(cards)
    charge = await _charge_due_today(tenant, customer_id)
    await _remove_the_asaas_key(tenant)

    now = await tenant.post(f"/v1/charges/{charge['id']}/pay", {})
    assert now.status_code == 422, now.text
    assert now.json()["errors"][0]["field"] == "card_id"
    assert "no Asaas API key" in now.json()["errors"][0]["message"]
    assert await _attempts(database) == []  # nothing begun

    report = await _run_calendar_today(cards)

    assert (report.cards.attempted, report.cards.unanswered) == (1, 1)
    [attempt] = await _attempts(database)
    assert attempt.status == "failed"
    assert attempt.message is not None and "no Asaas API key" in attempt.message
    assert (await read_charge(tenant, charge["id"]))["status"] == "open"
    assert asaas_standin.requests_to(*PAYMENTS) == []


@pytest.mark.parametrize(
    ("decided_by", "charge_status", "attempt_status"),
    [
        ("PAYMENT_CONFIRMED", "settled", "approved"),
        ("PAYMENT_CREDIT_CARD_CAPTURE_REFUSED", "open", "declined"),
        ("PAYMENT_REPROVED_BY_RISK_ANALYSIS", "open", "declined"),
    ],
)
async def test_an_asaas_card_held_for_risk_analysis_is_decided_by_its_webhook(
    cards: AsaasCards,
    decided_by: str,
    charge_status: str,
    attempt_status: str,
) -> None:
    tenant, asaas_standin, database = cards.tenant, cards.standin, cards.database
    customer_id, _ = await _customer_with_asaas_card(cards)
    charge = await _charge_due_today(tenant, customer_id)
    asaas_standin.analysing_cards = True

    paid = await _pay(tenant, charge["id"])
    assert (paid["attempt"]["status"], paid["charge"]["status"]) == ("processing", "open")
    [payment_id] = asaas_standin.payments
    await asaas_standin.decide_analysis(payment_id, event=decided_by)

    assert {delivery.status for delivery in asaas_standin.deliveries} == {200}
    assert (await read_charge(tenant, charge["id"]))["status"] == charge_status
    [attempt] = await _attempts(database)
    assert (attempt.status, attempt.provider_payment_id) == (attempt_status, payment_id)
    declines = await _event_data(database, "card.declined")
    if attempt_status == "declined":
        assert [(d["attempt"], d["decline_code"]) for d in declines] == [(1, "generic_decline")]
    else:
        assert declines == []
        assert len(await _event_data(database, "charge.settled")) == 1
