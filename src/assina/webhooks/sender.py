"""Sending one delivery over HTTP: one pooled aiohttp session per process, no redirects, a
total timeout, bounded response reads, and the SSRF guard on the very socket being opened."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp

from assina import __version__
from assina.webhooks.retries import DEFAULT_SCHEDULE
from assina.webhooks.ssrf import UnsafeTarget, check_address

USER_AGENT = f"assina-webhooks/{__version__}"
RESPONSE_EXCERPT_BYTES = 4096
MAX_CONNECTIONS = 200


@dataclass(frozen=True)
class Delivery:
    """Everything one attempt needs, read in the claim transaction."""

    message_id: str
    tenant_id: str
    endpoint_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    # The tenant's retry schedule, for when this attempt fails.
    retry_schedule: Sequence[timedelta] = DEFAULT_SCHEDULE
    # Attempts made before this one.
    attempt_count: int = 0


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None
    timed_out: bool = False
    retry_after: str | None = None
    # Nothing could be sent and retrying will not change that (e.g. no format for the type).
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def guarded_socket_factory(allow_private: bool) -> Any:
    """aiohttp's `socket_factory`: refuses forbidden addresses at the moment of connecting,
    whatever the name resolved to and even for IP-literal URLs (which skip the resolver)."""

    def factory(addr_info: Any) -> socket.socket:
        family, type_, proto, _canonical, address = addr_info
        try:
            check_address(ipaddress.ip_address(address[0]), allow_private)
        except UnsafeTarget:
            # Not which address: the attempt's error is shown to the tenant (an oracle).
            raise OSError("refused by the SSRF guard: not a public address") from None
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def new_http_session(allow_private: bool, timeout: timedelta) -> aiohttp.ClientSession:
    # No per-host cap here: the dispatcher caps sends per endpoint, and two endpoints on one
    # host must not share (and so starve each other of) connections.
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS,
        limit_per_host=0,
        socket_factory=guarded_socket_factory(allow_private),
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout.total_seconds()),
        auto_decompress=False,
        headers={"User-Agent": USER_AGENT},
    )


async def send(http: aiohttp.ClientSession, delivery: Delivery) -> Outcome:
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        async with http.post(
            delivery.url, data=delivery.body, headers=delivery.headers, allow_redirects=False
        ) as response:
            excerpt = await response.content.read(RESPONSE_EXCERPT_BYTES)
            return Outcome(
                delivery,
                response.status,
                elapsed_ms(),
                excerpt.decode("utf-8", errors="replace"),
                None,
                retry_after=response.headers.get("Retry-After"),
            )
    except TimeoutError:
        return Outcome(delivery, None, elapsed_ms(), None, "timeout", timed_out=True)
    except aiohttp.ClientConnectorError as error:
        # The underlying OSError says why (refused, unreachable, or refused by the SSRF guard).
        message = f"cannot connect to {error.host}:{error.port}: {error.os_error}"[:500]
        return Outcome(delivery, None, elapsed_ms(), None, message)
    except (aiohttp.ClientError, OSError, ValueError) as error:
        message = f"{type(error).__name__}: {error}"[:500]
        return Outcome(delivery, None, elapsed_ms(), None, message)
