"""`assina serve --workers N`: N HTTP processes on one port (uvicorn's process manager), so
that a machine with more cores is used whole, and the worker loops in one process of their
own (`assina worker`) unless `--no-worker`.

Each HTTP process builds its own app (`assina.app:create_app`, reading the same environment)
with its own connection pool; they share the port through the listening socket bound once by
the parent. On PostgreSQL that is all they need to share: rate limits, idempotency keys and
the webhook claim live in the database. SQLite is served by one process: N > 1 is refused.
"""

from __future__ import annotations

import socket
import subprocess
import sys

from assina.config import Settings
from assina.db.dialect import runs_concurrent_writers

APP_FACTORY = "assina.app:create_app"
WORKER_STOP_SECONDS = 30


class OneProcessOnly(Exception):
    """More HTTP processes asked of a database that serves one (SQLite)."""


def check_processes(settings: Settings, processes: int) -> None:
    if processes > 1 and not runs_concurrent_writers(settings.database_url):
        raise OneProcessOnly(
            "--workers needs PostgreSQL: SQLite is served by one process "
            "(set ASSINA_DATABASE_URL to a PostgreSQL database, or leave out --workers)"
        )


def serve_in_processes(
    settings: Settings,
    listener: socket.socket,
    host: str,
    port: int,
    processes: int,
    with_worker: bool,
) -> None:
    """Run `processes` HTTP processes on `listener` until SIGINT or SIGTERM, then stop them
    (each finishes its requests) and the worker process."""
    import uvicorn  # here, not at the top: every `assina` command imports this module
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_level=settings.log_level,
        access_log=False,
    )
    # The worker loops once, as `assina worker` runs them (same environment, same settings).
    command = [sys.executable, "-m", "assina.cli", "worker"]
    worker = subprocess.Popen(command) if with_worker else None  # noqa: S603 - our own CLI
    try:
        Multiprocess(config, sockets=[listener]).run()
    finally:
        listener.close()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=WORKER_STOP_SECONDS)
