"""core/heap.py: the free pages a burst of short-lived buffers leaves in glibc's heaps go back."""

from __future__ import annotations

from pathlib import Path

import pytest

from assina.core import heap


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_the_free_pages_a_burst_leaves_behind_are_given_back() -> None:
    if heap._malloc_trim() is None:
        pytest.skip("not glibc: malloc_trim does not exist here")
    # 2 KB blocks come from malloc (not pymalloc); every 32nd kept pins the pages between.
    burst = [bytes(bytearray(2048)) for _ in range(40_000)]
    kept = burst[::32]
    del burst
    before = resident_mb()

    assert heap.give_free_heap_back()

    assert resident_mb() < before - 40  # about 80 MB were free inside the heap
    assert len(kept) == 1250
