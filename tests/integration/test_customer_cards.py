"""Customers' saved cards: the sandbox's test cards saved or refused over real HTTP, the
checks before a number leaves assina, tokens (the sandbox's, Asaas's), the default card,
deletion, isolation, and the card number and CVC found nowhere: not in the database (the
SQLite file and its WAL, every text column on both databases), not in the logs, not in a
422. Both databases."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import JSON, String, Text, cast, func, select
from sqlalchemy.engine import make_url

from assina.core.idempotency import IdempotencyKey
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.payments.cards import card_for_charge, card_token
from assina.payments.connections import ProviderConnections
from assina.payments.models import CustomerCard
from assina.payments.providers import CardDetails, Payer, PaymentOrder
from assina.registry import metadata
from assina.rules.cards import DECLINE_MESSAGES, ChargeOutcome, DeclineCode
from tests.assertions import assert_invalid, assert_problem
from tests.conftest import START, TEST_SECRET_KEY, TenantClient
from tests.integration.charge_support import new_customer

APPROVED = "4111111111111111"
CVC = "737"
HOLDER = "ANA SOUZA"
ASAAS_KEY = "$aact_YTU5YTE0M2M2N2I4MTliNzk0YTI5NzJjNzI6OjAwMDAwMDAwMDAwMDAwMDAwMDA6OiRhYWNoXzQ2"


def typed(number: str = APPROVED, **fields: Any) -> dict[str, Any]:
    card = {
        "number": number,
        "exp_month": 12,
        "exp_year": 2030,
        "cvc": CVC,
        "holder_name": HOLDER,
    }
    return card | fields


def cards_url(customer_id: str) -> str:
    return f"/v1/customers/{customer_id}/cards"


async def save(api: TenantClient, customer_id: str, body: dict[str, Any]) -> dict[str, Any]:
    saved = await api.post(cards_url(customer_id), body)
    assert saved.status_code == 201, saved.text
    card: dict[str, Any] = saved.json()
    return card


async def listed(api: TenantClient, customer_id: str) -> list[dict[str, Any]]:
    answer = await api.get(cards_url(customer_id))
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def connections_of(app: FastAPI) -> ProviderConnections:
    connections: ProviderConnections = app.state.provider_connections
    return connections


async def browser_token(app: FastAPI, tenant_id: str, number: str = APPROVED) -> str:
    """A token as the payer's browser gets it: straight from the sandbox provider."""
    client = await connections_of(app).sandbox_client(tenant_id)
    payer = Payer(customer_id="cus_x", name=HOLDER, document=None, email=None)
    kept = await client.tokenize_card(payer, CardDetails(number, 12, 2030, CVC, HOLDER))
    return kept.token


# --- the sandbox's test cards -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "brand", "last4"),
    [
        (APPROVED, "visa", "1111"),
        ("4000 0000 0000 0341", "visa", "0341"),
        ("4000-0000-0000-0259", "visa", "0259"),
    ],
)
async def test_a_test_card_the_sandbox_keeps_is_saved_with_what_may_be_shown_of_it(
    sandbox: TenantClient, number: str, brand: str, last4: str
) -> None:
    customer_id = await new_customer(sandbox)

    card = await save(sandbox, customer_id, typed(number))

    assert card["id"].startswith("card_") and card["object"] == "card"
    assert card["customer_id"] == customer_id
    assert (card["brand"], card["last4"]) == (brand, last4)
    assert (card["exp_month"], card["exp_year"]) == (12, 2030)
    assert card["default"] is True
    assert card["created_at"] == START.isoformat().replace("+00:00", "Z")
    assert await listed(sandbox, customer_id) == [card]
    assert (await sandbox.get(f"{cards_url(customer_id)}/{card['id']}")).json() == card


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4000000000000002", DeclineCode.GENERIC_DECLINE),
        ("4000000000009995", DeclineCode.INSUFFICIENT_FUNDS),
        ("4000000000000069", DeclineCode.EXPIRED_CARD),
    ],
)
async def test_a_test_card_the_sandbox_refuses_to_keep_is_a_422_with_its_decline_code(
    sandbox: TenantClient, number: str, code: DeclineCode, database: Database
) -> None:
    customer_id = await new_customer(sandbox)

    refused = await sandbox.post(cards_url(customer_id), typed(number))

    body = assert_problem(refused, 422, "card-declined")
    assert body["decline_code"] == code.value
    assert body["detail"] == DECLINE_MESSAGES[code]
    assert number not in refused.text
    assert await listed(sandbox, customer_id) == []
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(CustomerCard)) == 0


