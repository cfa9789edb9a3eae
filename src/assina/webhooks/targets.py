"""The SSRF check at endpoint creation: every address the host resolves to must be allowed.

The sender checks again the address it actually connects to (the dispatcher's connector), so
this check is the early, friendly answer (a 422), not the only guard.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from assina.core.errors import invalid
from assina.webhooks.ssrf import UnsafeTarget, check_address, literal_address, parse_target

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
        addresses = [literal] if literal is not None else await _resolved(host, port)
        for address in addresses:
            check_address(address, allow_private=False)
    except UnsafeTarget as error:
        raise invalid(field, str(error)) from None


async def _resolved(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return await resolve(host, port)
    except (OSError, TimeoutError, UnicodeError) as error:
        raise UnsafeTarget(f"the host {host!r} does not resolve") from error
