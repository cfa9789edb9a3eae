"""The receivers of docs/webhooks.md (Python and Node with `standardwebhooks`, PHP by hand),
run as real processes and fed real signed deliveries by the dispatcher; then forged ones,
which they must refuse. Both databases.

Node needs `examples/receivers/node/node_modules` (`make test` installs it with npm) and PHP
the `php` command (.ci/run installs php-cli). Without them these tests skip, unless
`ASSINA_TEST_ALL_RECEIVERS=1` (CI) turns the missing tool into a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.webhooks.signing import signature_headers
from tests.conftest import TenantClient
from tests.integration.delivery_support import attempts, dispatcher_for, new_endpoint

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "receivers"
START_TIMEOUT_SECONDS = 15
OUTPUT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Example:
    language: str
    tool: str
    path: Path

    def command(self, port: int) -> list[str]:
        if self.language == "php":
            return ["php", "-S", f"127.0.0.1:{port}", str(self.path)]
        interpreter = sys.executable if self.language == "python" else "node"
        return [interpreter, str(self.path), str(port)]

    def missing(self) -> str | None:
        if self.tool != sys.executable and shutil.which(self.tool) is None:
            return f"`{self.tool}` is not installed"
        if self.language == "node" and not (self.path.parent / "node_modules").is_dir():
            return "examples/receivers/node/node_modules is missing (run `make test` or npm ci)"
        return None


EXAMPLE_RECEIVERS = [
    Example("python", sys.executable, EXAMPLES / "python" / "receiver.py"),
    Example("node", "node", EXAMPLES / "node" / "receiver.mjs"),
    Example("php", "php", EXAMPLES / "php" / "receiver.php"),
]


@pytest.fixture
def clock() -> FrozenClock:
    # The receivers compare `webhook-timestamp` with their own wall clock.
    return FrozenClock(datetime.now(UTC))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RunningReceiver:
    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}/"

    async def next_event(self) -> dict[str, object]:
        """The next JSON line the receiver's `handle` printed (log lines are skipped)."""
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(
                self.process.stdout.readline(), timeout=OUTPUT_TIMEOUT_SECONDS
            )
            assert line, "the receiver exited"
            text = line.decode().strip()
            if text.startswith("{"):
                event: dict[str, object] = json.loads(text)
                return event


async def wait_until_listening(port: int, process: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_SECONDS
    while loop.time() < deadline:
        assert process.returncode is None, "the receiver exited at start-up"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)  # waiting for another process to start, not for time
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"the receiver did not listen on {port}")


@pytest.fixture(params=EXAMPLE_RECEIVERS, ids=lambda example: example.language)
def example(request: pytest.FixtureRequest) -> Example:
    chosen: Example = request.param
    reason = chosen.missing()
    if reason is not None:
        if os.environ.get("ASSINA_TEST_ALL_RECEIVERS") == "1":
            pytest.fail(f"{chosen.language} receiver cannot run: {reason}")
        pytest.skip(reason)
    return chosen


@asynccontextmanager
async def start_receiver(
    example: Example, port: int, secret: str, token: str
) -> AsyncIterator[RunningReceiver]:
    env = {**os.environ, "ASSINA_WEBHOOK_SECRET": secret, "ASSINA_VALIDATION_TOKEN": token}
    process = await asyncio.create_subprocess_exec(
        *example.command(port),
        env=env,
        cwd=example.path.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await wait_until_listening(port, process)
        yield RunningReceiver(process, port)
    finally:
        process.kill()
        await process.wait()


async def run_dispatcher(database: Database, clock: FrozenClock) -> None:
    dispatcher = dispatcher_for(database, clock)
    try:
        assert await dispatcher.dispatch_once() == 1
    finally:
        await dispatcher.close()


@asynccontextmanager
async def endpoint_and_receiver(
    api: TenantClient, example: Example
) -> AsyncIterator[tuple[dict[str, str], RunningReceiver]]:
    """An endpoint whose receiver is the example, started with the endpoint's secret."""
    port = free_port()
    endpoint = await new_endpoint(api, f"http://127.0.0.1:{port}/")
    secret, token = endpoint["secret"], api.tenant.validation_token
    async with start_receiver(example, port, secret, token) as running:
        yield endpoint, running


def signed_headers(payload: bytes, secret: str, at: int, token: str) -> dict[str, str]:
    headers = signature_headers([secret], "msg_forged", at, payload)
    return {**headers, "x-validation-token": token, "Content-Type": "application/json"}


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


async def test_the_example_receiver_accepts_a_real_delivery(
    api: TenantClient, database: Database, clock: FrozenClock, example: Example
) -> None:
    async with endpoint_and_receiver(api, example) as (_endpoint, running):
        created = await api.post("/v1/customers", {"name": "João Ávila", "email": "j@ex.com"})
        await run_dispatcher(database, clock)
        event = (await api.get("/v1/events")).json()["data"][0]
        assert event["data"]["id"] == created.json()["id"]
        assert await running.next_event() == {
            "id": event["id"],
            "type": "customer.created",
            "sequence": event["sequence"],
        }
    [attempt] = await attempts(database)
    assert attempt.status_code == 204


async def test_the_example_receiver_verifies_during_a_secret_rotation(
    api: TenantClient, database: Database, clock: FrozenClock, example: Example
) -> None:
    # The receiver still holds the old secret: the old one's signature, second in the
    # header during the rotation, must be the one that matches.
    async with endpoint_and_receiver(api, example) as (endpoint, running):
        rotated = await api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
        assert rotated.json()["secret"] != endpoint["secret"]
        await api.post("/v1/products", {"name": "Mensalidade", "amount": 45000})
        await run_dispatcher(database, clock)
        assert (await running.next_event())["type"] == "product.created"
    [attempt] = await attempts(database)
    assert attempt.status_code == 204


async def test_the_example_receiver_refuses_forgeries(
    api: TenantClient, clock: FrozenClock, example: Example
) -> None:
    async with endpoint_and_receiver(api, example) as (endpoint, running):
        body = json.dumps(
            {"id": "evt_1", "type": "customer.created", "sequence": 7, "data": {}}
        ).encode()
        token, secret = api.tenant.validation_token, endpoint["secret"]
        now = int(clock.now().timestamp())

        def signed(payload: bytes, secret: str = secret, at: int = now) -> dict[str, str]:
            return signed_headers(payload, secret, at, token)

        forgeries = {
            "tampered body": (body.replace(b"7", b"8"), signed(body)),
            "other secret": (body, signed(body, secret="whsec_" + "QUJD" * 8)),
            "ten minutes old": (body, signed(body, at=now - 600)),
            "wrong token": (body, {**signed(body), "x-validation-token": token[:-1] + "x"}),
            "no token": (body, without(signed(body), "x-validation-token")),
            "no signature": (body, {"x-validation-token": token}),
        }
        async with aiohttp.ClientSession() as http:
            for name, (payload, headers) in forgeries.items():
                async with http.post(running.url, data=payload, headers=headers) as response:
                    assert response.status == 401, name
            # The control: the same request, honestly signed, is accepted and handled.
            async with http.post(running.url, data=body, headers=signed(body)) as response:
                assert response.status == 204
        assert await running.next_event() == {
            "id": "evt_1",
            "type": "customer.created",
            "sequence": 7,
        }