@pytest.mark.parametrize(
    ("number", "outcome"),
    [(APPROVED, ChargeOutcome.APPROVED), ("4000000000000341", ChargeOutcome.DECLINED)],
)
async def test_a_saved_card_s_token_charges_as_its_test_card(
    sandbox: TenantClient,
    app: FastAPI,
    database: Database,
    secret_box: SecretBox,
    number: str,
    outcome: ChargeOutcome,
) -> None:
    """What the lead's card attempts will do: the card found for a charge, its token opened,
    and the sandbox charging it as the test card behaves."""
    customer_id = await new_customer(sandbox)
    saved = await save(sandbox, customer_id, typed(number))
    async with database.read() as session:
        card = await card_for_charge(session, sandbox.tenant.tenant_id, customer_id, None)
        card_id, token = card.id, card_token(secret_box, card)
    client = await connections_of(app).sandbox_client(sandbox.tenant.tenant_id)
    order = PaymentOrder(
        charge_id="chg_test",
        charge_number=1,
        payer=Payer(customer_id=customer_id, name=HOLDER, document=None, email=None),
        amount=1000,
        due_date=date(2026, 1, 15),
        description="Aula",
        idempotency_key=f"attempt-{number}",
        requested_at=START,
    )

    attempt = await client.charge_card(order, token)

    assert card_id == saved["id"]
    assert attempt.outcome == outcome


# --- checks before the number leaves assina ---------------------------------------------------

BAD_CARDS = [
    pytest.param(typed("4111111111111112"), "number", id="luhn"),
    pytest.param(typed("4111 1111"), "number", id="too-short"),
    pytest.param(typed("4111111111111111x"), "number", id="not-digits"),
    pytest.param(typed(exp_month=13), "exp_month", id="month-13"),
    pytest.param(typed(exp_month=0), "exp_month", id="month-0"),
    pytest.param(typed(exp_month=12, exp_year=2025), "exp_year", id="expired"),
    pytest.param(typed(exp_year=30), "exp_year", id="two-digit-year"),
    pytest.param(typed(cvc="73"), "cvc", id="cvc-short"),
    pytest.param(typed(cvc="73777"), "cvc", id="cvc-long"),
    pytest.param(typed(cvc="7a7"), "cvc", id="cvc-letters"),
    pytest.param(typed(holder_name="   "), "holder_name", id="holder-blank"),
    pytest.param({k: v for k, v in typed().items() if k != "cvc"}, "body", id="no-cvc"),
    pytest.param(typed(token="tok_sbx_approved_x"), "body", id="token-and-number"),
    pytest.param(typed(last4="1111"), "body", id="last4-with-number"),
    pytest.param({}, "body", id="empty"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CARDS)
async def test_a_card_that_fails_a_check_is_a_422_naming_the_field_never_its_value(
    sandbox: TenantClient, body: dict[str, Any], field: str
) -> None:
    customer_id = await new_customer(sandbox)

    refused = await sandbox.post(cards_url(customer_id), body)

    assert_invalid(refused, field)
    assert "4111111111111111" not in refused.text and "4111111111111112" not in refused.text
    assert "737" not in refused.text
    assert await listed(sandbox, customer_id) == []


async def test_expiry_is_judged_by_the_tenant_s_today_on_its_test_clock(
    sandbox: TenantClient,
) -> None:
    """On 2026-01-15 a card valid through January 2026 is saved; once the sandbox tenant's
    test clock reads February, it is expired (the sandbox provider itself still lives in
    January: the check is assina's)."""
    customer_id = await new_customer(sandbox)
    assert (await save(sandbox, customer_id, typed(exp_month=1, exp_year=2026)))["last4"]
    advanced = await sandbox.post("/v1/test-clock/advance", {"to": "2026-02-01T12:00:00Z"})
    assert advanced.status_code == 200, advanced.text

    refused = await sandbox.post(cards_url(customer_id), typed(exp_month=1, exp_year=2026))

    assert_invalid(refused, "exp_year")


async def test_a_live_tenant_without_a_card_provider_saves_no_card(api: TenantClient) -> None:
    customer_id = await new_customer(api)

    by_number = await api.post(cards_url(customer_id), typed())
    by_token = await api.post(cards_url(customer_id), {"token": "tok_whatever"})

    assert_problem(by_number, 422, "no-card-provider")
    assert_problem(by_token, 422, "no-card-provider")
    assert APPROVED not in by_number.text


# --- tokens -----------------------------------------------------------------------------------


async def test_a_sandbox_token_from_the_payer_s_browser_is_saved_with_what_it_tells(
    sandbox: TenantClient, app: FastAPI, database: Database, secret_box: SecretBox
) -> None:
    customer_id = await new_customer(sandbox)
    token = await browser_token(app, sandbox.tenant.tenant_id, "4000000000000341")

    card = await save(sandbox, customer_id, {"token": token})

    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == (
        "visa",
        "0341",
        12,
        2030,
    )
    async with database.read() as session:
        row = await session.get(CustomerCard, card["id"])
        assert row is not None and row.provider == "sandbox"
        assert token not in row.token_sealed and card_token(secret_box, row) == token
        assert row.saved_from_ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token": "tok_live_123"}, "token"),  # not the sandbox's
        ({"token": "tok_sbx_approved_0123abcd"}, "token"),  # the sandbox made no such token
        ({"token": "tok_sbx_approved_visa.1111.132030.ab"}, "token"),  # month 13
        ({"token": "tok_sbx_approved_visa.1111.122030.ab", "last4": "4242"}, "last4"),
        ({"token": "tok_sbx_approved_visa.1111.122025.ab"}, "exp_year"),  # expired
        ({"token": "tok sbx"}, "token"),
    ],
)
async def test_a_sandbox_token_that_tells_no_card_is_a_422(
    sandbox: TenantClient, body: dict[str, Any], field: str
) -> None:
    customer_id = await new_customer(sandbox)

    refused = await sandbox.post(cards_url(customer_id), body)

    assert_invalid(refused, field)
    assert await listed(sandbox, customer_id) == []


