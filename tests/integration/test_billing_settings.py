"""The tenant's billing settings over HTTP, and `billing_rules` as the billing code reads them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from assina.billing_settings.schemas import DEFAULT_RULES, BillingRules
from assina.billing_settings.service import billing_rules
from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.assertions import assert_invalid, iso
from tests.conftest import TenantClient
from tests.integration.charge_support import PIX_SETTINGS, state

URL = "/v1/billing-settings"
DEFAULTS = {
    "fine_percent": "2.0000",
    "monthly_interest_percent": "1.0000",
    "charge_lead_days": 10,
    "order_expiry_days": 7,
    "pix_key": None,
    "merchant_name": None,
    "merchant_city": None,
}


async def put(api: TenantClient, body: object) -> dict[str, Any]:
    response = await api.http.put(URL, json=body, headers=api.headers)
    assert response.status_code == 200, response.text
    settings: dict[str, Any] = response.json()
    return settings


async def test_a_new_tenant_has_the_defaults(api: TenantClient, database: Database) -> None:
    response = await api.get(URL)
    assert response.status_code == 200, response.text
    assert response.json() == {**DEFAULTS, "updated_at": None}
    async with database.read() as session:
        assert await billing_rules(session, api.tenant.tenant_id) == DEFAULT_RULES


async def test_put_stores_every_field(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=1))
    body = {
        "fine_percent": 2.5,
        "monthly_interest_percent": "0.0333",
        "charge_lead_days": 0,
        "order_expiry_days": 90,
        **PIX_SETTINGS,
    }
    answered = await put(api, body)
    assert answered == {
        **body,
        "fine_percent": "2.5000",
        "monthly_interest_percent": "0.0333",
        "updated_at": iso(clock.now()),
    }
    assert (await api.get(URL)).json() == answered
    async with database.read() as session:
        rules = await billing_rules(session, api.tenant.tenant_id)
    assert rules == BillingRules(
        fine_percent=Decimal("2.5"),
        monthly_interest_percent=Decimal("0.0333"),
        charge_lead_days=0,
        order_expiry_days=90,
        pix_key=PIX_SETTINGS["pix_key"],
        merchant_name="Escola Alfa Ltda",
        merchant_city="São Paulo",
    )
    assert rules.pix_receiver == (PIX_SETTINGS["pix_key"], "Escola Alfa Ltda", "São Paulo")


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        (0, "0.0000"),
        (100, "100.0000"),
        ("100", "100.0000"),
        ("12.3456", "12.3456"),
        (12.3456, "12.3456"),
        ("1.50000", "1.5000"),
        ("-0", "0.0000"),
        (0.1, "0.1000"),
    ],
)
async def test_percents_are_numbers_or_numeric_strings_answered_as_strings(
    api: TenantClient, sent: object, shown: str
) -> None:
    assert (await put(api, {"fine_percent": sent}))["fine_percent"] == shown
    assert (await api.get(URL)).json()["fine_percent"] == shown


async def test_put_replaces_the_whole_settings(api: TenantClient, clock: FrozenClock) -> None:
    await put(api, {"fine_percent": 5, "charge_lead_days": 20, **PIX_SETTINGS})
    clock.advance(timedelta(days=1))
    assert await put(api, {"order_expiry_days": 3}) == {
        **DEFAULTS,
        "order_expiry_days": 3,
        "updated_at": iso(clock.now()),
    }
    assert await put(api, {}) == {**DEFAULTS, "updated_at": iso(clock.now())}


async def test_pix_fields_may_be_cleared_with_null(api: TenantClient) -> None:
    await put(api, PIX_SETTINGS)
    cleared = await put(api, {"pix_key": None, "merchant_name": None, "merchant_city": None})
    assert cleared["pix_key"] is None and cleared["merchant_city"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fine_percent": -1}, "fine_percent"),
        ({"fine_percent": 100.0001}, "fine_percent"),
        ({"fine_percent": "101"}, "fine_percent"),
        ({"fine_percent": "2.12345"}, "fine_percent"),
        ({"fine_percent": 0.00001}, "fine_percent"),
        ({"fine_percent": "abc"}, "fine_percent"),
        ({"fine_percent": "NaN"}, "fine_percent"),
        ({"fine_percent": "Infinity"}, "fine_percent"),
        ({"fine_percent": "\u0661\u0662"}, "fine_percent"),  # Arabic-Indic 12
        ({"fine_percent": " 2"}, "fine_percent"),
        ({"fine_percent": "9" * 40}, "fine_percent"),
        ({"fine_percent": True}, "fine_percent"),
        ({"fine_percent": None}, "fine_percent"),
        ({"fine_percent": [2]}, "fine_percent"),
        ({"monthly_interest_percent": -0.5}, "monthly_interest_percent"),
        ({"monthly_interest_percent": "1e-5"}, "monthly_interest_percent"),
        ({"fine_percent": "1e1"}, "fine_percent"),  # the documented pattern has no exponent
        ({"charge_lead_days": -1}, "charge_lead_days"),
        ({"charge_lead_days": 61}, "charge_lead_days"),
        ({"charge_lead_days": "10"}, "charge_lead_days"),
        ({"charge_lead_days": None}, "charge_lead_days"),
        ({"order_expiry_days": 0}, "order_expiry_days"),
        ({"order_expiry_days": 91}, "order_expiry_days"),
        ({"order_expiry_days": 2**64}, "order_expiry_days"),
        ({"pix_key": ""}, "pix_key"),
        ({"pix_key": "k" * 78}, "pix_key"),
        ({"pix_key": "chave-é"}, "pix_key"),
        ({"pix_key": "tab\there"}, "pix_key"),
        ({"pix_key": "a\x00"}, "pix_key"),
        ({"merchant_name": ""}, "merchant_name"),
        ({"merchant_name": "x" * 26}, "merchant_name"),
        ({"merchant_name": "😀😀"}, "merchant_name"),
        ({"merchant_city": "y" * 16}, "merchant_city"),
        ({"merchant_city": "\u0301"}, "merchant_city"),  # a lone combining accent
        ({"merchant_city": 5}, "merchant_city"),
        ({"late_fee": 2}, "late_fee"),
        ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
    ],
)
async def test_invalid_put_is_422_and_changes_nothing(
    api: TenantClient, database: Database, body: dict[str, Any], field: str
) -> None:
    await put(api, {"fine_percent": 3, **PIX_SETTINGS})
    before = await state(api, database)
    response = await api.http.put(URL, json={"fine_percent": 4, **body}, headers=api.headers)
    assert_invalid(response, field)
    assert await state(api, database) == before


async def test_a_body_that_is_not_an_object_is_refused(api: TenantClient) -> None:
    response = await api.http.put(URL, json=[], headers=api.headers)
    assert response.status_code == 422, response.text


async def test_accents_are_kept_as_sent(api: TenantClient) -> None:
    answered = await put(api, {"merchant_name": "Açaí & Cia", "merchant_city": "Florianópolis"})
    assert (answered["merchant_name"], answered["merchant_city"]) == ("Açaí & Cia", "Florianópolis")


async def test_settings_belong_to_one_tenant_and_raise_no_event(
    api: TenantClient, other_api: TenantClient
) -> None:
    await put(api, {"fine_percent": 10, **PIX_SETTINGS})
    assert (await other_api.get(URL)).json() == {**DEFAULTS, "updated_at": None}
    await put(other_api, {"charge_lead_days": 30})
    assert (await api.get(URL)).json()["fine_percent"] == "10.0000"
    assert (await api.get(URL)).json()["charge_lead_days"] == 10
    events = (await api.get("/v1/events")).json()["data"]
    assert events == []


async def test_the_settings_need_a_key(api: TenantClient) -> None:
    assert (await api.http.get(URL)).status_code == 401
    assert (await api.http.put(URL, json={})).status_code == 401
