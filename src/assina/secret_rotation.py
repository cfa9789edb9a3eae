"""Rotating ASSINA_SECRET_KEY (`assina secret-key rotate`): every value sealed with the old key
(validation tokens, endpoint secrets, endpoint custom header values, the payment settings'
Asaas credentials and inbound tokens, stored idempotent answers) is opened and sealed again
with the new key, in one transaction.

Nothing is lost if the command stops midway, whenever that is:
- the new key is on disk (or in the operator's hands) before the transaction starts;
- the transaction commits every value or none;
- a value that already opens with the new key is left as it is, so running the command again
  with the same keys finishes an interrupted rotation (and re-seals any value a process still
  running with the old key wrote after it);
- with the key file, the new key replaces `assina.secret` only after the commit, by a rename,
  and the old key is kept next to it (backups taken before the rotation need it).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from assina.core.idempotency import IdempotencyKey
from assina.core.secrets import SECRET_KEY_FILE, SecretBox, SecretKeyMismatch
from assina.db.database import Database
from assina.payment_settings.models import InboundToken, PaymentSettings
from assina.payments.models import CustomerCard
from assina.tenants.models import Tenant
from assina.webhooks.models import WebhookEndpoint

# The new key waits here until the database is sealed with it (the key file's mode).
PENDING_KEY_FILE = SECRET_KEY_FILE + ".new"
BATCH = 500  # rows read at a time, so a large idempotency table is not held in memory


class RotationRefused(Exception):
    """The keys given cannot be rotated (nothing was changed)."""


@dataclass(frozen=True)
class KeyPlan:
    old_key: str
    new_key: str
    # The data directory whose assina.secret is replaced after the commit; None when the key
    # comes from ASSINA_SECRET_KEY (the operator then sets the new value everywhere).
    key_dir: Path | None


@dataclass
class RotationReport:
    """How many stored values were sealed again, by kind; `already_new` counts the values an
    earlier, interrupted run had already sealed with the new key."""

    validation_tokens: int = 0
    endpoint_secrets: int = 0
    endpoint_header_values: int = 0
    # The Asaas API keys and webhook tokens, and the inbound tokens (payments/).
    payment_secrets: int = 0
    idempotent_answers: int = 0
    already_new: int = 0
    replaced_key_file: str | None = None
    previous_key_file: str | None = None


def new_secret_key() -> str:
    # Like the key `serve` generates on first use (core/secrets.py).
    return secrets.token_urlsafe(48)


def plan_keys(configured: str | None, configured_new: str | None, data_dir: Path) -> KeyPlan:
    """The old and new keys: the old one from ASSINA_SECRET_KEY or the key file, the new one
    from ASSINA_NEW_SECRET_KEY, or (key file only) a generated one, written first to
    assina.secret.new so that it outlives a crash."""
    if configured_new is not None and not configured_new.strip():
        raise RotationRefused("ASSINA_NEW_SECRET_KEY is empty")
    if configured:
        if configured_new is None:
            raise RotationRefused(
                "ASSINA_SECRET_KEY is set, so the new key must be given too: set "
                "ASSINA_NEW_SECRET_KEY (e.g. to the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return _distinct(KeyPlan(configured, configured_new, None))
    key_file = data_dir / SECRET_KEY_FILE
    if not key_file.exists():
        raise RotationRefused(
            f"no key to rotate: ASSINA_SECRET_KEY is unset and {key_file} does not exist"
        )
    old_key = key_file.read_text().strip()
    if configured_new == old_key:  # refused before it is written as the pending key
        raise RotationRefused("the new secret key is the current one")
    new_key = _pending_key(data_dir, configured_new)
    return _distinct(KeyPlan(old_key, new_key, data_dir))


def _distinct(plan: KeyPlan) -> KeyPlan:
    if plan.new_key == plan.old_key:
        raise RotationRefused("the new secret key is the current one")
    return plan


def _pending_key(data_dir: Path, configured_new: str | None) -> str:
    pending = data_dir / PENDING_KEY_FILE
    if pending.exists():
        left = pending.read_text().strip()
        # An interrupted rotation may already have sealed the database with this key.
        if configured_new is not None and configured_new != left:
            raise RotationRefused(
                f"{pending} holds the new key of an interrupted rotation: run again without "
                "ASSINA_NEW_SECRET_KEY to finish it"
            )
        return left
    new_key = configured_new or new_secret_key()
    _write_private(pending, new_key)
    return new_key


def _write_private(path: Path, content: str) -> None:
    """Written owner-only and flushed to disk before anything relies on it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Resealer:
    """Opens with the old key (or finds a value already sealed with the new one) and seals
    with the new key."""

    def __init__(self, old_key: str, new_key: str, report: RotationReport) -> None:
        self._old = SecretBox(old_key)
        self._new = SecretBox(new_key)
        self._report = report

    def reseal(self, sealed: str) -> str | None:
        """The value sealed with the new key, or None when it already is."""
        try:
            plain = self._old.open(sealed)
        except SecretKeyMismatch:
            self._new.open(sealed)  # neither key: SecretKeyMismatch, the transaction rolls back
            self._report.already_new += 1
            return None
        return self._new.seal(plain)

    def reseal_values(self, sealed: dict[str, str]) -> dict[str, str] | None:
        resealed = {name: self.reseal(value) for name, value in sealed.items()}
        if all(value is None for value in resealed.values()):
            return None
        return {name: value or sealed[name] for name, value in resealed.items()}


