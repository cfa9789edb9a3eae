"""API key authentication with a very short in-process cache.

Every request authenticates, so the tenant behind a key is remembered for `CACHE_SECONDS`
instead of asking the database each time. That is also how long a key revoked by another
process keeps working here (revoking in this process forgets it at once). A key that does
not exist is never cached. The cache runs on the runtime clock's real time: a reading that
went backwards counts as expired.

On a cache miss the key's `last_used_at` is written when it is a minute old or more, so a
key in steady use costs one write a minute, not one per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from assina.core.clock import Clock
from assina.core.secrets import hash_api_key
from assina.core.turns import Turns
from assina.db.database import Database
from assina.tenants.keys import authenticate, needs_touch, touch_api_key
from assina.tenants.service import TenantContext

CACHE_SECONDS = 1.0
MAX_CACHED_KEYS = 10_000


@dataclass(frozen=True)
class AuthenticatedKey:
    """A valid API key: its id (what its rate limit counts by) and its tenant."""

    key_id: str
    tenant: TenantContext
    read_at: datetime


class ApiKeyAuthenticator:
    def __init__(
        self, database: Database, clock: Clock, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self._database = database
        self._clock = clock
        self._cache_for = timedelta(seconds=cache_seconds)
        self._cache: dict[str, AuthenticatedKey] = {}
        self._lookups = Turns(1)

    def cached_key(self, api_key: str) -> AuthenticatedKey | None:
        """The key as this process read it less than the cache's time ago, without asking the
        database (None when not cached, which says nothing of its validity)."""
        cached = self._cache.get(hash_api_key(api_key))
        if cached is None or not self._fresh(cached, self._clock.real_now()):
            return None
        return cached

    def _fresh(self, cached: AuthenticatedKey, now: datetime) -> bool:
        return timedelta(0) <= now - cached.read_at < self._cache_for

    async def key_for(self, api_key: str) -> AuthenticatedKey | None:
        key_hash = hash_api_key(api_key)
        cached = self._cache.get(key_hash)
        if cached is not None and self._fresh(cached, self._clock.real_now()):
            return cached
        # One lookup of a key at a time: when its cache runs out under a burst, the first
        # request reads it and the others find it cached, instead of each asking at once.
        async with self._lookups.turn(key_hash):
            now = self._clock.real_now()
            cached = self._cache.get(key_hash)
            if cached is not None and self._fresh(cached, now):
                return cached
            return await self._look_up(key_hash, now)

    async def _look_up(self, key_hash: str, now: datetime) -> AuthenticatedKey | None:
        async with self._database.read() as session:
            owner = await authenticate(session, key_hash)
        if owner is None:
            self._cache.pop(key_hash, None)
            return None
        if needs_touch(owner.last_used_at, now):
            async with self._database.write() as session:
                await touch_api_key(session, owner.key_id, now)
        if len(self._cache) >= MAX_CACHED_KEYS:
            self._cache.clear()
        authenticated = AuthenticatedKey(owner.key_id, owner.tenant, now)
        self._cache[key_hash] = authenticated
        return authenticated

    def forget_key(self, key_id: str) -> None:
        """Drop a key from the cache (after it was revoked in this process)."""
        self._forget(lambda cached: cached.key_id == key_id)

    def forget_tenant(self, tenant_id: str) -> None:
        """Drop a tenant's cached keys (after its settings change in this process)."""
        self._forget(lambda cached: cached.tenant.tenant_id == tenant_id)

    def _forget(self, matches: Callable[[AuthenticatedKey], bool]) -> None:
        for key_hash in [h for h, cached in self._cache.items() if matches(cached)]:
            del self._cache[key_hash]
