"""The real `assina` command line, in subprocesses, against a temporary SQLite database (and one
`migrate` against PostgreSQL when ASSINA_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from assina.app import create_app
from assina.config import Settings
from assina.core.secrets import SecretBox, load_or_create_secret_key
from assina.db import migrate as migrations
from assina.db.database import Database, create_engine
from assina.tenants.models import Tenant
from tests.conftest import fresh_pg_database, postgres_base_url

SCRIPT = Path(sys.executable).with_name("assina")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "assina.cli"]
RUN_TIMEOUT = 120
READY_RETRIES = 300  # x 0.1 s between tries: a bound for slow machines, not an assertion


@dataclass
class Cli:
    """`assina` with its own data directory and SQLite database."""

    directory: Path

    @property
    def db_path(self) -> Path:
        return self.directory / "assina.db"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.db_path}"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
        env.update(
            ASSINA_DATABASE_URL=self.database_url,
            ASSINA_DATA_DIR=str(self.directory / "data"),
            ASSINA_LOG_LEVEL="info",
            COLUMNS="200",
            NO_COLOR="1",
            TERM="dumb",
        )
        env.update(overrides)
        return env

    def run(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603 - our own console script
            [*COMMAND, *args],
            cwd=self.directory,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        if check:
            assert result.returncode == 0, (result.stdout, result.stderr)
        return result

    def start(self, *args: str, **env: str) -> Background:
        stdout = (self.directory / f"{args[0]}.out").open("w")
        stderr = (self.directory / f"{args[0]}.err").open("w")
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [*COMMAND, *args],
            cwd=self.directory,
            env=self.env(**env),
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
        return Background(process, Path(stdout.name), Path(stderr.name), [stdout, stderr])

    def tenant_count(self) -> int:
        with sqlite3.connect(self.db_path) as connection:
            (count,) = connection.execute("SELECT count(*) FROM tenants").fetchone()
        return int(count)


@dataclass
class Background:
    process: subprocess.Popen[str]
    stdout_path: Path
    stderr_path: Path
    files: list[object]

    def output(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def wait_for(self, ready: Callable[[], bool]) -> None:
        """Poll a subprocess until it is ready (bounded; the subprocess must stay alive)."""
        for _ in range(READY_RETRIES):
            assert self.process.poll() is None, self.output()
            if ready():
                return
            time.sleep(0.1)
        pytest.fail(f"not ready:\n{self.output()}")

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=RUN_TIMEOUT)
        finally:
            for handle in self.files:
                handle.close()  # type: ignore[attr-defined]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=RUN_TIMEOUT)
        for handle in self.files:
            handle.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cli = Cli(tmp_path_factory.mktemp("cli-template"))
    result = cli.run("migrate")
    assert f"database at revision {migrations.head_revision()}" in result.stdout
    return cli.db_path


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def migrated_cli(cli: Cli, migrated_template: Path) -> Cli:
    shutil.copyfile(migrated_template, cli.db_path)
    return cli


@pytest.fixture
def background() -> Iterator[list[Background]]:
    started: list[Background] = []
    yield started
    for process in started:
        process.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- migrate -----------------------------------------------------------------------------


def _sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def _sqlite_revision(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(revision)


def test_migrate_builds_the_schema_and_is_repeatable(cli: Cli) -> None:
    first = cli.run("migrate")
    head = migrations.head_revision()
    assert f"database at revision {head}" in first.stdout
    assert {"tenants", "customers", "events", "idempotency_keys"} <= _sqlite_tables(cli.db_path)
    assert _sqlite_revision(cli.db_path) == head
    again = cli.run("migrate")
    assert f"database at revision {head}" in again.stdout
    assert _sqlite_revision(cli.db_path) == head


@pytest.mark.skipif(postgres_base_url() is None, reason="ASSINA_TEST_DATABASE_URL is not set")
def test_migrate_on_postgresql(cli: Cli) -> None:
    url = asyncio.run(fresh_pg_database("cli"))
    result = cli.run("migrate", ASSINA_DATABASE_URL=url)
    assert f"database at revision {migrations.head_revision()}" in result.stdout

    async def revision() -> str | None:
        engine = create_engine(url, pool_size=1)
        try:
            return await migrations.current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(revision()) == migrations.head_revision()


# --- tenants -----------------------------------------------------------------------------


async def _call_api(cli: Cli, api_key: str) -> tuple[httpx.Response, httpx.Response]:
    settings = Settings(database_url=cli.database_url, data_dir=cli.directory / "data")
    database = Database.from_url(cli.database_url, pool_size=1)
    try:
        app = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://assina.test") as http:
            tenant = await http.get("/v1/tenant", headers={"Authorization": f"Bearer {api_key}"})
            wrong = await http.get("/v1/tenant", headers={"Authorization": "Bearer sk_wrong"})
        return tenant, wrong
    finally:
        await database.dispose()


async def _sealed_token(cli: Cli, tenant_id: str) -> str:
    database = Database.from_url(cli.database_url, pool_size=1)
    try:
        async with database.read() as session:
            tenant = await session.get(Tenant, tenant_id)
            assert tenant is not None
            return tenant.validation_token_sealed
    finally:
        await database.dispose()


def test_tenant_create_json_prints_credentials_that_work(migrated_cli: Cli) -> None:
    result = migrated_cli.run("tenant", "create", "Escola Alfa", "--json")
    created = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert set(created) == {"tenant_id", "api_key", "validation_token"}
    assert created["tenant_id"].startswith("ten_")
    assert created["api_key"].startswith("sk_")
    assert created["validation_token"]
    assert created["api_key"] not in result.stderr

    tenant, wrong = asyncio.run(_call_api(migrated_cli, created["api_key"]))
    assert tenant.status_code == 200, tenant.text
    assert tenant.json()["id"] == created["tenant_id"]
    assert tenant.json()["name"] == "Escola Alfa"
    assert wrong.status_code == 401

    # The validation token is stored sealed with the key generated into ASSINA_DATA_DIR.
    data_dir = migrated_cli.directory / "data"
    box = SecretBox(load_or_create_secret_key(None, data_dir))
    sealed = asyncio.run(_sealed_token(migrated_cli, created["tenant_id"]))
    assert created["validation_token"] not in sealed
    assert box.open(sealed) == created["validation_token"]


def test_tenant_create_refuses_an_unknown_time_zone(migrated_cli: Cli) -> None:
    result = migrated_cli.run(
        "tenant", "create", "Escola", "--time-zone", "Mars/Olympus", "--json", check=False
    )
    assert result.returncode != 0
    assert "Mars/Olympus" in result.stderr
    assert migrated_cli.tenant_count() == 0


def test_tenant_keys_lists_and_tenant_key_revokes(migrated_cli: Cli) -> None:
    created = json.loads(migrated_cli.run("tenant", "create", "Escola", "--json").stdout)
    tenant_id, first_key = created["tenant_id"], created["api_key"]
    second_key = json.loads(migrated_cli.run("tenant", "key", tenant_id).stdout)["api_key"]

    listed = migrated_cli.run("tenant", "keys", tenant_id, "--json").stdout
    keys = json.loads(listed)
    assert [key["hint"] for key in keys] == [first_key[:12], second_key[:12]]
    assert first_key not in listed and second_key not in listed
    table = migrated_cli.run("tenant", "keys", tenant_id).stdout.splitlines()
    assert table[0].split() == ["ID", "HINT", "CREATED", "LAST", "USED", "REVOKED"]
    assert [line.split()[0] for line in table[1:]] == [key["id"] for key in keys]

    revoked = json.loads(
        migrated_cli.run("tenant", "key", tenant_id, "--revoke", keys[0]["id"]).stdout
    )
    assert revoked["id"] == keys[0]["id"] and revoked["revoked_at"] is not None
    old, _wrong = asyncio.run(_call_api(migrated_cli, first_key))
    assert old.status_code == 401
    kept, _wrong = asyncio.run(_call_api(migrated_cli, second_key))
    assert kept.status_code == 200

    last = migrated_cli.run("tenant", "key", tenant_id, "--revoke", keys[1]["id"], check=False)
    assert last.returncode == 1 and "last unrevoked API key" in last.stderr
    unknown = migrated_cli.run("tenant", "keys", "ten_missing", check=False)
    assert unknown.returncode == 1 and "ten_missing" in unknown.stderr


def test_init_twice_creates_one_tenant(cli: Cli) -> None:
    first = cli.run("init")
    assert "First tenant created." in first.stdout
    assert "sk_" in first.stdout
    assert cli.tenant_count() == 1
    second = cli.run("init")
    assert "sk_" not in second.stdout
    assert "existing tenant" in second.stdout
    assert cli.tenant_count() == 1


# --- help --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (["serve"], ["--host", "--port", "--no-worker"]),
        (["worker"], ["--help"]),
        (["migrate"], ["--help"]),
        (["tenant", "create"], ["--json", "--time-zone"]),
    ],
    ids=["serve", "worker", "migrate", "tenant-create"],
)
def test_help_names_the_options(cli: Cli, command: list[str], options: list[str]) -> None:
    result = cli.run(*command, "--help")
    assert f"Usage: assina {' '.join(command)}" in result.stdout
    for option in options:
        assert option in result.stdout, result.stdout
    assert not cli.db_path.exists()  # asking for help touches no database


# --- serve and worker --------------------------------------------------------------------


def _healthy(base_url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    return check


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_serves_and_stops_cleanly(
    migrated_cli: Cli, background: list[Background], signum: int
) -> None:
    created = json.loads(migrated_cli.run("tenant", "create", "Escola", "--json").stdout)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = migrated_cli.start("serve", "--port", str(port))
    background.append(server)
    server.wait_for(_healthy(base_url))

    headers = {"Authorization": f"Bearer {created['api_key']}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as http:
        assert http.get("/readyz").status_code == 200
        response = http.post("/v1/customers", json={"name": "Ana", "document": "529.982.247-25"})
        assert response.status_code == 201, response.text
        customer = response.json()
        assert customer["document"] == "52998224725"
        assert http.get(f"/v1/customers/{customer['id']}").json() == customer
        assert http.get("/v1/customers", headers={"Authorization": ""}).status_code == 401

    returncode = server.stop(signum)
    output = server.output()
    assert returncode == 0, output
    assert "Traceback" not in output
    assert "worker started" in output
    assert "worker stopped" in output  # the in-process worker was shut down, not killed
    with sqlite3.connect(migrated_cli.db_path) as connection:
        (count,) = connection.execute("SELECT count(*) FROM customers").fetchone()
    assert count == 1


def test_serve_no_worker_runs_no_worker(migrated_cli: Cli, background: list[Background]) -> None:
    port = _free_port()
    server = migrated_cli.start("serve", "--port", str(port), "--no-worker")
    background.append(server)
    server.wait_for(_healthy(f"http://127.0.0.1:{port}"))
    returncode = server.stop(signal.SIGTERM)
    assert returncode == 0, server.output()
    assert "worker started" not in server.output()


def test_worker_starts_and_stops_on_sigterm(
    migrated_cli: Cli, background: list[Background]
) -> None:
    worker = migrated_cli.start("worker")
    background.append(worker)
    worker.wait_for(lambda: "worker started" in worker.output())
    returncode = worker.stop(signal.SIGTERM)
    output = worker.output()
    assert returncode == 0, output
    assert "worker stopped" in output
    assert "Traceback" not in output


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_serve_delivers_webhooks_in_real_time(
    migrated_cli: Cli, background: list[Background]
) -> None:
    _Hook.received = []
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    created = json.loads(migrated_cli.run("tenant", "create", "Escola", "--json").stdout)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = migrated_cli.start("serve", "--port", str(port), ASSINA_ALLOW_PRIVATE_TARGETS="1")
    background.append(server)
    server.wait_for(_healthy(base_url))
    try:
        headers = {"Authorization": f"Bearer {created['api_key']}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
            hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
            endpoint = client.post("/v1/webhook-endpoints", json={"url": hook_url}).json()
            customer = client.post("/v1/customers", json={"name": "Ana"}).json()
            server.wait_for(lambda: len(_Hook.received) >= 1)
            # The receiver records the delivery before it answers; the outcome is stored after.
            messages_url = f"/v1/webhook-endpoints/{endpoint['id']}/messages"
            server.wait_for(
                lambda: client.get(messages_url).json()["data"][0]["status"] != "pending"
            )
            messages = client.get(messages_url).json()
    finally:
        receiver.shutdown()
    [(hook_headers, body)] = _Hook.received
    assert json.loads(body)["data"] == customer
    assert hook_headers["x-validation-token"] == created["validation_token"]
    assert [m["status"] for m in messages["data"]] == ["delivered"]
    assert server.stop(signal.SIGTERM) == 0, server.output()
