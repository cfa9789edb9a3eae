"""Who issues a tenant's notas fiscais, from one process: the built-in sandbox issuer (its
server started on first use) or an adapter for a real issuer. Built over the payments'
connections (one HTTP session, the secret box, the Asaas credentials)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.db.database import Database
from assina.fiscal.asaas import AsaasInvoices
from assina.fiscal.providers import FiscalIssuer, ProviderRefused
from assina.fiscal.sandbox.client import SandboxFiscalClient
from assina.fiscal.sandbox.server import SandboxFiscalIssuer
from assina.fiscal_settings.models import FiscalProvider
from assina.payments.connections import ProviderConnections
from assina.payments.sandbox.signing import account_key

# How an adapter for a real issuer is reached: given the session, the tenant and the process's
# clock (the issuer's today), its issuer, or None when the tenant's credentials are missing.
IssuerFactory = Callable[
    [ProviderConnections, AsyncSession, str, Clock], Awaitable[FiscalIssuer | None]
]


async def asaas_issuer(
    payments: ProviderConnections, session: AsyncSession, tenant_id: str, clock: Clock
) -> FiscalIssuer | None:
    """Asaas's invoices over the tenant's Asaas account (the API key of its payment
    settings); None without one."""
    client = await payments.asaas_client(session, tenant_id)
    return None if client is None else AsaasInvoices(client, clock)


ADAPTERS: dict[FiscalProvider, IssuerFactory] = {FiscalProvider.ASAAS: asaas_issuer}


class FiscalIssuers:
    def __init__(self, database: Database, clock: Clock, payments: ProviderConnections) -> None:
        self._database = database
        self._clock = clock
        self.payments = payments
        self.sandbox = SandboxFiscalIssuer(database, payments.box, clock)

    async def issuer(self, tenant_id: str, provider: FiscalProvider) -> FiscalIssuer:
        """The tenant's account at `provider`; ProviderRefused when it cannot be reached (no
        adapter, or no credentials stored)."""
        if provider == FiscalProvider.SANDBOX:
            base_url = await self.sandbox.url()
            return SandboxFiscalClient(
                self.payments.http(), base_url, account_key(self.payments.box, tenant_id)
            )
        adapter = ADAPTERS.get(provider)
        if adapter is None:
            raise ProviderRefused(f"no {provider.value} fiscal issuer adapter is installed")
        async with self._database.read() as session:
            issuer = await adapter(self.payments, session, tenant_id, self._clock)
        if issuer is None:
            raise ProviderRefused(f"no {provider.value} credentials are stored")
        return issuer

    async def close(self) -> None:
        await self.sandbox.stop()
