"""The sandbox provider's credentials and signatures, derived from assina's secret key: an
account key per tenant (assina → sandbox) and a notification secret per tenant (sandbox →
assina, `sandbox-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">`, Stripe's
scheme). Both sides run from the same secret key, so neither is stored."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from assina.core.secrets import SecretBox

SIGNATURE_HEADER = "sandbox-signature"
# A notification older or newer than this is refused: a captured one cannot be replayed later.
TOLERANCE_SECONDS = 300
_PURPOSE = "sandbox payment provider"
_ACCOUNT_PREFIX = "sbx_"


def _root(box: SecretBox) -> bytes:
    return box.derived_key(_PURPOSE)


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def account_key(box: SecretBox, tenant_id: str) -> str:
    """What assina authenticates to the sandbox with, for one tenant."""
    return f"{_ACCOUNT_PREFIX}{tenant_id}.{_mac(_root(box), 'account:' + tenant_id)}"


def tenant_of_account_key(box: SecretBox, key: str) -> str | None:
    """The tenant an account key was made for; None for a key not made by `account_key`."""
    if not key.startswith(_ACCOUNT_PREFIX):
        return None
    tenant_id, _, _mac_part = key[len(_ACCOUNT_PREFIX) :].partition(".")
    if not tenant_id or not hmac.compare_digest(key, account_key(box, tenant_id)):
        return None
    return tenant_id


def notification_secret(box: SecretBox, tenant_id: str) -> str:
    """The secret the sandbox signs a tenant's notifications with."""
    return _mac(_root(box), "notify:" + tenant_id)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_valid(secret: str, header: str, body: bytes, now: int) -> bool:
    """Whether `header` signs `body` with `secret` within TOLERANCE_SECONDS of `now`."""
    parts = dict(part.partition("=")[::2] for part in header.split(","))
    timestamp = parts.get("t", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, int(timestamp), body)
    return hmac.compare_digest(expected, f"t={timestamp},v1={parts.get('v1', '')}")


def notification_event_id(payment: Mapping[str, Any]) -> str:
    """What the sandbox keys a payment's notification on, and assina's reconciliation with
    it (so that both find one inbound event): a received PIX payment's end-to-end id (one
    per transfer), else the payment's id and status."""
    if payment["status"] == "received" and payment.get("end_to_end_id"):
        return str(payment["end_to_end_id"])
    return f"{payment['id']}.{payment['status']}"
