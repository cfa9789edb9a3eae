"""The tenant's payment settings over HTTP (issue 15): each mode's defaults, PUT replacing the
whole, every refusal changing nothing, the Asaas secrets write-only and stored sealed, and the
inbound URLs with the lookup of a tenant by its inbound token. Both databases."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.payment_settings.service import tenant_for_inbound_token
from assina.secret_rotation import reseal_everything
from tests.assertions import assert_invalid, iso
from tests.conftest import TEST_SECRET_KEY, UNEMPTIED_BURST, TenantClient
from tests.integration.charge_support import state

URL = "/v1/payment-settings"
BASE = "http://assina.test"  # the test client's base URL
API_KEY = "$aact_YTU5YTE0M2M2N2I4MTliNzk0YTI5NzJjNzI6OjAwMDAwMDAwMDAwMDAwMDAwMDA6OiRhYWNoXzQ2"
OTHER_API_KEY = "$aact_other-key-0000000000000000000000000000000000009876"
WEBHOOK_TOKEN = "whtok-asaas-5e1d7a0c9b2f4e3a"
SANDBOX_BANK = {
    "code": "001",
    "agreement": "1234567",
    "wallet": "17",
    "agency": None,
    "account": None,
}
NO_ASAAS = {
    "environment": "sandbox",
    "api_key_set": False,
    "api_key_last4": None,
    "webhook_token_set": False,
}
LIVE_DEFAULTS = {
    "object": "payment_settings",
    "card": {"provider": None, "retry_days": [1, 3, 5]},
    "boleto": {"provider": None, "bank": None},
    "pix": {"provider": None},
    "asaas": NO_ASAAS,
}
SANDBOX_DEFAULTS = {
    **LIVE_DEFAULTS,
    "card": {"provider": "sandbox", "retry_days": [1, 3, 5]},
    "boleto": {"provider": "sandbox", "bank": SANDBOX_BANK},
    "pix": {"provider": "sandbox"},
}
SANDBOX_ONLY = "the sandbox providers serve sandbox tenants only"


async def read(api: TenantClient) -> dict[str, Any]:
    response = await api.get(URL)
    assert response.status_code == 200, response.text
    settings: dict[str, Any] = response.json()
    return settings


async def put(api: TenantClient, body: object, key: str | None = None) -> dict[str, Any]:
    headers = {**api.headers, **({"Idempotency-Key": key} if key else {})}
    response = await api.http.put(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    settings: dict[str, Any] = response.json()
    return settings


def without_inbound(settings: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in settings.items() if name not in ("inbound",)}


def tokens_of(settings: dict[str, Any], base: str = BASE) -> dict[str, str]:
    """Each provider's inbound token, checking the URL is `{base}/v1/inbound/{provider}/…`."""
    tokens = {}
    for inbound in settings["inbound"]:
        prefix = f"{base}/v1/inbound/{inbound['provider']}/"
        assert inbound["url"].startswith(prefix), inbound
        tokens[inbound["provider"]] = inbound["url"].removeprefix(prefix)
    assert list(tokens) == ["sandbox", "asaas"]
    return tokens


async def table_text(database: Database, table: str) -> str:
    """Every stored value of `table` as one string: what a reader of the file would see."""
    async with database.read() as session:
        rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
    assert rows, f"{table} is empty: nothing was checked"
    return repr([tuple(row) for row in rows])


# --- defaults and the round trip --------------------------------------------------------------


async def test_a_live_tenant_has_no_provider(api: TenantClient) -> None:
    settings = await read(api)
    assert without_inbound(settings) == {**LIVE_DEFAULTS, "updated_at": None}
    tokens = tokens_of(settings)
    assert all(len(token) == 43 for token in tokens.values())  # 32 bytes in urlsafe base64


async def test_a_sandbox_tenant_pays_through_the_sandbox(sandbox: TenantClient) -> None:
    settings = await read(sandbox)
    assert without_inbound(settings) == {**SANDBOX_DEFAULTS, "updated_at": None}


