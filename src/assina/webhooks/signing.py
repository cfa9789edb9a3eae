"""Standard Webhooks signatures (https://www.standardwebhooks.com), pure functions.

A secret is `whsec_` + base64 of random bytes; the key is those bytes. The signed content is
`{webhook-id}.{webhook-timestamp}.{body}` and the signature `v1,` + base64 of its HMAC-SHA256.
While a rotated secret is still live, one signature per secret is sent, space-separated, so a
receiver holding either secret verifies the message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SIGNATURE_VERSION = "v1"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
# What receivers accept between the timestamp and their clock (the reference libraries' value).
TOLERANCE_SECONDS = 5 * 60


class InvalidSecret(ValueError):
    pass


def new_secret(size: int = SECRET_BYTES) -> str:
    if not MIN_SECRET_BYTES <= size <= MAX_SECRET_BYTES:
        raise InvalidSecret(f"secrets have {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key behind a `whsec_…` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as error:
        raise InvalidSecret("a webhook secret is base64 after its prefix") from error


def signed_content(message_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{message_id}.{timestamp}.".encode() + body


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(
        secret_key(secret), signed_content(message_id, timestamp, body), hashlib.sha256
    ).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_header(secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per live secret, space-separated."""
    if not secrets_:
        raise InvalidSecret("at least one secret signs a message")
    return " ".join(signature(secret, message_id, timestamp, body) for secret in secrets_)


def signature_headers(
    secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, message_id, timestamp, body),
    }


def verify(
    secret: str, message_id: str, timestamp: int, body: bytes, header: str, now: int
) -> bool:
    """What a receiver checks: the timestamp is recent and one of the signatures matches."""
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split(" "))