async def _rows(
    session: AsyncSession,
    keys: Sequence[InstrumentedAttribute[Any]],
    columns: Sequence[InstrumentedAttribute[Any]],
) -> AsyncIterator[tuple[Any, ...]]:
    """Every row's key and columns, BATCH at a time in key order (keyset pages: the updates
    made between pages do not move the pages)."""
    after: tuple[Any, ...] | None = None
    while True:
        query = select(*keys, *columns).order_by(*keys).limit(BATCH)
        if after is not None:
            query = query.where(_after(keys, after))
        rows = (await session.execute(query)).all()
        for row in rows:
            yield tuple(row)
        if len(rows) < BATCH:
            return
        after = tuple(rows[-1][: len(keys)])


def _after(
    keys: Sequence[InstrumentedAttribute[Any]], after: tuple[Any, ...]
) -> ColumnElement[bool]:
    if len(keys) == 1:
        single: ColumnElement[bool] = keys[0] > after[0]
        return single
    return tuple_(*keys) > tuple_(*after)


async def _reseal_column(
    session: AsyncSession,
    resealer: _Resealer,
    keys: Sequence[InstrumentedAttribute[Any]],
    column: InstrumentedAttribute[Any],
) -> int:
    """Every value of one sealed column sealed with the new key; how many changed. An empty
    one is skipped: an optional secret not set, or an answer whose use case still runs."""
    count = 0
    async for *key, sealed in _rows(session, keys, [column]):
        if not sealed:
            continue
        resealed = resealer.reseal(sealed)
        if resealed is None:
            continue
        same_row = [name == value for name, value in zip(keys, key, strict=True)]
        await session.execute(update(column.class_).where(*same_row).values({column: resealed}))
        count += 1
    return count


async def _reseal_endpoints(
    session: AsyncSession, resealer: _Resealer, report: RotationReport
) -> None:
    # Deleted endpoints too: their rows keep their sealed values.
    columns = [
        WebhookEndpoint.secret_sealed,
        WebhookEndpoint.previous_secret_sealed,
        WebhookEndpoint.headers_sealed,
    ]
    async for endpoint_id, secret, previous, headers in _rows(
        session, [WebhookEndpoint.id], columns
    ):
        changes: dict[str, Any] = {}
        if (resealed := resealer.reseal(secret)) is not None:
            changes["secret_sealed"] = resealed
            report.endpoint_secrets += 1
        if previous and (resealed := resealer.reseal(previous)) is not None:
            changes["previous_secret_sealed"] = resealed
            report.endpoint_secrets += 1
        if headers and (values := resealer.reseal_values(headers)) is not None:
            changes["headers_sealed"] = values
            report.endpoint_header_values += len(values)
        if changes:
            await session.execute(
                update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(changes)
            )


async def reseal_everything(database: Database, old_key: str, new_key: str) -> RotationReport:
    """Every sealed value sealed with `new_key`, in one transaction. SecretKeyMismatch (and
    nothing changed) when a value opens with neither key."""
    report = RotationReport()
    resealer = _Resealer(old_key, new_key, report)
    async with database.write() as session:
        report.validation_tokens = await _reseal_column(
            session, resealer, [Tenant.id], Tenant.validation_token_sealed
        )
        await _reseal_endpoints(session, resealer, report)
        for column in (
            PaymentSettings.asaas_api_key_sealed,
            PaymentSettings.asaas_webhook_token_sealed,
        ):
            report.payment_secrets += await _reseal_column(
                session, resealer, [PaymentSettings.tenant_id], column
            )
        inbound_keys = [InboundToken.tenant_id, InboundToken.provider]
        report.payment_secrets += await _reseal_column(
            session, resealer, inbound_keys, InboundToken.token_sealed
        )
        report.payment_secrets += await _reseal_column(
            session, resealer, [CustomerCard.id], CustomerCard.token_sealed
        )
        answer_keys = [IdempotencyKey.tenant_id, IdempotencyKey.key]
        report.idempotent_answers = await _reseal_column(
            session, resealer, answer_keys, IdempotencyKey.response_sealed
        )
    return report


def install_new_key_file(key_dir: Path, new_key: str, now: datetime) -> tuple[Path, Path]:
    """After the commit: the old key kept as assina.secret.replaced-<instant>, then the
    pending new key renamed over assina.secret (atomic). A crash between the two leaves the
    pending file, and the next run finishes the job."""
    key_file = key_dir / SECRET_KEY_FILE
    pending = key_dir / PENDING_KEY_FILE
    kept = _keep(key_dir, key_file.read_text().strip(), now)
    if not pending.exists():  # removed by hand since plan_keys wrote it
        _write_private(pending, new_key)
    os.replace(pending, key_file)
    _sync_directory(key_dir)
    return key_file, kept


def _keep(key_dir: Path, old_key: str, now: datetime) -> Path:
    """The old key in a file of its own: never over another kept key (two rotations within a
    second), reused when it already holds this one (a run finishing an interrupted one)."""
    stem = f"{SECRET_KEY_FILE}.replaced-{now.strftime('%Y%m%dT%H%M%SZ')}"
    for attempt in range(1, 1000):
        kept = key_dir / (stem if attempt == 1 else f"{stem}-{attempt}")
        if kept.exists():
            if kept.read_text().strip() == old_key:
                return kept
            continue
        _write_private(kept, old_key)
        return kept
    raise RotationRefused(f"too many files named {stem}* in {key_dir}")


async def rotate_secret_key(database: Database, plan: KeyPlan, now: datetime) -> RotationReport:
    report = await reseal_everything(database, plan.old_key, plan.new_key)
    if plan.key_dir is not None:
        key_file, kept = install_new_key_file(plan.key_dir, plan.new_key, now)
        report.replaced_key_file = str(key_file)
        report.previous_key_file = str(kept)
    return report