async def test_put_round_trip_then_replaces_the_whole(
    sandbox: TenantClient, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=2))
    bank = {
        "code": "001",
        "agreement": "123456",
        "wallet": "18",
        "agency": "1234",
        "account": "5678",
    }
    body = {
        "card": {"provider": "asaas", "retry_days": [2, 4, 8, 16, 29, 30]},
        "boleto": {"provider": "sandbox", "bank": bank},
        "pix": {"provider": None},
        "asaas": {"environment": "production", "api_key": API_KEY, "webhook_token": WEBHOOK_TOKEN},
    }
    answered = await put(sandbox, body)
    expected = {
        "object": "payment_settings",
        "card": body["card"],
        "boleto": body["boleto"],
        "pix": {"provider": None},
        "asaas": {
            "environment": "production",
            "api_key_set": True,
            "api_key_last4": API_KEY[-4:],
            "webhook_token_set": True,
        },
        "updated_at": iso(clock.now()),
    }
    assert without_inbound(answered) == expected
    assert await read(sandbox) == answered

    # Everything left out takes the sandbox tenant's default; the secrets are kept.
    clock.advance(timedelta(days=1))
    replaced = await put(sandbox, {"card": {"retry_days": []}})
    assert without_inbound(replaced) == {
        **SANDBOX_DEFAULTS,
        "card": {"provider": "sandbox", "retry_days": []},
        "asaas": expected["asaas"] | {"environment": "sandbox"},
        "updated_at": iso(clock.now()),
    }
    assert replaced["inbound"] == answered["inbound"]


async def test_a_live_tenant_uses_asaas_with_its_own_bank(api: TenantClient) -> None:
    body = {
        "card": {"provider": "asaas"},
        "boleto": {
            "provider": "asaas",
            "bank": {"code": "001", "agreement": "12345678", "wallet": "7"},
        },
        "pix": {"provider": "asaas"},
        "asaas": {"api_key": API_KEY},
    }
    answered = await put(api, body)
    assert [answered[rail]["provider"] for rail in ("card", "boleto", "pix")] == ["asaas"] * 3
    assert answered["boleto"]["bank"] == {**SANDBOX_BANK, "agreement": "12345678", "wallet": "7"}
    assert answered["asaas"]["webhook_token_set"] is False
    assert await read(api) == answered


async def test_settings_belong_to_one_tenant_and_raise_no_event(
    api: TenantClient, other_api: TenantClient
) -> None:
    await put(api, {"card": {"provider": "asaas"}, "asaas": {"api_key": API_KEY}})
    assert without_inbound(await read(other_api)) == {**LIVE_DEFAULTS, "updated_at": None}
    assert (await api.get("/v1/events")).json()["data"] == []


async def test_the_settings_need_a_key(api: TenantClient) -> None:
    assert (await api.http.get(URL)).status_code == 401
    assert (await api.http.put(URL, json={})).status_code == 401


# --- refusals ---------------------------------------------------------------------------------