async def _use_asaas(api: TenantClient) -> None:
    body = {"card": {"provider": "asaas"}, "asaas": {"api_key": ASAAS_KEY}}
    answer = await api.http.put("/v1/payment-settings", json=body, headers=api.headers)
    assert answer.status_code == 200, answer.text


ASAAS_CARD = {
    "token": "76496073-3c9d-4b7e-9a3b-0f5c2d1e8a41",
    "brand": "mastercard",
    "last4": "4444",
    "exp_month": 5,
    "exp_year": 2031,
}


async def test_an_asaas_token_is_saved_with_the_brand_last4_and_expiry_sent(
    api: TenantClient, database: Database, secret_box: SecretBox
) -> None:
    await _use_asaas(api)
    customer_id = await new_customer(api)

    card = await save(api, customer_id, ASAAS_CARD)
    by_number = await api.post(cards_url(customer_id), typed())

    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == (
        "mastercard",
        "4444",
        5,
        2031,
    )
    async with database.read() as session:
        row = await session.get(CustomerCard, card["id"])
        assert row is not None and row.provider == "asaas"
        assert card_token(secret_box, row) == ASAAS_CARD["token"]
    body = assert_invalid(by_number, "number")
    assert "never reaches assina outside the sandbox" in body["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"brand": None}, "brand"),
        ({"last4": None}, "last4"),
        ({"last4": "44a4"}, "last4"),
        ({"brand": "visa electron"}, "brand"),
        ({"exp_year": None}, "exp_month"),
        ({"exp_month": 12, "exp_year": 2025}, "exp_year"),
    ],
)
async def test_an_asaas_token_without_what_may_be_shown_of_its_card_is_a_422(
    api: TenantClient, change: dict[str, Any], field: str
) -> None:
    await _use_asaas(api)
    customer_id = await new_customer(api)
    body = {k: v for k, v in (ASAAS_CARD | change).items() if v is not None}

    assert_invalid(await api.post(cards_url(customer_id), body), field)


# --- the default card, deletion ---------------------------------------------------------------


async def _defaults(api: TenantClient, customer_id: str) -> list[str]:
    return [card["last4"] for card in await listed(api, customer_id) if card["default"]]


