"""An endpoint's static headers: which a tenant may set, checked when they are saved and again
when a delivery is built (endpoints saved under older, looser rules must still deliver)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_HEADERS = 20
MAX_NAME_LENGTH = 64
MAX_VALUE_LENGTH = 1024
# Names and values together, UTF-8 bytes.
MAX_TOTAL_BYTES = 8192

# RFC 9110 §5.6.2 token, matched whole (`$` would let a trailing "\n" through).
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
# Control characters (C0, DEL, C1); a horizontal tab is field-value whitespace (RFC 9110 §5.5).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

# Hop-by-hop and connection-specific headers (RFC 9110 §7.6.1, RFC 9113 §8.2.2), framing and
# routing ones that would make the request ambiguous (request smuggling, RFC 9112 §6.1), and
# those assina sets on every delivery (the dispatcher and the HTTP client).
DENIED_HEADERS = frozenset(
    {
        "accept-encoding",
        "connection",
        "expect",
        "host",
        "http2-settings",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-validation-token",
    }
)
# `content-*` describe the body, which is assina's (length, type, encoding, …); `webhook-*` are
# the Standard Webhooks headers; `proxy-*` speak to proxies on the way.
DENIED_PREFIXES = ("content-", "webhook-", "proxy-")


def _any_case(text: str) -> str:
    # Names hold letters, digits and "-" only: nothing to escape.
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in text)


_DENIED_NAMES = "|".join(_any_case(name) for name in sorted(DENIED_HEADERS))
_DENIED_PREFIXES = "|".join(_any_case(prefix) for prefix in DENIED_PREFIXES)
_DENIED_NAME = f"^({_DENIED_NAMES}|({_DENIED_PREFIXES}).*)$"
# The rules above for the OpenAPI document (all but two it cannot state: the size of all the
# headers together, and one name sent twice in two cases).
HEADERS_SCHEMA: dict[str, Any] = {
    "maxProperties": MAX_HEADERS,
    "propertyNames": {
        "pattern": f"^{_TOKEN.pattern}$",
        "maxLength": MAX_NAME_LENGTH,
        "not": {"pattern": _DENIED_NAME},
    },
    "additionalProperties": {
        "type": "string",
        "maxLength": MAX_VALUE_LENGTH,
        "pattern": "^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f]*$",
    },
}


def header_problem(name: str, value: str) -> str | None:
    """Why this static header may not be sent, or None when it may."""
    if len(name) > MAX_NAME_LENGTH or not _TOKEN.fullmatch(name):
        allowed = "letters, digits and !#$%&'*+.^_`|~-"
        return f"{name!r} is not a header name ({allowed}, 1 to {MAX_NAME_LENGTH} of them)"
    lowered = name.lower()
    if lowered in DENIED_HEADERS or lowered.startswith(DENIED_PREFIXES):
        return f"{name!r} is a header assina sets or the connection owns; it cannot be set"
    if len(value) > MAX_VALUE_LENGTH:
        return f"the value of {name!r} is longer than {MAX_VALUE_LENGTH} characters"
    if _CONTROL.search(value):
        return f"the value of {name!r} has a control character"
    return None


def _size(headers: Mapping[str, str]) -> int:
    return sum(len(name.encode()) + len(value.encode()) for name, value in headers.items())


def _repeated(name: str, seen: set[str]) -> str | None:
    # Names are case-insensitive: "X-Key" and "x-key" would go out as two lines of one header.
    return f"{name!r} is set twice (names ignore case)" if name.lower() in seen else None


def checked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The save-time check: every header must pass, and all of them fit the caps."""
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    for name, value in headers.items():
        problem = header_problem(name, value) or _repeated(name, seen)
        if problem is not None:
            raise ValueError(problem)
        seen.add(name.lower())
    if _size(headers) > MAX_TOTAL_BYTES:
        raise ValueError(f"names and values together exceed {MAX_TOTAL_BYTES} bytes")
    return headers


def sendable_headers(headers: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The send-time filter: the headers that may go out, and why each other one was dropped.
    Headers past the count or size caps are dropped too, in the order they are stored."""
    kept: dict[str, str] = {}
    dropped: list[str] = []
    seen: set[str] = set()
    for name, value in headers.items():
        problem = header_problem(name, value) or _repeated(name, seen)
        if problem is None and len(kept) >= MAX_HEADERS:
            problem = f"{name!r} is past the first {MAX_HEADERS} headers"
        if problem is None and _size({**kept, name: value}) > MAX_TOTAL_BYTES:
            problem = f"{name!r} would take the headers past {MAX_TOTAL_BYTES} bytes"
        if problem is None:
            kept[name] = value
            seen.add(name.lower())
        else:
            dropped.append(problem)
    return kept, dropped