BAD_BODIES = [
    # The sandbox serves sandbox tenants only (the `api` tenant is live).
    ({"card": {"provider": "sandbox"}}, "card.provider", SANDBOX_ONLY),
    ({"pix": {"provider": "sandbox"}}, "pix.provider", SANDBOX_ONLY),
    ({"boleto": {"provider": "sandbox", "bank": SANDBOX_BANK}}, "boleto.provider", SANDBOX_ONLY),
    # Asaas with no API key stored or given, or with the key removed.
    ({"pix": {"provider": "asaas"}}, "pix.provider", "API key"),
    ({"boleto": {"provider": "asaas"}, "asaas": {"api_key": None}}, "boleto.provider", "API key"),
    # Retry days: 0 to 6, each 1 to 30, strictly increasing.
    ({"card": {"retry_days": [1, 2, 3, 4, 5, 6, 7]}}, "card.retry_days", None),
    ({"card": {"retry_days": [3, 2]}}, "card.retry_days", "strictly increasing"),
    ({"card": {"retry_days": [2, 2]}}, "card.retry_days", "strictly increasing"),
    ({"card": {"retry_days": [0]}}, "card.retry_days.0", None),
    ({"card": {"retry_days": [1, 31]}}, "card.retry_days.1", None),
    ({"card": {"retry_days": ["1"]}}, "card.retry_days.0", None),
    ({"card": {"retry_days": None}}, "card.retry_days", None),
    # Secrets: 1 to 500 printable ASCII characters, no whitespace.
    ({"asaas": {"api_key": ""}}, "asaas.api_key", None),
    ({"asaas": {"api_key": "k" * 501}}, "asaas.api_key", None),
    ({"asaas": {"api_key": "two words"}}, "asaas.api_key", None),
    ({"asaas": {"api_key": "tab\tkey"}}, "asaas.api_key", None),
    ({"asaas": {"api_key": "chave-é"}}, "asaas.api_key", None),
    ({"asaas": {"webhook_token": "line\nbreak"}}, "asaas.webhook_token", None),
    ({"asaas": {"webhook_token": 12345}}, "asaas.webhook_token", None),
    ({"asaas": {"environment": "staging"}}, "asaas.environment", None),
    # Unknown fields and providers.
    ({"card": {"provider": "stripe"}}, "card.provider", None),
    ({"card": {"gateway": "asaas"}}, "card.gateway", None),
    ({"asaas": {"api_key_last4": "1234"}}, "asaas.api_key_last4", None),
    ({"inbound": []}, "inbound", None),
    ({"updated_at": None}, "updated_at", None),
]
# Bank data `rules.boleto.free_field` refuses, with its message (on a live tenant's asaas).
BAD_BANKS = [
    ({"code": "237", "agreement": "1234567", "wallet": "17"}, "no boleto free-field layout"),
    ({"code": "001", "agreement": "12345", "wallet": "17"}, "6, 7 or 8 digits"),
    ({"code": "001", "agreement": "123456789", "wallet": "17"}, "6, 7 or 8 digits"),
    ({"code": "001", "agreement": "123456", "wallet": "17"}, "needs the agência and conta"),
    ({"code": "001", "agreement": "12a4567", "wallet": "17"}, "ASCII digits only"),
    ({"code": "001", "agreement": "1234567", "wallet": "171"}, "at most 2 digits"),
    ({"code": "001", "agreement": "1234567", "wallet": "x"}, "ASCII digits only"),
    ({"code": "001", "agreement": "1234567", "wallet": "17", "iban": "x"}, None),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_BODIES)
async def test_an_invalid_put_is_422_and_changes_nothing(
    api: TenantClient, database: Database, body: dict[str, Any], field: str, message: str | None
) -> None:
    before_put = {"card": {"retry_days": [2]}, "asaas": {"webhook_token": WEBHOOK_TOKEN}}
    await put(api, before_put)
    before = await state(api, database)
    response = await api.http.put(URL, json=body, headers=api.headers)
    problem = assert_invalid(response, field)
    if message is not None:
        assert message in problem["detail"], problem
    assert await state(api, database) == before


@pytest.mark.parametrize(("bank", "message"), BAD_BANKS)
async def test_bank_data_the_layout_refuses_is_422_with_its_reason(
    sandbox: TenantClient, database: Database, bank: dict[str, Any], message: str | None
) -> None:
    await read(sandbox)
    before = await state(sandbox, database)
    body = {"boleto": {"provider": "sandbox", "bank": bank}}
    problem = assert_invalid(
        await sandbox.http.put(URL, json=body, headers=sandbox.headers),
        "boleto.bank" if message else "boleto.bank.iban",
    )
    if message is not None:
        assert message in problem["detail"], problem
    assert await state(sandbox, database) == before


async def test_the_sandbox_boleto_needs_a_bank(sandbox: TenantClient, database: Database) -> None:
    await read(sandbox)
    before = await state(sandbox, database)
    body = {"boleto": {"provider": "sandbox", "bank": None}}
    assert_invalid(await sandbox.http.put(URL, json=body, headers=sandbox.headers), "boleto.bank")
    assert await state(sandbox, database) == before
    # Without a provider no bank is needed.
    assert (await put(sandbox, {"boleto": {"provider": None, "bank": None}}))["boleto"] == {
        "provider": None,
        "bank": None,
    }


async def test_a_body_that_is_not_an_object_is_refused(api: TenantClient) -> None:
    response = await api.http.put(URL, json=[], headers=api.headers)
    assert response.status_code == 422, response.text


# --- secrets ----------------------------------------------------------------------------------


