"""API key authentication with a short in-process cache.

Every request authenticates, so the tenant behind a key is remembered for a few seconds
instead of asking the database each time. A revoked key therefore stops working within
`CACHE_SECONDS`; a key that does not exist is never cached.
"""

from __future__ import annotations

import time

from assina.core.secrets import hash_api_key
from assina.db.database import Database
from assina.tenants.service import TenantContext, authenticate

CACHE_SECONDS = 30.0
MAX_CACHED_KEYS = 10_000


class ApiKeyAuthenticator:
    def __init__(self, database: Database, cache_seconds: float = CACHE_SECONDS) -> None:
        self._database = database
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[TenantContext, float]] = {}

    async def tenant_for(self, api_key: str) -> TenantContext | None:
        key_hash = hash_api_key(api_key)
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._database.read() as session:
            tenant = await authenticate(session, key_hash)
        if tenant is None:
            self._cache.pop(key_hash, None)
            return None
        if len(self._cache) >= MAX_CACHED_KEYS:
            self._cache.clear()
        self._cache[key_hash] = (tenant, now + self._cache_seconds)
        return tenant

    def forget_tenant(self, tenant_id: str) -> None:
        """Drop a tenant's cached keys (after its settings change in this process)."""
        for key_hash in [h for h, (t, _) in self._cache.items() if t.tenant_id == tenant_id]:
            del self._cache[key_hash]
