"""`Idempotency-Key` on POST: the same key and body replay the first response; another body
with the same key is a 409. The key row is written in the same transaction as the change, so
two concurrent requests with one key create one object: the second waits on the key's unique
index (PostgreSQL) or on the write lock (SQLite), then replays what the first committed.

Errors (4xx) roll the whole transaction back, the key included, so a corrected retry with the
same key runs again. Keys are kept for 24 hours. Of the request, a key keeps only a hash
(`request_fingerprint`), keyed for a body that holds a card's number, never the body.

The stored answer is sealed with the SecretBox: some answers carry a secret (an endpoint's
`whsec_…`, the validation token) and all may carry personal data, and the table lives 24 hours
in every backup. Sealing costs about 15 µs per request (README, secrets at rest).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import Problem, conflict
from assina.core.idempotency_keys import (
    KEY_LIFETIME,
    MAX_KEY_LENGTH,
    IdempotencyKey,
    prune_idempotency_keys,
)
from assina.core.secrets import SecretBox
from assina.db.database import Database

__all__ = [
    "KEY_LIFETIME",
    "MAX_KEY_LENGTH",
    "IdempotencyKey",
    "idempotency_key",
    "open_answer",
    "prune_idempotency_keys",
    "request_fingerprint",
    "respond_once",
    "respond_once_in_steps",
    "seal_answer",
]

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
FINGERPRINT_PURPOSE = "idempotency fingerprints"

UseCase = Callable[[AsyncSession], Awaitable[dict[str, Any]]]
# A use case that commits transactions of its own (a test clock advance runs a day in each).
LongUseCase = Callable[[], Awaitable[dict[str, Any]]]
# The status a key holds while its long use case runs.
IN_PROGRESS = 0

# What the OpenAPI document promises: printable ASCII, no space at either end (HTTP strips
# it). The check below is looser (any printable character, as a Latin-1 header decodes), so a
# key that follows the document is never refused.
KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
KEY_DESCRIPTION = (
    "Makes the request safe to retry: the same key with the same body within 24 hours answers "
    "what the first request answered (header `Idempotent-Replayed: true`) and changes nothing "
    "more; the same key with another body is a 409 `idempotency-key-reused`. A request that "
    "fails with a 4xx stores nothing, so a corrected retry may reuse its key. 1 to "
    f"{MAX_KEY_LENGTH} printable ASCII characters (a UUID is a good choice); keys are per "
    "tenant. An invalid key is a 400 `invalid-idempotency-key`."
)


def _key_schema(schema: dict[str, Any]) -> None:
    # Replaces the `anyOf [string, null]` of an optional header: a header is a string or absent.
    schema.clear()
    schema.update(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_KEY_LENGTH,
            "pattern": KEY_PATTERN,
            "examples": ["8e1f0c2a-3b4d-4c5e-9f60-718293a4b5c6"],
        }
    )


def seal_answer(box: SecretBox, body: dict[str, Any]) -> str:
    return box.seal(json.dumps(body, separators=(",", ":")))


def open_answer(box: SecretBox, sealed: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(box.open(sealed))
    return body


def request_fingerprint(method: str, path: str, body: bytes, key: bytes | None = None) -> str:
    """Same method, path and JSON body (whatever its spacing or key order) → same fingerprint.

    With `key`, an HMAC-SHA256: for a body that holds what must not be found again from the
    table (a sandbox card's number and CVC), since an unkeyed hash of a card number is
    searched through in hours (PCI DSS asks for a keyed hash)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
        canonical = body
    digest = hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)
    for part in (method.encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _in_progress() -> Problem:
    return conflict(
        "A request with this Idempotency-Key is in progress; retry.", "idempotency-in-progress"
    )


def _replay(stored: IdempotencyKey, fingerprint: str, box: SecretBox) -> JSONResponse:
    if stored.fingerprint != fingerprint:
        raise conflict(
            "This Idempotency-Key was already used with another request; use a new key.",
            "idempotency-key-reused",
        )
    if stored.response_status == IN_PROGRESS:
        raise _in_progress()
    return JSONResponse(
        open_answer(box, stored.response_sealed),
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


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(alias=KEY_HEADER, description=KEY_DESCRIPTION, json_schema_extra=_key_schema),
    ] = None,
) -> str | None:
    """The `Idempotency-Key` header, checked; a dependency, so that every route that honours
    the key declares it in the OpenAPI document (deps.IdempotentCaller)."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            400,
            "invalid-idempotency-key",
            f"{KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
        )
    return key


async def _new_key_or_replay(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    tenant_id: str,
    key: str,
    fingerprint: str,
    status: int,
) -> IdempotencyKey | JSONResponse:
    """The key's new row with `status` (added to the session, its answer still to come), or
    the replay of what a live key with this name answered."""
    now = clock.real_now()  # keys expire in real time, even in a sandbox
    stored = await _find_live_key(session, tenant_id, key, now)
    if stored is not None:
        return _replay(stored, fingerprint, box)
    record = IdempotencyKey(
        tenant_id=tenant_id,
        key=key,
        fingerprint=fingerprint,
        response_status=status,
        response_sealed="",
        created_at=now,
    )
    session.add(record)
    return record


async def respond_once(
    request: Request,
    database: Database,
    clock: Clock,
    box: SecretBox,
    tenant_id: str,
    key: str | None,
    status_code: int,
    use_case: UseCase,
) -> JSONResponse:
    """Run a POST's use case in one write transaction, honouring `key` (from
    `idempotency_key`)."""
    if key is None:
        async with database.write() as session:
            body = await use_case(session)
        return JSONResponse(body, status_code=status_code)

    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    try:
        async with database.write() as session:
            record = await _new_key_or_replay(
                session, clock, box, tenant_id, key, fingerprint, status_code
            )
            if isinstance(record, JSONResponse):
                return record
            await session.flush()
            body = await use_case(session)
            record.response_sealed = seal_answer(box, body)
    except IntegrityError:
        # A concurrent request with this key committed first: answer what it answered.
        # Replay inside the block: leaving it rolls back, which expires the loaded row.
        async with database.read() as session:
            stored = await session.get(IdempotencyKey, (tenant_id, key))
            if stored is None:
                raise _in_progress() from None
            return _replay(stored, fingerprint, box)
    return JSONResponse(body, status_code=status_code)


async def respond_once_in_steps(
    request: Request,
    database: Database,
    clock: Clock,
    box: SecretBox,
    tenant_id: str,
    key: str | None,
    status_code: int,
    use_case: LongUseCase,
    *,
    secret_body: bool = False,
) -> JSONResponse:
    """`respond_once` for a use case that commits many transactions of its own: the key is
    taken first, in a transaction of its own, as in progress (a retry meanwhile gets 409
    `idempotency-in-progress`); the answer is stored once the use case has run. A use case
    that fails frees the key, so a corrected retry may reuse it; one whose process dies
    holds it for the key's 24 hours (what it did stays done: retry with a new key).

    `secret_body`: the request's fingerprint is keyed from the secret key (a card's number
    and CVC); after `assina secret-key rotate` such a key no longer matches its request."""
    if key is None:
        return JSONResponse(await use_case(), status_code=status_code)
    keyed = box.derived_key(FINGERPRINT_PURPOSE) if secret_body else None
    sent = await request.body()
    fingerprint = request_fingerprint(request.method, request.url.path, sent, keyed)
    try:
        async with database.write() as session:
            record = await _new_key_or_replay(
                session, clock, box, tenant_id, key, fingerprint, IN_PROGRESS
            )
            if isinstance(record, JSONResponse):
                return record
    except IntegrityError:
        raise _in_progress() from None
    try:
        body = await use_case()
    except BaseException:
        await _forget_key(database, tenant_id, key)
        raise
    async with database.write() as session:
        taken = await session.get(IdempotencyKey, (tenant_id, key))
        if taken is not None:
            taken.response_status = status_code
            taken.response_sealed = seal_answer(box, body)
    return JSONResponse(body, status_code=status_code)


async def _forget_key(database: Database, tenant_id: str, key: str) -> None:
    async with database.write() as session:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key
            )
        )
