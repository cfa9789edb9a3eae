"""`Idempotency-Key` on POST: the same key and body replay the first response; another body
with the same key is a 409. The key row is written in the same transaction as the change, so
two concurrent requests with one key create one object: the second waits on the key's unique
index (PostgreSQL) or on the write lock (SQLite), then replays what the first committed.

Errors (4xx) roll the whole transaction back, the key included, so a corrected retry with the
same key runs again. Keys are kept for 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import ForeignKey, String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from assina.core.clock import Clock
from assina.core.errors import Problem, conflict
from assina.db.base import Base
from assina.db.database import Database

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEY_LIFETIME = timedelta(hours=24)

UseCase = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int]
    response_body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Same method, path and JSON body (whatever its spacing or key order) → same fingerprint."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _replay(stored: IdempotencyKey, fingerprint: str) -> JSONResponse:
    if stored.fingerprint != fingerprint:
        raise conflict(
            "This Idempotency-Key was already used with another request; use a new key.",
            "idempotency-key-reused",
        )
    return JSONResponse(
        stored.response_body,
        status_code=stored.response_status,
        headers={REPLAYED_HEADER: "true"},
    )


async def _find_live_key(
    session: AsyncSession, tenant_id: str, key: str, now: datetime
) -> IdempotencyKey | None:
    stored = await session.get(IdempotencyKey, (tenant_id, key))
    if stored is None or stored.created_at > now - KEY_LIFETIME:
        return stored
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key
        )
    )
    return None


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            400,
            "invalid-idempotency-key",
            f"{KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
        )
    return key


async def respond_once(
    request: Request,
    database: Database,
    clock: Clock,
    tenant_id: str,
    status_code: int,
    use_case: UseCase,
) -> JSONResponse:
    """Run a POST's use case in one write transaction, honouring `Idempotency-Key`."""
    key = _idempotency_key(request)
    if key is None:
        async with database.write() as session:
            body = await use_case(session)
        return JSONResponse(body, status_code=status_code)

    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    try:
        async with database.write() as session:
            now = clock.real_now()  # keys expire in real time, even in a sandbox
            stored = await _find_live_key(session, tenant_id, key, now)
            if stored is not None:
                return _replay(stored, fingerprint)
            record = IdempotencyKey(
                tenant_id=tenant_id,
                key=key,
                fingerprint=fingerprint,
                response_status=status_code,
                response_body={},
                created_at=now,
            )
            session.add(record)
            await session.flush()
            body = await use_case(session)
            record.response_body = body
    except IntegrityError:
        # A concurrent request with this key committed first: answer what it answered.
        # Replay inside the block: leaving it rolls back, which expires the loaded row.
        async with database.read() as session:
            stored = await session.get(IdempotencyKey, (tenant_id, key))
            if stored is None:
                raise conflict(
                    "A request with this Idempotency-Key is in progress; retry.",
                    "idempotency-in-progress",
                ) from None
            return _replay(stored, fingerprint)
    return JSONResponse(body, status_code=status_code)


async def prune_idempotency_keys(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEY_LIFETIME)
    )
    return int(getattr(result, "rowcount", 0) or 0)
