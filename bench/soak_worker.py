"""`assina worker` as bench/soak.py's experiments start it (bench only): the normal entry point
in this process, after what the environment asks for.

ASSINA_SOAK_STATEMENT_CACHE=N: the engine's asyncpg adapter keeps N prepared statements per
connection instead of SQLAlchemy's 100 (0: none), by adding `connect_args` where
assina.db.database creates the engine (a URL query parameter would also reach asyncpg's own
connect of the NOTIFY listener, which refuses it).

ASSINA_SOAK_MALLOC_TRIM_SECONDS=S: a daemon thread calls glibc's `malloc_trim(0)` every S
seconds, which gives the free pages inside malloc's heaps back to the system: what the worker
then still holds is memory in use, not memory glibc kept after it was freed.

ASSINA_SOAK_TRACE_DIR=DIR: tracemalloc is started (after the imports), and a daemon thread
writes into DIR every ASSINA_SOAK_TRACE_SECONDS (60): `snapshot-MM.pickle` (tracemalloc,
ASSINA_SOAK_TRACE_FRAMES frames per trace, 8 by default), `statements-MM.tsv` (the adapter's
cached statements: connection, parameters, characters, beginning) and one line of
`caches.tsv`: the minute, VmRSS, threads, the traced Python memory (now, and its peak since the
line before), tracemalloc's own, glibc malloc's account (mallinfo2), and how full the caches
are that fill as new statements are met — SQLAlchemy's compiled cache per engine, the asyncpg
adapter's prepared statements and asyncpg's own statement cache per connection.

    ASSINA_SOAK_TRACE_DIR=/tmp/t .venv/bin/python bench/soak_worker.py
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any


def status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def malloc_cells() -> str:
    """glibc's own account, every arena summed: what malloc holds from the system (heaps and
    mmapped blocks), how much of it is in use, how much is free inside it; Python's small
    objects (pymalloc) are not in it."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    mb = 2**20
    return (
        f"malloc_heap={info.arena / mb:.1f}\tmalloc_mmap={info.hblkhd / mb:.1f}\t"
        f"malloc_used={(info.uordblks + info.hblkhd) / mb:.1f}\t"
        f"malloc_free={info.fordblks / mb:.1f}"
    )


def cache_sizes() -> dict[str, list[int]]:
    """Sizes found by walking the heap: no hook in the product is needed."""
    sizes: dict[str, list[int]] = {"compiled": [], "adapter_prepared": [], "asyncpg_stmt": []}
    for obj in gc.get_objects():
        kind = type(obj).__name__
        if kind == "Engine" and hasattr(obj, "_compiled_cache"):
            cache = obj._compiled_cache
            if cache is not None:
                sizes["compiled"].append(len(cache))
        elif kind == "AsyncAdapt_asyncpg_connection":
            cache = getattr(obj, "_prepared_statement_cache", None)
            if cache is not None:
                sizes["adapter_prepared"].append(len(cache))
        elif kind == "Connection" and type(obj).__module__.startswith("asyncpg"):
            stmt = getattr(obj, "_stmt_cache", None)
            if stmt is not None:
                sizes["asyncpg_stmt"].append(len(stmt))
    return sizes


def cached_statements() -> list[str]:
    """One line per statement in the asyncpg adapter's caches: its connection, how many
    parameters and characters, and how it starts."""
    lines = []
    for obj in gc.get_objects():
        if type(obj).__name__ != "AsyncAdapt_asyncpg_connection":
            continue
        cache = getattr(obj, "_prepared_statement_cache", None) or {}
        for sql in list(cache.keys()):
            params = sql.count("$")
            lines.append(f"{id(obj):x}\t{params}\t{len(sql)}\t{' '.join(sql.split())[:70]}")
    return lines


def record(directory: Path, began: float) -> None:
    minute = round((time.monotonic() - began) / 60)
    tracemalloc.take_snapshot().dump(str(directory / f"snapshot-{minute:02d}.pickle"))
    traced, peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    sizes = cache_sizes()
    cells = "\t".join(f"{name}={sorted(values, reverse=True)}" for name, values in sizes.items())
    statements = "\n".join(cached_statements())
    (directory / f"statements-{minute:02d}.tsv").write_text(statements + "\n")
    with (directory / "caches.tsv").open("a") as out:
        out.write(
            f"{minute}\trss={status('VmRSS') / 1024:.1f}\tthreads={status('Threads')}\t"
            f"traced={traced / 2**20:.1f}\t"
            f"traced_peak={peak / 2**20:.1f}\t"
            f"overhead={tracemalloc.get_tracemalloc_memory() / 2**20:.1f}\t{malloc_cells()}\t"
            f"{cells}\n"
        )


def every(directory: Path, seconds: float) -> None:
    began = time.monotonic()
    n = 0
    while True:
        n += 1
        time.sleep(max(0.0, began + n * seconds - time.monotonic()))
        record(directory, began)


def limit_statement_cache(size: int) -> None:
    from sqlalchemy.ext import asyncio as sa_asyncio

    import assina.db.database as database

    def create_async_engine(url: str, **kwargs: Any) -> sa_asyncio.AsyncEngine:
        if not url.startswith("sqlite"):
            kwargs["connect_args"] = {"prepared_statement_cache_size": size}
        return sa_asyncio.create_async_engine(url, **kwargs)

    database.create_async_engine = create_async_engine


def trim_every(seconds: float) -> None:
    libc = ctypes.CDLL("libc.so.6")
    while True:
        time.sleep(seconds)
        libc.malloc_trim(0)


def main() -> None:
    # Imported before tracing starts: traced, the imports take tens of seconds, and what they
    # allocate is there from the first snapshot on anyway (the command imports the runner).
    import assina.worker.runner
    from assina.cli import main as assina

    if "ASSINA_SOAK_STATEMENT_CACHE" in os.environ:
        limit_statement_cache(int(os.environ["ASSINA_SOAK_STATEMENT_CACHE"]))
    sys.argv = ["assina", "worker"]
    if "ASSINA_SOAK_MALLOC_TRIM_SECONDS" in os.environ:
        seconds = float(os.environ["ASSINA_SOAK_MALLOC_TRIM_SECONDS"])
        threading.Thread(target=trim_every, args=(seconds,), daemon=True).start()
    if "ASSINA_SOAK_TRACE_DIR" in os.environ:
        directory = Path(os.environ["ASSINA_SOAK_TRACE_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
        tracemalloc.start(int(os.environ.get("ASSINA_SOAK_TRACE_FRAMES", "8")))
        seconds = float(os.environ.get("ASSINA_SOAK_TRACE_SECONDS", "60"))
        threading.Thread(target=every, args=(directory, seconds), daemon=True).start()
    assina()


if __name__ == "__main__":
    main()
