"""The app served for real on loopback (uvicorn), so that the sandbox payment provider's
notifications reach assina's inbound route over HTTP, and helpers for the payment tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from assina.core.secrets import SecretBox
from assina.payments.connections import ProviderConnections
from assina.payments.sandbox.signing import SIGNATURE_HEADER, notification_secret, sign
from tests.conftest import TEST_SECRET_KEY, TenantClient


@dataclass
class LiveApp:
    base_url: str
    http: httpx.AsyncClient
    connections: ProviderConnections

    def as_tenant(self, tenant: TenantClient) -> TenantClient:
        """The same tenant, calling the live server instead of the in-process app."""
        return TenantClient(tenant.tenant, self.http)


@pytest.fixture
async def live(app: FastAPI) -> AsyncIterator[LiveApp]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn has no started event to await)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield LiveApp(base_url, http, app.state.provider_connections)
    server.should_exit = True
    await task


async def sandbox_inbound_url(api: TenantClient) -> str:
    settings = await api.get("/v1/payment-settings")
    assert settings.status_code == 200, settings.text
    urls = settings.json()["inbound"]
    return next(entry["url"] for entry in urls if entry["provider"] == "sandbox")


def signed_notification(
    tenant_id: str, body: dict[str, Any], timestamp: int, secret: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """A notification as the sandbox signs it (with the tenant's secret unless given)."""
    raw = json.dumps(body).encode()
    key = (
        secret if secret is not None else notification_secret(SecretBox(TEST_SECRET_KEY), tenant_id)
    )
    return raw, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(key, timestamp, raw)}


def received_body(event_id: str, charge_id: str, amount: int, paid_at: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "payment.received",
        "data": {
            "id": event_id.split(".")[0],
            "charge_id": charge_id,
            "method": "pix",
            "status": "received",
            "amount": amount,
            "paid_at": paid_at,
            "end_to_end_id": None,
            "decline_code": None,
            "message": None,
        },
    }


async def save_card(api: TenantClient, customer_id: str, number: str) -> str:
    """A sandbox test card saved for the customer through the cards API: its id."""
    card = {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "ANA"}
    saved = await api.post(f"/v1/customers/{customer_id}/cards", card)
    assert saved.status_code == 201, saved.text
    card_id: str = saved.json()["id"]
    return card_id


async def sandbox_today(api: TenantClient) -> date:
    """A sandbox tenant's today, by its test clock."""
    reading = await api.get("/v1/test-clock")
    assert reading.status_code == 200, reading.text
    return date.fromisoformat(reading.json()["today"])
