"""The HTTP client of Asaas API v3: one request, its errors told apart.

Every answer is read with `parse_float=Decimal`, so a `value` in reais reaches assina exactly.
A failure worth retrying (a timeout, a connection error, a 5xx, a 429, an answer that is not
JSON) is `ProviderUnavailable`; any other 4xx is `AsaasRefused`, a `ProviderRefused` carrying
Asaas's `errors[]`. Only the method, the path and the status are logged: never a body, which
may hold a card. `download` fetches a file an answer links to (an invoice's PDF or XML).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from assina import __version__
from assina.payment_settings.models import AsaasEnvironment
from assina.payments.providers import ProviderRefused, ProviderUnavailable

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

BASE_URLS: Mapping[AsaasEnvironment, str] = MappingProxyType(
    {
        AsaasEnvironment.SANDBOX: "https://api-sandbox.asaas.com/v3",
        AsaasEnvironment.PRODUCTION: "https://api.asaas.com/v3",
    }
)
DEFAULT_TIMEOUT = timedelta(seconds=15)
# Required by Asaas for root accounts created from 2024-06-13 (docs/payments.md).
USER_AGENT = f"assina/{__version__}"
TRY_AGAIN_STATUSES = frozenset({429})
# A document Asaas links to (an NFS-e's PDF or XML) is a few hundred kB; more is not one.
MAX_DOWNLOAD_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5

Json = dict[str, Any]
Query = Mapping[str, str | int]


@dataclass(frozen=True)
class AsaasError:
    """One item of Asaas's `{"errors": [{"code", "description"}]}`."""

    code: str
    description: str


class AsaasRefused(ProviderRefused):
    """A 4xx from Asaas, with its errors (their descriptions are the exception's text)."""

    def __init__(self, status: int, errors: tuple[AsaasError, ...]) -> None:
        super().__init__("; ".join(error.description for error in errors))
        self.status = status
        self.errors = errors

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(error.code for error in self.errors)


class AsaasClient:
    """Requests to one Asaas account. `base_url` overrides the environment's (tests point it
    at the stand-in, `http://127.0.0.1:<port>/v3`); `session` is used when given (and left
    open), otherwise the client owns one and `close()` closes it."""

    def __init__(
        self,
        api_key: str,
        *,
        environment: AsaasEnvironment = AsaasEnvironment.SANDBOX,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = (base_url or BASE_URLS[environment]).rstrip("/")
        self._api_key = api_key
        self._session = session
        self._owns_session = session is None
        self._timeout_seconds = timeout.total_seconds()

    def _client_timeout(self) -> aiohttp.ClientTimeout:
        import aiohttp  # aiohttp (~0.3 s to import) only once a call is made

        return aiohttp.ClientTimeout(total=self._timeout_seconds)

    def __repr__(self) -> str:  # never the key
        return f"AsaasClient({self.base_url!r})"

    async def __aenter__(self) -> AsaasClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str, query: Query | None = None) -> Json:
        return await self._request("GET", path, query=query)

    async def post(self, path: str, body: Mapping[str, Any] | None = None) -> Json:
        return await self._request("POST", path, body=body)

    async def put(self, path: str, body: Mapping[str, Any]) -> Json:
        return await self._request("PUT", path, body=body)

    async def delete(self, path: str) -> Json:
        return await self._request("DELETE", path)

    async def download(self, url: str, *, limit: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """The bytes at `url`, a link an answer gave (an invoice's `pdfUrl`, `xmlUrl`). The
        API key is not sent: the link is one Asaas hands out to be opened as it is, and it may
        point at another host. Redirects are followed (a storage host's); failures map as a
        request's do, and a file over `limit` bytes is refused."""
        if not url.startswith(("https://", "http://")):
            raise ProviderRefused(f"Asaas linked to a document assina cannot fetch: {url[:80]}")
        import aiohttp

        try:
            async with self._http().get(
                url,
                headers={"User-Agent": USER_AGENT},
                timeout=self._client_timeout(),
                max_redirects=MAX_REDIRECTS,
            ) as answer:
                status = answer.status
                content = await _read_up_to(answer, limit + 1) if status < 300 else b""
        except TimeoutError as error:
            raise ProviderUnavailable("Asaas's document did not arrive in time") from error
        except aiohttp.ClientError as error:
            reason = type(error).__name__
            raise ProviderUnavailable(f"Asaas's document could not be fetched: {reason}") from error
        log.debug("asaas document: %s", status)
        if 400 <= status < 500 and status not in TRY_AGAIN_STATUSES:
            raise AsaasRefused(status, (AsaasError(f"http_{status}", f"Asaas answered {status}"),))
        if not 200 <= status < 300:
            raise ProviderUnavailable(f"Asaas answered {status} for a document")
        if len(content) > limit:
            raise ProviderRefused(f"Asaas's document is larger than {limit} bytes")
        return content

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession()
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Json:
        headers = {
            "access_token": self._api_key,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        import aiohttp

        try:
            async with self._http().request(
                method,
                f"{self.base_url}{path}",
                params=None if query is None else {k: str(v) for k, v in query.items()},
                data=data,
                headers=headers,
                timeout=self._client_timeout(),
                allow_redirects=False,
            ) as answer:
                status, text = answer.status, await answer.text()
        except TimeoutError as error:
            log.debug("asaas %s %s: timed out", method, path)
            raise ProviderUnavailable(f"Asaas did not answer {method} {path} in time") from error
        except aiohttp.ClientError as error:
            reason = type(error).__name__
            log.debug("asaas %s %s: %s", method, path, reason)
            raise ProviderUnavailable(f"Asaas could not be reached: {reason}") from error
        log.debug("asaas %s %s: %s", method, path, status)
        return read_answer(status, text)


async def _read_up_to(answer: aiohttp.ClientResponse, size: int) -> bytes:
    """The body, or its first `size` bytes when it is longer (nothing more is read)."""
    content = bytearray()
    async for chunk in answer.content.iter_chunked(64 * 1024):
        content += chunk
        if len(content) >= size:
            break
    return bytes(content[:size])


def read_answer(status: int, text: str) -> Json:
    """The JSON object of a 2xx; the error its status means otherwise."""
    if status >= 500 or status in TRY_AGAIN_STATUSES or status < 200 or 300 <= status < 400:
        raise ProviderUnavailable(f"Asaas answered {status}")
    parsed = _json_object(text)
    if status >= 400:
        raise AsaasRefused(status, _errors(status, parsed))
    if parsed is None:
        raise ProviderUnavailable(f"Asaas answered {status} with a body that is not JSON")
    return parsed


def _json_object(text: str) -> Json | None:
    try:
        parsed = json.loads(text, parse_float=Decimal)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _errors(status: int, body: Json | None) -> tuple[AsaasError, ...]:
    items = body.get("errors") if body is not None else None
    errors = tuple(
        AsaasError(code=str(item.get("code", "")), description=str(item.get("description", "")))
        for item in (items if isinstance(items, list) else ())
        if isinstance(item, dict)
    )
    return errors or (AsaasError(code=f"http_{status}", description=f"Asaas answered {status}"),)
