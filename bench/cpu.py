"""CPU time read from /proc, for benches that report CPU per unit of work: a process tree's
(the process and its descendants, living or reaped) and the local PostgreSQL server's (every
`postgres` process, with the backends that have exited, which the postmaster reaped)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command, parent pid, CPU seconds of the process and its reaped children)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the command: state, ppid, ... utime (14th field of the line), stime, cutime, cstime.
    return command, int(fields[1]), sum(int(value) for value in fields[11:15]) / TICKS


def _every_process() -> dict[int, tuple[str, int, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used by `root` and every process below it."""
    processes = _every_process()
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in processes:
            total += processes[pid][2]
        todo += children.get(pid, [])
    return total


def postgres_cpu_seconds() -> float:
    """CPU seconds used by the PostgreSQL server on this machine (all its processes): meaningful
    as a difference over a run with nothing else using the server."""
    return sum(cpu for command, _, cpu in _every_process().values() if command == "postgres")
