"""The SSRF check at endpoint creation: every address the host resolves to must be allowed.

The sender checks again the address it actually connects to (the dispatcher's connector), so
this check is the early, friendly answer (a 422), not the only guard.

A refused host name is never told what it resolved to, nor whether it resolved at all: that
would make the API an oracle of the network's internal names. An address written in the URL
is told which rule refused it: the caller wrote it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from assina.core.errors import invalid
from assina.webhooks.ssrf import (
    UnsafeTarget,
    check_address,
    forbidden_reason,
    literal_address,
    parse_target,
)

RESOLVE_TIMEOUT_SECONDS = 5.0


async def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
    )
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def check_target(url: str, allow_private: bool, field: str = "url") -> None:
    """Raise a 422 naming `field` when the URL may not receive webhooks."""
    try:
        _scheme, host, port = parse_target(url)
        if allow_private:
            return
        literal = literal_address(host)
        if literal is not None:
            check_address(literal, allow_private=False)
            return
        await _check_public_name(host, port)
    except UnsafeTarget as error:
        raise invalid(field, str(error)) from None


async def _check_public_name(host: str, port: int) -> None:
    refused = UnsafeTarget(
        f"the host {host!r} does not resolve to public addresses only (loopback, private, "
        "link-local and cloud-metadata addresses may not receive webhooks)"
    )
    try:
        addresses = await resolve(host, port)
    except (OSError, TimeoutError, UnicodeError):
        raise refused from None
    if any(forbidden_reason(address) is not None for address in addresses):
        raise refused