async def test_secrets_are_kept_when_left_out_removed_with_null_replaced_with_text(
    api: TenantClient,
) -> None:
    both = {"api_key": API_KEY, "webhook_token": WEBHOOK_TOKEN}
    stored = await put(api, {"card": {"provider": "asaas"}, "asaas": both})
    assert stored["asaas"]["api_key_set"] and stored["asaas"]["webhook_token_set"]

    kept = await put(api, {"card": {"provider": "asaas"}, "asaas": {"environment": "production"}})
    assert kept["asaas"] == {**stored["asaas"], "environment": "production"}
    assert (await put(api, {}))["asaas"] == stored["asaas"]  # the whole section left out

    replaced = await put(api, {"asaas": {"api_key": OTHER_API_KEY}})
    assert replaced["asaas"]["api_key_last4"] == "9876"
    assert replaced["asaas"]["webhook_token_set"] is True

    removed = await put(api, {"asaas": {"api_key": None, "webhook_token": None}})
    assert removed["asaas"] == NO_ASAAS
    refused = await api.http.put(URL, json={"card": {"provider": "asaas"}}, headers=api.headers)
    assert_invalid(refused, "card.provider")


async def test_a_short_key_keeps_its_end_hidden(api: TenantClient) -> None:
    answered = await put(api, {"asaas": {"api_key": "abcdef"}})
    assert answered["asaas"]["api_key_set"] is True
    assert answered["asaas"]["api_key_last4"] is None


async def test_secrets_never_leave_in_clear(api: TenantClient, database: Database) -> None:
    body = {
        "card": {"provider": "asaas"},
        "asaas": {"api_key": API_KEY, "webhook_token": WEBHOOK_TOKEN},
    }
    answers = [
        await api.http.put(URL, json=body, headers={**api.headers, "Idempotency-Key": "ps-1"}),
        await api.http.put(URL, json=body, headers={**api.headers, "Idempotency-Key": "ps-1"}),
        await api.get(URL),
        await api.http.put(URL, json={"asaas": {"api_key": "bad key"}}, headers=api.headers),
    ]
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert answers[1].json() == answers[0].json()
    for answer in answers:
        for secret in (API_KEY, API_KEY[:-4], WEBHOOK_TOKEN, "bad key"):
            assert secret not in answer.text
    settings = await table_text(database, "payment_settings")
    replays = await table_text(database, "idempotency_keys")
    for stored in (settings, replays):
        assert API_KEY[6:-4] not in stored and WEBHOOK_TOKEN not in stored
    assert API_KEY[-4:] in settings  # the last four, shown to tell keys apart, are the exception


