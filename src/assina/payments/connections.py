"""What reaches the payment providers from one process: one HTTP session for every provider
call, and the built-in sandbox provider (started the first time a call needs it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.payment_settings.models import PaymentProvider, PaymentSettings
from assina.payment_settings.service import asaas_webhook_token
from assina.payments.asaas.adapter import AsaasProvider
from assina.payments.asaas.client import AsaasClient
from assina.payments.asaas.inbound import AsaasInboundReader
from assina.payments.providers import CardGateway, InboundReader, Reconciler
from assina.payments.sandbox.client import SandboxClient, SandboxInboundReader
from assina.payments.sandbox.server import SandboxProvider
from assina.payments.sandbox.signing import account_key, notification_secret

if TYPE_CHECKING:
    import aiohttp


class ProviderConnections:
    def __init__(
        self,
        database: Database,
        box: SecretBox,
        clock: Clock,
        *,
        sandbox_port: int = 0,
        asaas_base_url: str | None = None,
    ) -> None:
        self.box = box
        self._clock = clock
        self._asaas_base_url = asaas_base_url
        self.sandbox = SandboxProvider(database, box, clock, port=sandbox_port)
        self._http: aiohttp.ClientSession | None = None

    def http(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running event loop it then belongs to.
        if self._http is None:
            import aiohttp  # aiohttp (~0.3 s to import) only once a provider is called

            self._http = aiohttp.ClientSession()
        return self._http

    async def sandbox_client(self, tenant_id: str) -> SandboxClient:
        """The sandbox provider, called as the tenant's account."""
        base_url = await self.sandbox.url()
        return SandboxClient(self.http(), base_url, account_key(self.box, tenant_id))

    async def asaas(self, session: AsyncSession, tenant_id: str) -> AsaasProvider | None:
        """The tenant's Asaas account, when it stored an API key."""
        client = await self.asaas_client(session, tenant_id)
        return None if client is None else AsaasProvider(client, self._clock)

    async def asaas_client(self, session: AsyncSession, tenant_id: str) -> AsaasClient | None:
        """Requests to the tenant's Asaas account (its payments, its invoices: fiscal/asaas.py),
        when it stored an API key."""
        row = await session.get(PaymentSettings, tenant_id)
        if row is None or row.asaas_api_key_sealed is None:
            return None
        return AsaasClient(
            self.box.open(row.asaas_api_key_sealed),
            environment=row.asaas_environment,
            base_url=self._asaas_base_url,
            session=self.http(),
        )

    async def reconciler(
        self, session: AsyncSession, tenant_id: str, provider: PaymentProvider
    ) -> Reconciler | None:
        """Who answers "what did you receive since?" for the tenant at `provider`."""
        if provider == PaymentProvider.SANDBOX:
            return await self.sandbox_client(tenant_id)
        return await self.asaas(session, tenant_id)

    async def card_gateway(
        self, session: AsyncSession, tenant_id: str, provider: PaymentProvider
    ) -> CardGateway | None:
        """The gateway a card saved with `provider` is charged through; None for an Asaas card
        of a tenant that has no Asaas API key any more (removed since the card was saved)."""
        if provider == PaymentProvider.SANDBOX:
            return await self.sandbox_client(tenant_id)
        return await self.asaas(session, tenant_id)

    def inbound_reader(self, provider: PaymentProvider) -> InboundReader:
        """How `provider`'s notifications are read."""
        if provider == PaymentProvider.SANDBOX:
            return SandboxInboundReader()
        return AsaasInboundReader()

    async def inbound_secret(
        self, database: Database, provider: PaymentProvider, tenant_id: str
    ) -> str | None:
        """What the tenant's notifications from `provider` are verified with: the sandbox's
        signing secret (derived, no query), or the Asaas webhook token the tenant stored (None:
        none stored)."""
        if provider == PaymentProvider.SANDBOX:
            return notification_secret(self.box, tenant_id)
        async with database.read() as session:
            return await asaas_webhook_token(session, self.box, tenant_id)

    async def close(self) -> None:
        await self.sandbox.stop()
        if self._http is not None:
            await self._http.close()
            self._http = None
