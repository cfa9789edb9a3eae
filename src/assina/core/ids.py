"""Prefixed, sortable identifiers: `cus_` + 26 Crockford base32 characters
(48-bit millisecond time, then 80 random bits).

IDs only need to be unique and roughly time-ordered; they are not business time, so they read
the wall clock directly. Within one process they are strictly increasing.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1

PREFIXES = frozenset(
    {
        "ten",
        "key",
        "cus",
        "prd",
        "ctr",
        "chg",
        "exp",
        "ord",
        "nfs",
        "evt",
        "whe",
        "msg",
        "att",
        "eml",
        "inb",  # an inbound notification from a payment provider
        "card",  # a customer's saved card (product.md §3)
        "cat",  # one card attempt: a charge tried on a card
        "reg",  # a charge's registration with its PIX or boleto provider
        "nfsx",  # the sandbox fiscal issuer's own invoice ids
        "sup",  # a supplier, whom expenses are paid to
        "usr",  # a console user (users/)
        "ses",  # a console user's signed-in session
    }
)

_lock = threading.Lock()
_last_ms = 0
_last_random = 0


# Every pair of characters, by its 10 bits: ids are made by the thousand in the billing
# calendar's batches, and two characters per step halve the encoding's cost.
_PAIRS = tuple(high + low for high in _ALPHABET for low in _ALPHABET)


def _encode(value: int, length: int) -> str:
    """The low `length` * 5 bits of `value`, most significant character first."""
    pairs, odd = divmod(length, 2)
    parts = []
    for _ in range(pairs):
        parts.append(_PAIRS[value & 1023])
        value >>= 10
    if odd:
        parts.append(_ALPHABET[value & 31])
    parts.reverse()
    return "".join(parts)


def _next_parts() -> tuple[int, int]:
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _last_random = secrets.randbits(_RANDOM_BITS - 1)  # headroom for increments
        elif _last_random < _RANDOM_MAX:
            # Same millisecond (or the clock stepped back): keep order by counting up.
            _last_random += 1
        else:
            _last_ms += 1
            _last_random = secrets.randbits(_RANDOM_BITS - 1)
        return _last_ms, _last_random


def new_id(prefix: str) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    ms, rand = _next_parts()
    return f"{prefix}_{_encode(ms << _RANDOM_BITS | rand, 26)}"