async def test_the_first_card_is_the_default_and_default_true_moves_it(
    sandbox: TenantClient,
) -> None:
    customer_id = await new_customer(sandbox)
    first = await save(sandbox, customer_id, typed("4000000000000259", default=False))
    second = await save(sandbox, customer_id, typed(APPROVED))
    assert (first["default"], second["default"]) == (True, False)

    third = await save(sandbox, customer_id, typed("4000000000000341", default=True))

    assert third["default"] is True
    assert [c["id"] for c in await listed(sandbox, customer_id)] == [
        first["id"],
        second["id"],
        third["id"],
    ]
    assert await _defaults(sandbox, customer_id) == ["0341"]

    chosen = await sandbox.post(f"{cards_url(customer_id)}/{second['id']}/default")
    again = await sandbox.post(f"{cards_url(customer_id)}/{second['id']}/default")

    assert chosen.status_code == again.status_code == 200, chosen.text
    assert chosen.json()["default"] is True and again.json() == chosen.json()
    assert await _defaults(sandbox, customer_id) == ["1111"]


async def test_deleting_the_default_makes_the_newest_card_left_the_default(
    sandbox: TenantClient, database: Database
) -> None:
    customer_id = await new_customer(sandbox)
    oldest = await save(sandbox, customer_id, typed("4000000000000259"))
    middle = await save(sandbox, customer_id, typed(APPROVED))
    newest = await save(sandbox, customer_id, typed("4000000000000341"))
    await sandbox.post(f"{cards_url(customer_id)}/{middle['id']}/default")

    gone = await sandbox.delete(f"{cards_url(customer_id)}/{middle['id']}")

    assert gone.status_code == 200, gone.text
    assert gone.json() == middle | {"default": True}  # the card as it was
    assert [c["id"] for c in await listed(sandbox, customer_id)] == [oldest["id"], newest["id"]]
    assert await _defaults(sandbox, customer_id) == ["0341"]
    assert_problem(await sandbox.get(f"{cards_url(customer_id)}/{middle['id']}"), 404)
    assert_problem(await sandbox.delete(f"{cards_url(customer_id)}/{middle['id']}"), 404)
    assert_problem(await sandbox.post(f"{cards_url(customer_id)}/{middle['id']}/default"), 404)
    async with database.read() as session:
        row = await session.get(CustomerCard, middle["id"])
        assert row is not None and row.deleted_at is not None  # soft: attempts still name it

    # A card that is not the default goes without moving it; the last one leaves none.
    await sandbox.delete(f"{cards_url(customer_id)}/{oldest['id']}")
    assert await _defaults(sandbox, customer_id) == ["0341"]
    await sandbox.delete(f"{cards_url(customer_id)}/{newest['id']}")
    assert await listed(sandbox, customer_id) == []


async def test_the_card_for_a_charge_is_the_one_named_else_the_default(
    sandbox: TenantClient, database: Database
) -> None:
    customer_id = await new_customer(sandbox)
    other_customer = await new_customer(sandbox, "Bia")
    tenant_id = sandbox.tenant.tenant_id
    first = await save(sandbox, customer_id, typed("4000000000000259"))
    second = await save(sandbox, customer_id, typed(APPROVED))
    stranger = await save(sandbox, other_customer, typed(APPROVED))

    async with database.read() as session:
        named = (await card_for_charge(session, tenant_id, customer_id, second["id"])).id
        default = (await card_for_charge(session, tenant_id, customer_id, None)).id
        with pytest.raises(Exception, match="card_id") as not_theirs:
            await card_for_charge(session, tenant_id, customer_id, stranger["id"])
    await sandbox.delete(f"{cards_url(customer_id)}/{first['id']}")
    await sandbox.delete(f"{cards_url(customer_id)}/{second['id']}")
    async with database.read() as session:
        with pytest.raises(Exception, match="card_id") as no_card:
            await card_for_charge(session, tenant_id, customer_id, None)

    assert named == second["id"] and default == first["id"]
    assert getattr(not_theirs.value, "status", None) == 422
    assert getattr(no_card.value, "status", None) == 422
    assert "has no card" in str(no_card.value)


# --- isolation --------------------------------------------------------------------------------


