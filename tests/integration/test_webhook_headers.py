"""An endpoint's static headers (issue 13, point 3): hop-by-hop, framing, encoding and
assina's own headers are refused whatever their case, names are whole RFC 9110 tokens, values
carry no control characters, and their number and size are capped — on POST and PATCH, with
nothing changed on refusal. Endpoints saved before these checks still deliver: the refused
headers are left out at send time and the log says why. Both databases."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import update

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.webhooks.headers import (
    MAX_HEADERS,
    MAX_NAME_LENGTH,
    MAX_TOTAL_BYTES,
    MAX_VALUE_LENGTH,
)
from assina.webhooks.models import WebhookEndpoint
from tests.assertions import assert_invalid
from tests.conftest import TEST_SECRET_KEY, TenantClient
from tests.integration.delivery_support import (
    Receiver,
    dispatch_once,
    new_endpoint,
    only_message,
)

HOOK = "https://hooks.example.com/assina"

REFUSED = [
    # The reproductions.
    {"Transfer-Encoding": "chunked"},
    {"Connection": "close"},
    {"Upgrade": "websocket"},
    {"Expect": "100-continue"},
    {"TE": "trailers"},
    {"Content-Encoding": "gzip"},
    {"Host\n": "evil.example.com"},
    {"X-Partner": "a\vb"},
    {"X-Partner": "a\fb"},
    # The rest of the deny-list, in any case.
    {"transfer-encoding": "chunked"},
    {"CONTENT-LENGTH": "0"},
    {"Keep-Alive": "timeout=5"},
    {"Trailer": "X-Sum"},
    {"Host": "evil.example.com"},
    {"Proxy-Authorization": "Basic eDp5"},
    {"Proxy-Connection": "keep-alive"},
    {"Accept-Encoding": "gzip"},
    {"Content-Type": "text/plain"},
    {"User-Agent": "not-assina"},
    {"X-Validation-Token": "forged"},
    {"Webhook-Signature": "v1,forged"},
    {"webhook-id": "msg_forged"},
    # Names: whole tokens only.
    {"X-Partner\r\n": "x"},
    {"X Partner": "x"},
    {"X-Partner:": "x"},
    {":authority": "x"},
    {"": "x"},
    # Values: no control character (a tab is allowed, see the test below).
    {"X-Partner": "a\r\nInjected: 1"},
    {"X-Partner": "a\nb"},
    {"X-Partner": "a\x00b"},
    {"X-Partner": "a\x7fb"},
    {"X-Partner": "a\x85b"},
    # The caps.
    {"X-" + "a" * (MAX_NAME_LENGTH - 1): "x"},
    {"X-Partner": "v" * (MAX_VALUE_LENGTH + 1)},
    {f"X-H{i}": "x" for i in range(MAX_HEADERS + 1)},
    {f"X-H{i}": "v" * MAX_VALUE_LENGTH for i in range(8)},  # 8 KiB of values, plus names
    # One header twice (names ignore case).
    {"X-Partner": "a", "x-partner": "b"},
]


@pytest.mark.parametrize("headers", REFUSED, ids=repr)
async def test_refused_headers_are_422_on_post_and_nothing_is_stored(
    api: TenantClient, headers: dict[str, str]
) -> None:
    response = await api.post("/v1/webhook-endpoints", {"url": HOOK, "headers": headers})
    assert_invalid(response, "headers")
    assert (await api.get("/v1/webhook-endpoints")).json()["data"] == []


@pytest.mark.parametrize("headers", REFUSED, ids=repr)
async def test_refused_headers_are_422_on_patch_and_nothing_changes(
    api: TenantClient, headers: dict[str, str]
) -> None:
    created = await new_endpoint(api, HOOK, headers={"X-Erp": "sim"})
    before = (await api.get(f"/v1/webhook-endpoints/{created['id']}")).json()
    response = await api.patch(
        f"/v1/webhook-endpoints/{created['id']}", {"headers": headers, "description": "new"}
    )
    assert_invalid(response, "headers")
    assert (await api.get(f"/v1/webhook-endpoints/{created['id']}")).json() == before


async def test_headers_at_every_cap_are_accepted(api: TenantClient) -> None:
    names = ["X-" + "n" * (MAX_NAME_LENGTH - 2)] + [f"X-H{i}" for i in range(MAX_HEADERS - 1)]
    # Shorter values for the rest so that, with one value at its cap, all fit in the total.
    room = MAX_TOTAL_BYTES - MAX_VALUE_LENGTH - sum(len(name) for name in names)
    each = room // (MAX_HEADERS - 1)
    headers = {names[0]: "v" * MAX_VALUE_LENGTH} | {name: "w" * each for name in names[1:]}
    total = sum(len(name) + len(value) for name, value in headers.items())
    assert MAX_TOTAL_BYTES - MAX_HEADERS < total <= MAX_TOTAL_BYTES  # the total is at its cap too
    created = await new_endpoint(api, HOOK, headers=headers)
    assert created["headers"] == headers
    patched = await api.patch(
        f"/v1/webhook-endpoints/{created['id']}", {"headers": {"Authorization": "Bearer a\tb"}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["headers"] == {"Authorization": "Bearer a\tb"}


async def test_a_custom_header_reaches_a_real_receiver(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    headers = {"Authorization": "Bearer partner-token", "X-Erp-Tenant": "loja 7\tmatriz"}
    await new_endpoint(api, receiver.url, headers=headers)
    await api.post("/v1/customers", {"name": "Ana"})
    assert await dispatch_once(database, clock) == 1
    [got] = receiver.received
    assert got.headers["Authorization"] == "Bearer partner-token"
    assert got.headers["X-Erp-Tenant"] == "loja 7\tmatriz"
    assert (await only_message(database)).status == "delivered"


async def test_an_endpoint_saved_with_refused_headers_still_delivers_without_them(
    api: TenantClient,
    database: Database,
    clock: FrozenClock,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stored before the checks existed: the refused headers are left out, the rest go."""
    endpoint = await new_endpoint(api, receiver.url)
    legacy = {
        "X-Erp": "sim",
        "Transfer-Encoding": "chunked",
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Expect": "100-continue",
        "TE": "trailers",
        "Content-Encoding": "gzip",
        "Host\n": "evil.example.com",
        "X-Vertical": "secret\vvalue",
        "X-Feed": "secret\fvalue",
    }
    async with database.write() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(headers_sealed=SecretBox(TEST_SECRET_KEY).seal_values(legacy))
        )
    await api.post("/v1/customers", {"name": "Ana"})
    with caplog.at_level(logging.WARNING, logger="assina.dispatcher"):
        assert await dispatch_once(database, clock) == 1

    assert (await only_message(database)).status == "delivered"
    [got] = receiver.received
    sent = {name.lower(): value for name, value in got.headers.items()}
    assert sent["x-erp"] == "sim"
    assert sent["content-length"] == str(len(got.body))
    assert sent["host"] == receiver.url.split("/")[2]
    for refused in ("transfer-encoding", "upgrade", "expect", "te", "content-encoding"):
        assert refused not in sent
    assert "x-vertical" not in sent and "x-feed" not in sent
    assert sent.get("connection", "keep-alive").lower() != "upgrade"
    logged = [r.getMessage() for r in caplog.records if "static header left out" in r.getMessage()]
    assert len(logged) == len(legacy) - 1
    assert all(endpoint["id"] in line for line in logged)
    assert not any("secret" in line or "evil" in line for line in logged)  # names, not values
