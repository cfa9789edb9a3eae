"""What the chaos test (test_chaos.py) runs on: a throwaway PostgreSQL cluster it may crash and
restart (never the shared server), real `assina` processes it may SIGKILL and start again, a
webhook receiver it may take down, and API calls that retry the way a careful client does."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ASSINA = str(Path(sys.executable).with_name("assina"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_binaries_missing() -> str | None:
    """Why a throwaway cluster cannot run here, or None when it can."""
    for name in ("initdb", "pg_ctl"):
        if not (PG_BIN / name).exists():
            return f"{PG_BIN / name} is not installed (the chaos test runs its own cluster)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: initdb refuses root"
    return None


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory on a free port, trust auth, that the test
    starts, crashes and stops. As root it runs as the `postgres` user (initdb refuses root)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="assina-chaos-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as_user, *argv], check=True, capture_output=True)  # noqa: S603

    def _pg_ctl(self, action: str, *options: str) -> None:
        settings = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.directory} -c max_connections=200 "
            # No OS crash here, only the server's: the page cache keeps what was committed.
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            action,
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-o",
            settings,
            *options,
        )

    def start(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N"
        )
        self._pg_ctl("start")

    def crash_and_restart(self) -> None:
        """`-m immediate`: every backend is killed without a checkpoint, like a crash; the
        restart replays the WAL."""
        self._pg_ctl("restart", "-m", "immediate")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # never started, or down
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Supervised:
    """One `assina` process, restarted by `ensure_running` whenever it is not running (a
    SIGKILL, or an exit because the database was down when it started)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own console script
            self.argv, env=self.env, stdout=log, stderr=log
        )
        log.close()
        self.starts += 1

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            self.exits.append(self.process.returncode)
            self.process = None
        if self.process is None:
            self.start()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=30)


def assina_env(database_url: str, data_dir: Path, lease_seconds: int) -> dict[str, str]:
    from tests.conftest import TEST_SECRET_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
    env.update(
        ASSINA_DATABASE_URL=database_url,
        ASSINA_SECRET_KEY=TEST_SECRET_KEY,
        ASSINA_DATA_DIR=str(data_dir),
        ASSINA_ALLOW_PRIVATE_TARGETS="1",
        ASSINA_WEBHOOK_LEASE_SECONDS=str(lease_seconds),
        ASSINA_DB_POOL_SIZE="5",
        ASSINA_LOG_LEVEL="warning",
    )
    return env


@dataclass
class ChaosReceiver:
    """Counts each message (`webhook-id`) it answered 2xx; while `down` it answers 503."""

    url: str = ""
    down: bool = False
    delivered: collections.Counter[str] = field(default_factory=collections.Counter)
    refused: int = 0

    async def hook(self, request: web.Request) -> web.Response:
        await request.read()
        if self.down:
            self.refused += 1
            return web.Response(status=503)
        self.delivered[request.headers["webhook-id"]] += 1
        return web.Response(status=204)

    async def serve(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return runner


@dataclass
class Answer:
    at: float  # time.monotonic()
    status: int
    path: str


@dataclass
class CarefulClient:
    """Calls the API as a client that wants each write done exactly once: every POST carries an
    Idempotency-Key, and a dropped connection or a 5xx is retried with the same key until
    `give_up_seconds`. Every 5xx is kept in `server_errors`."""

    http: aiohttp.ClientSession
    base: str
    api_key: str
    give_up_seconds: float = 60.0
    server_errors: list[Answer] = field(default_factory=list)
    dropped: int = 0
    calls: int = 0
    # The id of each object a POST answered 201 for (retries included: once each, if idempotent).
    created: list[str] = field(default_factory=list)

    async def call(self, method: str, path: str, body: object = None) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        give_up = time.monotonic() + self.give_up_seconds
        self.calls += 1
        while True:
            try:
                async with self.http.request(
                    method,
                    f"{self.base}{path}",
                    json=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=15),
                ) as response:
                    answer = await response.read()
                    if response.status < 500:
                        assert response.status < 400, (method, path, response.status, answer)
                        payload = await response.json()
                        if response.status == 201:
                            self.created.append(payload["id"])
                        return payload
                    self.server_errors.append(Answer(time.monotonic(), response.status, path))
            except (aiohttp.ClientError, TimeoutError):
                self.dropped += 1  # the server was killed mid-request, or is starting again
            assert time.monotonic() < give_up, f"{method} {path} never succeeded"
            await asyncio.sleep(0.2)

    async def wait_ready(self, seconds: float = 60.0) -> None:
        give_up = time.monotonic() + seconds
        while time.monotonic() < give_up:
            try:
                async with self.http.get(f"{self.base}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError("assina serve did not become ready")
