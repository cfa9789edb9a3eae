"""The customer's payment page link of a charge: `{base}/pay/{token}`.

The token is `<charge id>.<MAC>`: HMAC-SHA256 of the charge id under a key derived from
ASSINA_SECRET_KEY (`SecretBox.derived_key("payment page")`), its first 16 bytes in URL-safe
base64 (22 characters). Nothing is stored, so a charge issued by a calendar batch costs one
HMAC, no write; the page checks the MAC in constant time and then reads the charge. Rotating
ASSINA_SECRET_KEY changes every link (links already e-mailed stop working).

Each entry point installs the links once (`install_payment_links`, with the server's
secret box and ASSINA_PUBLIC_URL), as it installs the reactions: the calendar and the worker
build charges' JSON with no request to take a base URL from. A process that installed none
(a script calling use cases directly) shows `payment_url: null`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from assina.charges.models import ChargeStatus
from assina.core.secrets import SecretBox

# Where `assina serve` listens by default: the base when ASSINA_PUBLIC_URL is unset.
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
PAGE_PATH = "/pay/"
MAC_BYTES = 16  # 128 bits: 22 characters of URL-safe base64
MAX_TOKEN = 128


class PaymentLinks:
    """Makes and checks the payment page's tokens and URLs with one key and base URL."""

    def __init__(self, key: bytes, base_url: str) -> None:
        # The key's inner and outer pads are hashed once; each MAC copies that state (a
        # calendar batch makes hundreds).
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self.base_url = base_url.rstrip("/")

    def _mac(self, charge_id: str) -> str:
        mac = self._keyed.copy()
        mac.update(charge_id.encode())
        digest = mac.digest()
        return base64.urlsafe_b64encode(digest[:MAC_BYTES]).rstrip(b"=").decode()

    def token(self, charge_id: str) -> str:
        return f"{charge_id}.{self._mac(charge_id)}"

    def url(self, charge_id: str) -> str:
        return f"{self.base_url}{PAGE_PATH}{self.token(charge_id)}"

    def charge_id_of(self, token: str) -> str | None:
        """The charge a token names, or None when its MAC does not verify."""
        if len(token) > MAX_TOKEN:
            return None
        charge_id, dot, mac = token.rpartition(".")
        if not dot or not charge_id:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(charge_id).encode()):
            return None
        return charge_id


def payment_links_for(box: SecretBox, public_url: str | None) -> PaymentLinks:
    return PaymentLinks(box.derived_key("payment page"), public_url or DEFAULT_BASE_URL)


_installed: PaymentLinks | None = None


def install_payment_links(box: SecretBox, public_url: str | None) -> PaymentLinks:
    """Set the process's links (app, worker, the command line, the tests' conftest)."""
    global _installed
    _installed = payment_links_for(box, public_url)
    return _installed


def payment_url(charge_id: str, status: ChargeStatus) -> str | None:
    """The charge's payment page while it is open (something to pay); None otherwise, or
    when the process installed no links."""
    if status != ChargeStatus.OPEN or _installed is None:
        return None
    return _installed.url(charge_id)
