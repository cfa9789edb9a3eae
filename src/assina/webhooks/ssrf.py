"""Which addresses a webhook may be sent to.

With `ASSINA_ALLOW_PRIVATE_TARGETS` off, a target that is or resolves to a loopback, private,
link-local, CGNAT, multicast, unspecified, reserved or cloud-metadata address is refused: at
creation (422) and again for the very address the sender connects to, so a name that
resolves elsewhere later (DNS rebinding) gains nothing. These are the pure rules; the checks
at creation and at connect time call them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 2048

# Not covered by the `ipaddress` flags below, or worth naming on their own.
_NAMED_NETWORKS: tuple[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network], ...] = (
    ("cloud metadata", ipaddress.ip_network("169.254.169.254/32")),
    ("cloud metadata", ipaddress.ip_network("fd00:ec2::254/128")),
    ("carrier-grade NAT", ipaddress.ip_network("100.64.0.0/10")),
    ("unique local", ipaddress.ip_network("fc00::/7")),
    ("NAT64", ipaddress.ip_network("64:ff9b::/96")),
)


class UnsafeTarget(ValueError):
    pass


def _unwrap(address: IPAddress) -> IPAddress:
    """IPv4 hidden in IPv6 (::ffff:10.0.0.1, 6to4, Teredo) is judged as the IPv4 it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def forbidden_reason(address: IPAddress) -> str | None:
    """Why a webhook may not be sent to this address; None when it may."""
    address = _unwrap(address)
    for reason, network in _NAMED_NETWORKS:
        if address.version == network.version and address in network:
            return reason
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    return next((reason for reason, hit in checks if hit), None)


def parse_target(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a webhook URL, or UnsafeTarget saying what is wrong."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget(f"not a valid URL: {error}") from None
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeTarget("the scheme must be http or https")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not allowed; use `headers`")
    default_port = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default_port


def literal_address(host: str) -> IPAddress | None:
    """The address when the host is an IP literal (such hosts skip the resolver)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_address(address: IPAddress, allow_private: bool) -> None:
    if allow_private:
        return
    reason = forbidden_reason(address)
    if reason is not None:
        raise UnsafeTarget(f"{address} is a {reason} address")