async def test_secrets_are_never_logged(
    api: TenantClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # statements, not parameters
    body = {"asaas": {"api_key": API_KEY, "webhook_token": WEBHOOK_TOKEN}}
    await put(api, body)
    refused = {"asaas": {"api_key": API_KEY + " x"}}
    assert (await api.http.put(URL, json=refused, headers=api.headers)).status_code == 422
    assert "payment_settings" in caplog.text  # the statements are logged...
    for secret in (API_KEY, API_KEY[6:-4], WEBHOOK_TOKEN):
        assert secret not in caplog.text  # ...never a secret


async def test_secrets_are_sealed_with_the_secret_key(
    api: TenantClient, database: Database, secret_box: SecretBox
) -> None:
    await put(api, {"asaas": {"api_key": API_KEY, "webhook_token": WEBHOOK_TOKEN}})
    async with database.read() as session:
        query = "SELECT asaas_api_key_sealed, asaas_webhook_token_sealed FROM payment_settings"
        key, token = (await session.execute(text(query))).one()
    assert (secret_box.open(key), secret_box.open(token)) == (API_KEY, WEBHOOK_TOKEN)


async def test_a_secret_left_out_is_not_sealed_again(api: TenantClient, database: Database) -> None:
    """A PUT that does not send a secret leaves its sealed column as it was (no opening and
    sealing again, which would give new ciphertext); one it sends is sealed anew."""
    query = "SELECT asaas_api_key_sealed, asaas_webhook_token_sealed FROM payment_settings"
    await put(api, {"asaas": {"api_key": API_KEY, "webhook_token": WEBHOOK_TOKEN}})
    async with database.read() as session:
        key, token = (await session.execute(text(query))).one()
    await put(api, {"card": {"provider": "asaas"}, "asaas": {"environment": "production"}})
    await put(api, {"asaas": {"webhook_token": WEBHOOK_TOKEN}})
    async with database.read() as session:
        key_after, token_after = (await session.execute(text(query))).one()
    assert key_after == key
    assert token_after != token  # sent again: sealed again (Fernet: a new IV each time)


# --- inbound URLs -----------------------------------------------------------------------------


async def test_inbound_urls_are_stable_and_differ_by_tenant_and_provider(
    api: TenantClient, other_api: TenantClient, sandbox: TenantClient, database: Database
) -> None:
    first = tokens_of(await read(api))
    assert tokens_of(await read(api)) == first
    assert tokens_of(await put(api, {"card": {"retry_days": [5]}})) == first
    # A tenant's first write makes its tokens too.
    sandbox_tokens = tokens_of(await put(sandbox, {}))
    assert tokens_of(await read(sandbox)) == sandbox_tokens
    everyone = [*first.values(), *tokens_of(await read(other_api)).values()]
    everyone += sandbox_tokens.values()
    assert len(set(everyone)) == 6

    stored = await table_text(database, "payment_inbound_tokens")
    for token in everyone:
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


async def test_a_refused_first_put_makes_no_token(api: TenantClient, database: Database) -> None:
    refused = await api.http.put(URL, json={"pix": {"provider": "sandbox"}}, headers=api.headers)
    assert_invalid(refused, "pix.provider")
    async with database.read() as session:
        count = (
            await session.execute(text("SELECT count(*) FROM payment_inbound_tokens"))
        ).scalar()
    assert count == 0


async def test_the_tenant_is_found_by_its_inbound_token(
    api: TenantClient, other_api: TenantClient, database: Database
) -> None:
    mine, theirs = tokens_of(await read(api)), tokens_of(await read(other_api))
    async with database.read() as session:
        for provider in ("sandbox", "asaas"):
            found = await tenant_for_inbound_token(session, provider, mine[provider])
            assert found == api.tenant.tenant_id
            found = await tenant_for_inbound_token(session, provider, theirs[provider])
            assert found == other_api.tenant.tenant_id
        assert await tenant_for_inbound_token(session, "asaas", mine["sandbox"]) is None
        assert await tenant_for_inbound_token(session, "sandbox", mine["asaas"]) is None
        changed = mine["asaas"][:-1] + ("B" if mine["asaas"].endswith("A") else "A")
        assert await tenant_for_inbound_token(session, "asaas", changed) is None
        assert await tenant_for_inbound_token(session, "asaas", "") is None
        assert await tenant_for_inbound_token(session, "stripe", mine["asaas"]) is None


@pytest.fixture
async def public_client(
    db_url: str, tmp_path: Path, database: Database, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose ASSINA_PUBLIC_URL is set (with a trailing slash)."""
    settings = Settings(
        database_url=db_url,
        secret_key=TEST_SECRET_KEY,
        data_dir=tmp_path,
        api_rate_limit_burst=UNEMPTIED_BURST,
        public_url="https://pagamentos.example.com/assina/",
    )
    app = create_app(settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


async def test_the_public_url_setting_is_the_base_of_inbound_urls(
    api: TenantClient, public_client: httpx.AsyncClient
) -> None:
    tokens = tokens_of(await read(api))
    public = TenantClient(api.tenant, public_client)
    assert tokens_of(await read(public), "https://pagamentos.example.com/assina") == tokens
    answered = await put(public, {})
    assert tokens_of(answered, "https://pagamentos.example.com/assina") == tokens


def test_the_public_url_must_be_http(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ASSINA_PUBLIC_URL"):
        Settings(data_dir=tmp_path, public_url="assina.example.com")
    assert Settings(data_dir=tmp_path, public_url=" ").public_url is None


async def test_a_secret_key_rotation_reseals_the_payment_secrets(
    api: TenantClient, database: Database, db_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    both = {"api_key": API_KEY, "webhook_token": WEBHOOK_TOKEN}
    before = await put(api, {"card": {"provider": "asaas"}, "asaas": both})
    report = await reseal_everything(database, TEST_SECRET_KEY, "the-next-secret-key")
    assert report.payment_secrets == 4  # the key, the token, two inbound tokens
    new_box = SecretBox("the-next-secret-key")
    async with database.read() as session:
        query = "SELECT asaas_api_key_sealed, asaas_webhook_token_sealed FROM payment_settings"
        key, token = (await session.execute(text(query))).one()
    assert (new_box.open(key), new_box.open(token)) == (API_KEY, WEBHOOK_TOKEN)

    settings = Settings(
        database_url=db_url,
        secret_key="the-next-secret-key",
        data_dir=tmp_path,
        api_rate_limit_burst=UNEMPTIED_BURST,
    )
    app = create_app(settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        assert await read(TenantClient(api.tenant, http)) == before
