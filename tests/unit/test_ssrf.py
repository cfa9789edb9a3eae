"""The SSRF rules for webhook targets."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.webhooks.ssrf import (
    UnsafeTarget,
    check_address,
    forbidden_reason,
    literal_address,
    parse_target,
)

FORBIDDEN = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "::1": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.0.10": "private",
    "fc00::1": "unique local",
    "fd12:3456::1": "unique local",
    "169.254.169.254": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "169.254.1.1": "link-local",
    "fe80::1": "link-local",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.255": "carrier-grade NAT",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",  # noqa: S104 - the address under test
    "::": "unspecified",
    "240.0.0.1": "reserved",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private",
    "2002:a00:1::": "private",  # 6to4 carrying 10.0.0.1
}

ALLOWED = ["8.8.8.8", "1.1.1.1", "200.147.67.142", "2606:4700:4700::1111", "172.32.0.1"]


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN.items())
def test_forbidden_addresses_and_why(address: str, reason: str) -> None:
    ip = ipaddress.ip_address(address)
    assert forbidden_reason(ip) == reason
    with pytest.raises(UnsafeTarget):
        check_address(ip, allow_private=False)
    check_address(ip, allow_private=True)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@given(st.ip_addresses(v=4, network="10.0.0.0/8") | st.ip_addresses(v=4, network="127.0.0.0/8"))
def test_every_private_or_loopback_ipv4_is_refused(address: ipaddress.IPv4Address) -> None:
    assert forbidden_reason(address) is not None
    assert forbidden_reason(ipaddress.IPv6Address(f"::ffff:{address}")) is not None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.example.com/assina", ("https", "hooks.example.com", 443)),
        ("http://hooks.example.com:8080/x?y=1", ("http", "hooks.example.com", 8080)),
        ("https://[2606:4700::1]/", ("https", "2606:4700::1", 443)),
    ],
)
def test_parse_target(url: str, expected: tuple[str, str, int]) -> None:
    assert parse_target(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com",
        "https://",
        "https://user:pass@example.com/",
        "http://example.com:99999/",
        "https://example.com/" + "a" * 2048,
        "not a url",
    ],
)
def test_bad_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        parse_target(url)


def test_literal_addresses_are_recognised() -> None:
    assert literal_address("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("[::1]") == ipaddress.ip_address("::1")
    assert literal_address("example.com") is None
