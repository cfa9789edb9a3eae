"""What a newcomer runs into with the real `assina` command line, in subprocesses: `--version`,
`tenant list`, an unknown `--tenant`, a busy port, processes that do not share
`ASSINA_SECRET_KEY`, and the worker's own `/metrics`."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from assina import __version__
from assina.app import create_app
from assina.config import Settings
from assina.db.database import Database
from tests.integration import test_cli as cli_support
from tests.integration.test_cli import Background, Cli, _free_port, _healthy, _Hook

# test_cli.py's fixtures, shared: a temporary data directory, a migrated SQLite database.
cli = cli_support.cli
migrated_template = cli_support.migrated_template
migrated_cli = cli_support.migrated_cli
background = cli_support.background

SECRET_MESSAGE = "ASSINA_SECRET_KEY"
# A process that must stop by itself does so long before this (a bound, not an assertion).
EXIT_TIMEOUT = 60


def _tenant(cli: Cli, name: str, **env: str) -> dict[str, str]:
    created: dict[str, str] = json.loads(cli.run("tenant", "create", name, "--json", **env).stdout)
    return created


def _count(cli: Cli, sql: str) -> int:
    with sqlite3.connect(cli.db_path) as connection:
        (count,) = connection.execute(sql).fetchone()
    return int(count)


def _exits_by_itself(process: Background) -> int:
    try:
        return process.process.wait(timeout=EXIT_TIMEOUT)
    finally:
        for handle in process.files:
            handle.close()  # type: ignore[attr-defined]


# --- --version, tenant list, billing run --tenant ------------------------------------------


def test_version_prints_the_package_version(cli: Cli) -> None:
    result = cli.run("--version")
    assert result.stdout.strip() == f"assina {__version__}"
    assert not cli.db_path.exists()


def test_tenant_list_shows_every_tenant_oldest_first(migrated_cli: Cli) -> None:
    empty = migrated_cli.run("tenant", "list", "--json")
    assert json.loads(empty.stdout) == []
    first = _tenant(migrated_cli, "Escola Alfa")
    second = migrated_cli.run(
        "tenant", "create", "Clube Beta", "--time-zone", "America/Manaus", "--json"
    )
    second_id = json.loads(second.stdout)["tenant_id"]

    listed = json.loads(migrated_cli.run("tenant", "list", "--json").stdout)
    assert [(t["id"], t["name"], t["time_zone"]) for t in listed] == [
        (first["tenant_id"], "Escola Alfa", "America/Sao_Paulo"),
        (second_id, "Clube Beta", "America/Manaus"),
    ]
    assert all(t["created_at"].endswith("Z") for t in listed)
    assert all(first["api_key"] not in json.dumps(t) for t in listed)  # no secrets listed

    table = migrated_cli.run("tenant", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "MODE", "TIME", "ZONE", "CREATED"]
    assert table[1].startswith(first["tenant_id"])
    assert "Escola Alfa" in table[1]
    assert "America/Sao_Paulo" in table[1]
    assert listed[0]["created_at"][:19] in table[1]
    assert table[2].startswith(second_id)
    assert "America/Manaus" in table[2]


def test_billing_run_for_an_unknown_tenant_is_a_usage_error(migrated_cli: Cli) -> None:
    known = _tenant(migrated_cli, "Escola")
    result = migrated_cli.run("billing", "run", "--tenant", "ten_nobody", check=False)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "no tenant 'ten_nobody'" in result.stderr
    assert result.stdout == ""  # no report of an empty pass

    ran = migrated_cli.run("billing", "run", "--tenant", known["tenant_id"])
    assert json.loads(ran.stdout)["failed"] == []


# --- serve on a busy port ----------------------------------------------------------------


def test_serve_on_a_busy_port_exits_before_the_worker_runs(migrated_cli: Cli) -> None:
    _tenant(migrated_cli, "Escola")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = migrated_cli.run("serve", "--port", str(port), check=False)
        elapsed = time.monotonic() - started
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < EXIT_TIMEOUT
    # Nothing ran: no worker, no calendar pass (it logs each tenant), no app (which loads the
    # secret key the tenant was sealed with).
    output = result.stdout + result.stderr
    assert "worker started" not in output
    assert "assina.calendar" not in output
    assert "assina on http" not in output


# --- processes that do not share ASSINA_SECRET_KEY -------------------------------------


@pytest.mark.parametrize("command", [["worker"], ["serve", "--no-worker"], ["serve"]])
def test_a_process_with_another_secret_key_stops_at_once(
    migrated_cli: Cli, background: list[Background], command: list[str]
) -> None:
    _tenant(migrated_cli, "Escola", ASSINA_SECRET_KEY="the-key-that-sealed-it")
    args = [*command, "--port", str(_free_port())] if command[0] == "serve" else command
    process = migrated_cli.start(*args, ASSINA_SECRET_KEY="another-key")
    background.append(process)
    returncode = _exits_by_itself(process)
    output = process.output()
    assert returncode == 1, output
    assert f"error: a stored secret cannot be decrypted with this process's {SECRET_MESSAGE}" in (
        output
    )
    assert "Traceback" not in output
    assert "worker started" not in output


async def _queue_a_message_for(cli: Cli, api_key: str, secret_key: str, hook_url: str) -> None:
    """An endpoint and a customer of the tenant, through the API of a process with its key."""
    settings = Settings(
        database_url=cli.database_url,
        data_dir=cli.directory / "data",
        secret_key=secret_key,
        allow_private_targets=True,
    )
    database = Database.from_url(cli.database_url, pool_size=1)
    try:
        app = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {api_key}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://assina.test", headers=headers
        ) as http:
            endpoint = await http.post("/v1/webhook-endpoints", json={"url": hook_url})
            assert endpoint.status_code == 201, endpoint.text
            customer = await http.post("/v1/customers", json={"name": "Ana"})
            assert customer.status_code == 201, customer.text
    finally:
        await database.dispose()


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_the_dispatcher_meeting_a_foreign_secret_stops_the_worker(
    migrated_cli: Cli, background: list[Background], command: str
) -> None:
    """The first tenant opens (the start check passes); the second was sealed with another
    key, and its message makes the dispatcher stop the worker instead of failing every second."""
    _tenant(migrated_cli, "Primeira", ASSINA_SECRET_KEY="worker-key")
    second = _tenant(migrated_cli, "Segunda", ASSINA_SECRET_KEY="other-key")
    port = _free_port()  # nothing listens there: nothing could be delivered anyway
    asyncio.run(
        _queue_a_message_for(
            migrated_cli, second["api_key"], "other-key", f"http://127.0.0.1:{port}/hook"
        )
    )
    assert _count(migrated_cli, "SELECT count(*) FROM webhook_messages") == 1

    args = ["serve", "--port", str(_free_port())] if command == "serve" else ["worker"]
    worker = migrated_cli.start(
        *args, ASSINA_SECRET_KEY="worker-key", ASSINA_ALLOW_PRIVATE_TARGETS="1"
    )
    background.append(worker)
    returncode = _exits_by_itself(worker)
    output = worker.output()
    assert returncode == 1, output
    assert "worker started" in output  # the start check passed: the dispatcher stopped it
    assert f"this process's {SECRET_MESSAGE}" in output
    assert "Traceback" not in output
    assert "dispatch pass failed" not in output
    # The message was not attempted and is not left leased: the right process sends it.
    assert _count(migrated_cli, "SELECT count(*) FROM webhook_attempts") == 0
    assert (
        _count(
            migrated_cli,
            "SELECT count(*) FROM webhook_messages WHERE status = 'pending' "
            "AND attempt_count = 0 AND locked_until IS NULL",
        )
        == 1
    )


# --- worker --metrics-port ---------------------------------------------------------------


def _metric(base_url: str, line_start: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            text = httpx.get(f"{base_url}/metrics", timeout=2).text
        except httpx.TransportError:
            return False
        return any(line.startswith(line_start) for line in text.splitlines())

    return check


def test_worker_metrics_port_serves_its_delivery_metrics(
    migrated_cli: Cli, background: list[Background]
) -> None:
    import http.server

    _Hook.received = []
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        created = _tenant(migrated_cli, "Escola")
        secret_key = (migrated_cli.directory / "data" / "assina.secret").read_text().strip()
        hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        asyncio.run(_queue_a_message_for(migrated_cli, created["api_key"], secret_key, hook_url))

        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        worker = migrated_cli.start(
            "worker", "--metrics-port", str(port), ASSINA_ALLOW_PRIVATE_TARGETS="1"
        )
        background.append(worker)
        worker.wait_for(_healthy(base_url))
        worker.wait_for(_metric(base_url, 'assina_webhook_attempts_total{outcome="delivered"} 1.0'))
        scraped = httpx.get(f"{base_url}/metrics", timeout=5)
    finally:
        receiver.shutdown()
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "assina_webhook_attempt_duration_seconds_count 1.0" in scraped.text
    assert "assina_webhook_messages_pending 0.0" in scraped.text  # read from the database
    assert len(_Hook.received) == 1
    returncode = worker.stop(signal.SIGTERM)
    assert returncode == 0, worker.output()
    assert "worker stopped" in worker.output()


def test_worker_metrics_port_busy_exits_before_the_worker_runs(migrated_cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = migrated_cli.run("worker", "--metrics-port", str(port), check=False)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "worker started" not in result.stdout + result.stderr


def test_worker_help_names_metrics_port(cli: Cli) -> None:
    result = cli.run("worker", "--help")
    assert "--metrics-port" in result.stdout


# --- the README's quick start ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def _quick_start_curl() -> str:
    readme = (ROOT / "README.md").read_text()
    [block] = [b for b in SHELL_BLOCK.findall(readme) if "export ASSINA_API_KEY=" in b]
    return block


def test_the_readmes_curl_creates_a_customer_when_pasted(
    migrated_cli: Cli, background: list[Background]
) -> None:
    """The block as written, but for the key `make run` printed and the test's port."""
    block = _quick_start_curl()
    assert "export ASSINA_API_KEY=sk_…" in block
    assert "http://127.0.0.1:8000/" in block
    created = _tenant(migrated_cli, "Escola")
    port = _free_port()
    server = migrated_cli.start("serve", "--port", str(port), "--no-worker")
    background.append(server)
    server.wait_for(_healthy(f"http://127.0.0.1:{port}"))
    pasted = block.replace("sk_…", created["api_key"]).replace(
        "http://127.0.0.1:8000/", f"http://127.0.0.1:{port}/"
    )

    answers = []
    for _ in range(2):  # pasted twice: the Idempotency-Key replays the first answer
        ran = subprocess.run(  # noqa: S603 - the README's own commands
            ["bash", "-euo", "pipefail", "-c", pasted],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        answers.append(json.loads(ran.stdout))
    assert answers[0]["id"].startswith("cus_"), answers[0]
    assert answers[0]["document"] == "52998224725"
    assert answers[1] == answers[0]
    assert _count(migrated_cli, "SELECT count(*) FROM customers") == 1


@pytest.mark.parametrize(
    ("variables", "expected"),
    [([], "serve --host 127.0.0.1 --port 8000"), (["PORT=8010"], "--port 8010")],
    ids=["default", "PORT"],
)
def test_make_run_serves_on_the_port_given(variables: list[str], expected: str) -> None:
    planned = subprocess.run(  # noqa: S603
        ["make", "-n", "-C", str(ROOT), "run", *variables],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [serve] = [line for line in planned.stdout.splitlines() if "assina serve" in line]
    assert serve.endswith(expected), serve
