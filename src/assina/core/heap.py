"""Giving the C heap's free pages back to the system after a burst of short-lived buffers.

glibc's malloc keeps the pages freed inside its heaps for reuse; after a calendar pass (a
batch's rows, its e-mails, its statements' parameters) long-lived objects scattered among
them keep most of those pages from ever being returned, and the worker's memory creeps up
pass after pass (docs/performance.md, "Where the workers' memory went"). `malloc_trim(0)`
returns every whole free page; it takes about a millisecond. Elsewhere than glibc it is a
no-op."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def give_free_heap_back() -> bool:
    """Return the C heap's free pages to the system; True if any were (glibc only)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    return bool(trim(0))
