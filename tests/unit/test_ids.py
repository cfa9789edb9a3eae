"""Prefixed, sortable ids."""

from __future__ import annotations

import re
import threading
import time
from itertools import pairwise

import pytest

from assina.core.ids import PREFIXES, new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY = re.compile(rf"^[{CROCKFORD}]{{26}}$")
# The prefixes the product contract names (plus `key` for API keys).
CONTRACT_PREFIXES = {
    "ten",
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
}


def _decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + CROCKFORD.index(char)
    return value


def test_every_contract_prefix_is_known() -> None:
    assert CONTRACT_PREFIXES <= PREFIXES


@pytest.mark.parametrize("prefix", sorted(PREFIXES))
def test_shape(prefix: str) -> None:
    identifier = new_id(prefix)
    head, separator, body = identifier.partition("_")
    assert (head, separator) == (prefix, "_")
    assert len(identifier) == len(prefix) + 1 + 26
    assert BODY.match(body), identifier
    assert len(identifier) <= 40  # the width of every id column


def test_no_ambiguous_characters() -> None:
    bodies = "".join(new_id("cus")[4:] for _ in range(2000))
    assert not set(bodies) & set("ILOUilou")


@pytest.mark.parametrize("prefix", ["", "foo", "CUS", "cus_", "cu", "customer", " cus", "ten "])
def test_unknown_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="unknown id prefix"):
        new_id(prefix)


def test_many_in_a_row_are_unique_and_strictly_increasing() -> None:
    ids = [new_id("evt") for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(a < b for a, b in pairwise(ids))


def test_order_holds_across_prefixes() -> None:
    """The part after the prefix sorts by creation, whatever the prefix."""
    prefixes = sorted(PREFIXES)
    bodies = [new_id(prefixes[i % len(prefixes)]).partition("_")[2] for i in range(5_000)]
    assert all(a < b for a, b in pairwise(bodies))


def test_the_leading_part_is_the_creation_millisecond() -> None:
    before_ms = time.time_ns() // 1_000_000
    identifier = new_id("cus")
    after_ms = time.time_ns() // 1_000_000
    assert before_ms <= _decode(identifier[4:14]) <= after_ms


def test_unique_and_increasing_per_thread_under_concurrency() -> None:
    per_thread = 2_000
    results: list[list[str]] = [[] for _ in range(8)]

    def mint(out: list[str]) -> None:
        for _ in range(per_thread):
            out.append(new_id("msg"))

    threads = [threading.Thread(target=mint, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [identifier for out in results for identifier in out]
    assert len(set(everything)) == len(everything) == 8 * per_thread
    for out in results:
        assert all(a < b for a, b in pairwise(out))
