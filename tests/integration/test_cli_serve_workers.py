"""`assina serve --workers N` (issue 18): N HTTP processes on one port and the worker loops in
a process of their own, on PostgreSQL; SQLite refuses more than one process."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_pg_database, postgres_base_url
from tests.integration import test_cli as cli_support
from tests.integration.test_cli import READY_RETRIES, Background, Cli, _free_port, _healthy

cli = cli_support.cli  # test_cli.py's fixture: a temporary data directory


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux's /proc)."""
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in found.read_text().split()] if found.exists() else []


def _wait_for_children(server: Background, count: int) -> list[int]:
    for _ in range(READY_RETRIES):  # a bound for slow machines, not an assertion
        children = _children(server.process.pid)
        if len(children) >= count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"{_children(server.process.pid)}: {server.output()}")


@pytest.mark.skipif(postgres_base_url() is None, reason="ASSINA_TEST_DATABASE_URL is not set")
def test_serve_workers_runs_n_http_processes_and_one_worker_on_one_port(cli: Cli) -> None:
    url = asyncio.run(fresh_pg_database("serve_workers"))
    cli.run("migrate", ASSINA_DATABASE_URL=url)
    created = json.loads(
        cli.run("tenant", "create", "Escola", "--json", ASSINA_DATABASE_URL=url).stdout
    )
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = cli.start("serve", "--port", str(port), "--workers", "2", ASSINA_DATABASE_URL=url)
    try:
        server.wait_for(_healthy(base_url))
        children = _wait_for_children(server, 3)  # two HTTP processes and the worker
        headers = {"Authorization": f"Bearer {created['api_key']}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=10) as http:
            for number in range(6):  # new connections: the kernel spreads them
                with httpx.Client(base_url=base_url, headers=headers, timeout=10) as one:
                    answer = one.post("/v1/customers", json={"name": f"Cliente {number}"})
                    assert answer.status_code == 201, answer.text
            listed = http.get("/v1/customers").json()["data"]
            assert [c["number"] for c in listed] == [1, 2, 3, 4, 5, 6]
            assert http.get("/console/login").status_code == 200
        assert server.stop(signal.SIGTERM) == 0, server.output()
    finally:
        server.kill()
    output = server.output()
    assert "Traceback" not in output
    assert "worker stopped" in output  # the worker process was stopped, not killed
    # Every child ends with the parent (multiprocessing's resource tracker a moment after it).
    for _ in range(READY_RETRIES):
        if not [pid for pid in children if Path(f"/proc/{pid}").exists()]:
            break
        time.sleep(0.1)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], output


def test_serve_workers_on_sqlite_is_refused(cli: Cli) -> None:
    cli.run("migrate")
    result = cli.run("serve", "--workers", "2", "--port", str(_free_port()), check=False)
    assert result.returncode == 1
    assert "--workers needs PostgreSQL" in result.stderr
    assert "assina on http" not in result.stdout  # refused before binding or serving
