"""Secrets at rest: API keys kept only as hashes; tokens, endpoint secrets, endpoint custom
header values and stored idempotent answers encrypted with a key derived from
`ASSINA_SECRET_KEY` (generated into the data directory on first use when unset)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_KEY_FILE = "assina.secret"  # noqa: S105 - a file name, not a secret
# Live and sandbox keys are told apart at a glance (as Stripe's are).
LIVE_KEY_PREFIX = "sk_live_"
SANDBOX_KEY_PREFIX = "sk_test_"


class SecretKeyMismatch(Exception):
    """A stored secret was sealed with another secret key: nothing sealed can be opened, so
    a process that meets one stops instead of failing the same way every second."""

    def __init__(self) -> None:
        super().__init__(
            "a stored secret cannot be decrypted with this process's ASSINA_SECRET_KEY: every "
            "process (serve, worker, the command line) must share the ASSINA_SECRET_KEY that "
            "sealed it (or, when the variable is unset, the same $ASSINA_DATA_DIR/assina.secret)"
        )


def load_or_create_secret_key(configured: str | None, data_dir: Path) -> str:
    if configured:
        return configured
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # created owner-only
    key = secrets.token_urlsafe(48)
    # Written once, readable by the owner only: losing it makes stored tokens unreadable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


class SecretBox:
    """Encrypts small secrets (validation tokens, endpoint secrets) for storage."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"assina secrets at rest v1",
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._secret_key = secret_key

    def derived_key(self, purpose: str) -> bytes:
        """A key for one purpose (the sandbox provider's accounts, say), derived from the
        secret key like the sealing key but never equal to it: a new secret key changes it."""
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"assina {purpose} v1".encode(),
        ).derive(self._secret_key.encode())

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise SecretKeyMismatch from error

    def seal_values(self, plain: dict[str, str]) -> dict[str, str]:
        """Each value sealed, the names kept (a webhook endpoint's custom headers)."""
        return {name: self.seal(value) for name, value in plain.items()}

    def open_values(self, sealed: dict[str, str]) -> dict[str, str]:
        return {name: self.open(value) for name, value in sealed.items()}


def new_api_key(sandbox: bool) -> str:
    prefix = SANDBOX_KEY_PREFIX if sandbox else LIVE_KEY_PREFIX
    return prefix + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    # API keys carry 256 random bits, so a fast hash is enough and keeps auth cheap.
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_validation_token() -> str:
    return secrets.token_hex(32)