async def test_another_tenant_s_customer_and_cards_are_404(
    sandbox: TenantClient, other_api: TenantClient
) -> None:
    customer_id = await new_customer(sandbox)
    card = await save(sandbox, customer_id, typed())
    one = f"{cards_url(customer_id)}/{card['id']}"

    answers = [
        await other_api.post(cards_url(customer_id), typed()),
        await other_api.post(cards_url(customer_id), {"token": "tok_sbx_approved_x"}),
        await other_api.get(cards_url(customer_id)),
        await other_api.get(one),
        await other_api.delete(one),
        await other_api.post(f"{one}/default"),
        await sandbox.post(cards_url("cus_missing"), typed()),
        await sandbox.get(cards_url("cus_missing")),
    ]

    for answer in answers:
        assert_problem(answer, 404)
    assert await listed(sandbox, customer_id) == [card]


async def test_a_card_is_found_only_under_its_own_customer(sandbox: TenantClient) -> None:
    owner = await new_customer(sandbox)
    other = await new_customer(sandbox, "Bia")
    card = await save(sandbox, owner, typed())

    assert_problem(await sandbox.get(f"{cards_url(other)}/{card['id']}"), 404)
    assert_problem(await sandbox.delete(f"{cards_url(other)}/{card['id']}"), 404)
    assert await listed(sandbox, other) == []


# --- the number and the CVC are never kept ----------------------------------------------------


def _text_columns() -> list[tuple[str, str]]:
    return [
        (table.name, column.name)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | Text | JSON)
    ]


async def _columns_holding(database: Database, needle: str) -> list[str]:
    """Every (table.column) of every table whose stored text contains `needle`."""
    found = []
    async with database.read() as session:
        for table_name, column_name in _text_columns():
            column = metadata.tables[table_name].columns[column_name]
            count = await session.scalar(
                select(func.count())
                .select_from(column.table)
                .where(cast(column, Text).contains(needle, autoescape=True))
            )
            if count:
                found.append(f"{table_name}.{column_name}")
    return found


def _sqlite_bytes(db_url: str) -> bytes:
    path = Path(str(make_url(db_url).database))
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(file.read_bytes() for file in files if file.exists())


async def test_the_card_number_and_cvc_are_stored_nowhere_and_logged_never(
    sandbox: TenantClient,
    app: FastAPI,
    database: Database,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    customer_id = await new_customer(sandbox)
    body = typed(APPROVED, cvc=CVC)
    headers = {"Idempotency-Key": "save-card-1"}

    first = await sandbox.post(cards_url(customer_id), body, headers=headers)
    replay = await sandbox.post(cards_url(customer_id), body, headers=headers)
    refused = await sandbox.post(cards_url(customer_id), typed("4111111111111112"))
    await connections_of(app).sandbox.notifications_settled()

    assert first.status_code == 201, first.text
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    assert_invalid(refused, "number")
    assert "4111111111111112" not in refused.text
    token = await _stored_token(database)
    # `"cvc"` as a JSON key: a bare "cvc" also turns up inside random ids and tokens.
    for needle in (APPROVED, "4111111111111112", '"737"', '"cvc"', "tok_sbx_", token):
        assert await _columns_holding(database, needle) == [], needle
    # The search finds what is stored: the last 4 digits are.
    assert "customer_cards.last4" in await _columns_holding(database, "1111")
    # The idempotency key keeps a keyed hash of the body, not one anyone can recompute.
    async with database.read() as session:
        key = await session.get(IdempotencyKey, (sandbox.tenant.tenant_id, "save-card-1"))
        assert key is not None and key.fingerprint != _unkeyed_fingerprint(customer_id, body)
    if db_url.startswith("sqlite"):
        stored = _sqlite_bytes(db_url)
        assert b"customer_cards" in stored and len(stored) > 0
        for raw in (APPROVED.encode(), b'"737"', b"cvc", b"tok_sbx_", token.encode()):
            assert raw not in stored, raw
    messages = [record.getMessage() + repr(record.args) for record in caplog.records]
    assert messages, "nothing was logged: the check saw nothing"
    for needle in (APPROVED, "4111111111111112", '"737"', "'737'", "cvc", token):
        assert not [m for m in messages if needle in m], needle


async def _stored_token(database: Database) -> str:
    """The token opened (what must not be found in plain text anywhere)."""
    async with database.read() as session:
        card = (await session.scalars(select(CustomerCard))).one()
        return card_token(SecretBox(TEST_SECRET_KEY), card)


def _unkeyed_fingerprint(customer_id: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (b"POST", cards_url(customer_id).encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
