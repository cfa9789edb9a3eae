"""What the Asaas adapter's tests share: the adapter pointed at the stand-in, a payer and an
order, and a loopback receiver of the stand-in's webhooks that keeps each request's headers
and raw body, as assina's inbound route will get them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp import web

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.payments.asaas.adapter import AsaasProvider
from assina.payments.asaas.client import AsaasClient
from assina.payments.connections import ProviderConnections
from assina.payments.providers import CardDetails, Payer, PaymentOrder
from tests.conftest import TEST_SECRET_KEY, TenantClient
from tests.integration.asaas_standin import STANDIN_API_KEY, AsaasStandin

TODAY = date(2026, 3, 2)  # STANDIN_NOW in São Paulo
WEBHOOK_TOKEN = "whsec-assina-asaas-0001"
APPROVED_VISA = "4444444444444444"  # Asaas's sandbox guide: approved
REFUSED_MASTERCARD = "5184019740373151"  # Asaas's sandbox guide: refused
REFUSED_VISA = "4916561358240741"  # Asaas's sandbox guide: refused
CVC = "7391"
PAYER = Payer(
    customer_id="cus_assina_ana",
    name="Ana Souza",
    document="52998224725",
    email="ana@example.com",
    phone="4738010919",
    postal_code="89223005",
    address_number="277",
)


def order(
    charge_id: str = "chg_0001",
    *,
    amount: int = 12990,
    due: date = date(2026, 3, 10),
    payer: Payer = PAYER,
    remote_ip: str | None = "203.0.113.7",
) -> PaymentOrder:
    return PaymentOrder(
        charge_id=charge_id,
        charge_number=1,
        payer=payer,
        amount=amount,
        due_date=due,
        description="Mensalidade de março",
        idempotency_key=f"key-{charge_id}",
        requested_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
        remote_ip=remote_ip,
    )


def card(number: str = APPROVED_VISA, *, month: int = 5, year: int = 2030) -> CardDetails:
    return CardDetails(
        number=number,
        exp_month=month,
        exp_year=year,
        cvc=CVC,
        holder_name="ANA SOUZA",
        remote_ip="203.0.113.7",
    )


def client_for(standin: AsaasStandin, **options: object) -> AsaasClient:
    return AsaasClient(STANDIN_API_KEY, base_url=f"{standin.url}/v3", **options)  # type: ignore[arg-type]


@pytest.fixture
async def asaas_connections(
    database: Database, clock: FrozenClock, asaas_standin: AsaasStandin
) -> AsyncIterator[ProviderConnections]:
    """assina's provider connections, Asaas's requests going to the stand-in."""
    connections = ProviderConnections(
        database, SecretBox(TEST_SECRET_KEY), clock, asaas_base_url=f"{asaas_standin.url}/v3"
    )
    yield connections
    await connections.close()


@pytest.fixture
async def asaas(asaas_standin: AsaasStandin) -> AsyncIterator[AsaasProvider]:
    async with client_for(asaas_standin) as client:
        yield AsaasProvider(client, asaas_standin.clock)


@dataclass
class Delivered:
    headers: dict[str, str]
    body: bytes


@dataclass
class Inbox:
    url: str = ""
    received: list[Delivered] = field(default_factory=list)


@pytest.fixture
async def inbox(asaas_standin: AsaasStandin) -> AsyncIterator[Inbox]:
    """The stand-in's webhooks, with the tenant's token, as they arrive (answered 200)."""
    state = Inbox()

    async def receive(request: web.Request) -> web.Response:
        state.received.append(Delivered(dict(request.headers), await request.read()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/inbound/asaas", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/inbound/asaas"
    asaas_standin.webhook_url, asaas_standin.webhook_token = state.url, WEBHOOK_TOKEN
    yield state
    await runner.cleanup()


async def use_asaas(api: TenantClient, *rails: str) -> str:
    """Asaas on these rails (`card`, `boleto`, `pix`), with the stand-in's API key and
    WEBHOOK_TOKEN; the tenant's Asaas inbound URL."""
    body = {
        **{rail: {"provider": "asaas"} for rail in rails},
        "asaas": {"api_key": STANDIN_API_KEY, "webhook_token": WEBHOOK_TOKEN},
    }
    saved = await api.http.put("/v1/payment-settings", json=body, headers=api.headers)
    assert saved.status_code == 200, saved.text
    urls = saved.json()["inbound"]
    return str(next(entry["url"] for entry in urls if entry["provider"] == "asaas"))


def days(count: int) -> timedelta:
    return timedelta(days=count)
