"""`assina secret-key rotate` (issue 13): every sealed value (validation tokens, endpoint secrets
old and new, custom header values, stored idempotent answers) sealed again with a new
ASSINA_SECRET_KEY in one transaction; an interrupted rotation finished by running it again; and
an API process left with the old key answering 503 `secret-key-mismatch` instead of a bare 500.
Both databases, in-process and through the real command line."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.idempotency import IdempotencyKey
from assina.core.secrets import SECRET_KEY_FILE, SecretBox, SecretKeyMismatch
from assina.db.database import Database
from assina.secret_rotation import (
    PENDING_KEY_FILE,
    RotationRefused,
    install_new_key_file,
    plan_keys,
    reseal_everything,
)
from assina.tenants.models import Tenant
from assina.webhooks.models import WebhookEndpoint
from tests.assertions import assert_problem
from tests.conftest import (
    START,
    TEST_SECRET_KEY,
    TenantClient,
    fresh_pg_database,
    postgres_base_url,
)
from tests.integration import test_cli as cli_support
from tests.integration.test_cli import Cli

cli = cli_support.cli  # a temporary directory for the real `assina` command line

NEW_KEY = "the-new-secret-key-after-rotation"
HOOK = "https://hooks.example.com/assina"
PARTNER = "Bearer partner-secret-7f3a9c"


async def _stored(database: Database) -> list[Any]:
    """Every sealed column, as stored: what the rotation rewrites."""
    async with database.read() as session:
        tokens = await session.execute(select(Tenant.validation_token_sealed).order_by(Tenant.id))
        endpoints = await session.execute(
            select(
                WebhookEndpoint.secret_sealed,
                WebhookEndpoint.previous_secret_sealed,
                WebhookEndpoint.headers_sealed,
            ).order_by(WebhookEndpoint.id)
        )
        answers = await session.execute(
            select(IdempotencyKey.response_sealed).order_by(IdempotencyKey.key)
        )
        return [*tokens.all(), *endpoints.all(), *answers.all()]


@pytest.fixture
async def sealed_world(api: TenantClient, other_api: TenantClient) -> dict[str, Any]:
    """Two tenants; an endpoint with a custom header and a rotated secret (so a previous
    secret too); idempotent answers, one of which carries a secret."""
    created = await api.post(
        "/v1/webhook-endpoints",
        {"url": HOOK, "headers": {"Authorization": PARTNER}},
        headers={"Idempotency-Key": "create-endpoint"},
    )
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["id"]
    rotated = await api.post(f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    other = await other_api.post("/v1/webhook-endpoints", {"url": HOOK})
    assert other.status_code == 201, other.text
    settings = [(await client.get("/v1/webhook-settings")).json() for client in (api, other_api)]
    return {
        "endpoint_id": endpoint_id,
        "created": created.json(),
        "secret": rotated.json()["secret"],
        "tokens": [s["validation_token"] for s in settings],
    }


@pytest.fixture
async def app_with_key(
    database: Database, clock: FrozenClock, tmp_path: Path, db_url: str
) -> AsyncIterator[Any]:
    """An in-process app on the same database, with a given secret key: a process restarted
    after (or left running through) a rotation."""
    clients: list[httpx.AsyncClient] = []

    def start(secret_key: str) -> httpx.AsyncClient:
        settings = Settings(
            database_url=db_url,
            secret_key=secret_key,
            data_dir=tmp_path,
            allow_private_targets=True,
        )
        app = create_app(settings, database=database, clock=clock)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://assina.test"
        )
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.aclose()


def _as(client: httpx.AsyncClient, tenant: TenantClient) -> TenantClient:
    return TenantClient(tenant.tenant, client)


async def _reads_everything(
    api: TenantClient, other_api: TenantClient, world: dict[str, Any]
) -> None:
    """Every sealed value read back through the API, as the tenant sees it."""
    path = f"/v1/webhook-endpoints/{world['endpoint_id']}"
    secret = await api.get(f"{path}/secret")
    assert secret.status_code == 200, secret.text
    assert secret.json()["secret"] == world["secret"]
    assert (await api.get(path)).json()["headers"] == {"Authorization": PARTNER}
    for client, token in zip((api, other_api), world["tokens"], strict=True):
        assert (await client.get("/v1/webhook-settings")).json()["validation_token"] == token
    replay = await api.post(
        "/v1/webhook-endpoints",
        {"url": HOOK, "headers": {"Authorization": PARTNER}},
        headers={"Idempotency-Key": "create-endpoint"},
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == world["created"]  # the sealed answer, secret included


# --- the re-sealing, in-process ---------------------------------------------------------------


async def test_rotation_reseals_every_value_and_the_new_key_reads_them(
    api: TenantClient,
    other_api: TenantClient,
    sealed_world: dict[str, Any],
    database: Database,
    app_with_key: Any,
) -> None:
    before = await _stored(database)
    report = await reseal_everything(database, TEST_SECRET_KEY, NEW_KEY)
    assert report.validation_tokens == 2
    assert report.endpoint_secrets == 3  # two current secrets, one previous
    assert report.endpoint_header_values == 1
    assert report.idempotent_answers == 1
    assert report.already_new == 0

    after = await _stored(database)
    assert len(after) == len(before)
    old_box, new_box = SecretBox(TEST_SECRET_KEY), SecretBox(NEW_KEY)
    sealed = [v for row in after for v in row if isinstance(v, str)]
    sealed += [v for row in after for d in row if isinstance(d, dict) for v in d.values()]
    assert len(sealed) == 7
    for value in sealed:
        new_box.open(value)
        with pytest.raises(SecretKeyMismatch):
            old_box.open(value)

    restarted = app_with_key(NEW_KEY)
    await _reads_everything(_as(restarted, api), _as(restarted, other_api), sealed_world)


async def test_running_it_again_changes_nothing_more(
    api: TenantClient, sealed_world: dict[str, Any], database: Database
) -> None:
    await reseal_everything(database, TEST_SECRET_KEY, NEW_KEY)
    rotated = await _stored(database)
    again = await reseal_everything(database, TEST_SECRET_KEY, NEW_KEY)
    assert again.already_new == 7
    assert (again.validation_tokens, again.endpoint_secrets, again.idempotent_answers) == (0, 0, 0)
    assert await _stored(database) == rotated


async def test_a_value_neither_key_opens_rolls_everything_back(
    api: TenantClient, sealed_world: dict[str, Any], database: Database
) -> None:
    # The answers are re-sealed last: tokens and endpoints are already rewritten by then.
    async with database.write() as session:
        await session.execute(
            update(IdempotencyKey).values(response_sealed=SecretBox("a-third-key").seal("{}"))
        )
    before = await _stored(database)
    with pytest.raises(SecretKeyMismatch):
        await reseal_everything(database, TEST_SECRET_KEY, NEW_KEY)
    assert await _stored(database) == before


async def test_a_process_left_with_the_old_key_answers_503_not_500(
    api: TenantClient,
    sealed_world: dict[str, Any],
    database: Database,
    app_with_key: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await reseal_everything(database, TEST_SECRET_KEY, NEW_KEY)
    stale = _as(app_with_key(TEST_SECRET_KEY), api)
    path = f"/v1/webhook-endpoints/{sealed_world['endpoint_id']}"
    before = await _stored(database)
    caplog.set_level(logging.ERROR, logger="assina.http")

    answers = [
        await stale.get(f"{path}/secret"),
        await stale.get(path),
        await stale.get("/v1/webhook-settings"),
        await stale.patch(path, {"description": "changed"}),  # opens the headers to answer
        await stale.post(
            "/v1/webhook-endpoints",
            {"url": HOOK, "headers": {"Authorization": PARTNER}},
            headers={"Idempotency-Key": "create-endpoint"},  # a replay of a sealed answer
        ),
    ]
    for answer in answers:
        body = assert_problem(answer, 503, "secret-key-mismatch")
        assert "misconfigured" in body["detail"]
        assert "ASSINA_SECRET_KEY" not in body["detail"]  # the remedy is for the operator
    assert await _stored(database) == before  # the PATCH changed nothing
    errors = [r for r in caplog.records if r.name == "assina.http"]
    assert all(r.levelno == logging.ERROR for r in errors)
    assert len(errors) == len(answers)
    assert all("ASSINA_SECRET_KEY" in r.getMessage() for r in errors)
    assert f"GET {path}/secret" in errors[0].getMessage()
    assert (await stale.get(path)).status_code == 503  # not a crash: it keeps answering


# --- the keys ---------------------------------------------------------------------------------


def test_keys_from_the_environment_need_the_new_one_given(tmp_path: Path) -> None:
    with pytest.raises(RotationRefused, match="ASSINA_NEW_SECRET_KEY"):
        plan_keys("old", None, tmp_path)
    with pytest.raises(RotationRefused, match="is the current one"):
        plan_keys("old", "old", tmp_path)
    plan = plan_keys("old", "new", tmp_path)
    assert (plan.old_key, plan.new_key, plan.key_dir) == ("old", "new", None)
    assert list(tmp_path.iterdir()) == []  # the key file is not involved


def test_a_key_file_rotation_writes_the_new_key_first_and_reuses_it(tmp_path: Path) -> None:
    with pytest.raises(RotationRefused, match="no key to rotate"):
        plan_keys(None, None, tmp_path)
    (tmp_path / SECRET_KEY_FILE).write_text("old-key\n")
    with pytest.raises(RotationRefused, match="is the current one"):
        plan_keys(None, "old-key", tmp_path)
    assert not (tmp_path / PENDING_KEY_FILE).exists()  # nothing left to trip the next run
    plan = plan_keys(None, None, tmp_path)
    pending = tmp_path / PENDING_KEY_FILE
    assert pending.read_text().strip() == plan.new_key != "old-key"
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600
    # Interrupted before the database was sealed (or after): the next run uses the same key.
    assert plan_keys(None, None, tmp_path).new_key == plan.new_key
    with pytest.raises(RotationRefused, match="interrupted rotation"):
        plan_keys(None, "another-new-key", tmp_path)


def test_two_rotations_within_a_second_keep_both_old_keys(tmp_path: Path) -> None:
    (tmp_path / SECRET_KEY_FILE).write_text("first-key\n")
    first = plan_keys(None, None, tmp_path)
    _, kept_first = install_new_key_file(tmp_path, first.new_key, START)
    second = plan_keys(None, None, tmp_path)
    _, kept_second = install_new_key_file(tmp_path, second.new_key, START)
    assert kept_first != kept_second
    assert kept_first.read_text().strip() == "first-key"
    assert kept_second.read_text().strip() == first.new_key
    assert (tmp_path / SECRET_KEY_FILE).read_text().strip() == second.new_key
    # A crash after keeping the old key, before the rename: the next run keeps it once.
    (tmp_path / SECRET_KEY_FILE).write_text(first.new_key + "\n")
    (tmp_path / PENDING_KEY_FILE).write_text(second.new_key + "\n")
    assert install_new_key_file(tmp_path, second.new_key, START)[1] == kept_second
    assert len(list(tmp_path.glob("*.replaced-*"))) == 2


# --- the command line, on both databases ----------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def rotation_cli(request: pytest.FixtureRequest, cli: Cli) -> Cli:
    """A migrated database (SQLite file or a fresh PostgreSQL one) for the real command."""
    if request.param == "postgresql":
        if postgres_base_url() is None:
            pytest.skip("ASSINA_TEST_DATABASE_URL is not set")
        url = asyncio.run(fresh_pg_database("rotation"))
        cli = _CliOn(cli.directory, url)
    cli.run("migrate")
    return cli


class _CliOn(Cli):
    def __init__(self, directory: Path, url: str) -> None:
        super().__init__(directory)
        self._url = url

    @property
    def database_url(self) -> str:
        return self._url


async def _endpoint_with_secret(cli: Cli, **settings: Any) -> tuple[str, str, str]:
    """A tenant's endpoint made through the API of a process with these settings: its id, its
    secret and the tenant's API key."""
    created = json.loads(cli.run("tenant", "create", "Escola", "--json", **settings).stdout)
    async with _api(cli, **settings) as http:
        auth = {"Authorization": f"Bearer {created['api_key']}"}
        body = {"url": HOOK, "headers": {"Authorization": PARTNER}}
        made = await http.post("/v1/webhook-endpoints", json=body, headers=auth)
        assert made.status_code == 201, made.text
        endpoint = made.json()
        secret = await http.get(f"/v1/webhook-endpoints/{endpoint['id']}/secret", headers=auth)
    return endpoint["id"], secret.json()["secret"], created["api_key"]


@asynccontextmanager
async def _api(cli: Cli, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app as `serve` would build it from this environment (key file or variable)."""
    settings = Settings(
        database_url=cli.database_url,
        data_dir=cli.directory / "data",
        secret_key=env.get("ASSINA_SECRET_KEY"),
        allow_private_targets=True,  # no DNS here: the example host does not resolve
    )
    database = Database.from_url(cli.database_url, pool_size=1)
    try:
        app = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://assina.test") as http:
            yield http
    finally:
        await database.dispose()


async def _read_secret(cli: Cli, endpoint_id: str, api_key: str, **env: str) -> httpx.Response:
    async with _api(cli, **env) as http:
        auth = {"Authorization": f"Bearer {api_key}"}
        return await http.get(f"/v1/webhook-endpoints/{endpoint_id}/secret", headers=auth)


def test_rotate_with_the_key_file_replaces_it_and_keeps_the_old_one(rotation_cli: Cli) -> None:
    cli = rotation_cli
    endpoint_id, secret, api_key = asyncio.run(_endpoint_with_secret(cli))
    data = cli.directory / "data"
    old_key = (data / SECRET_KEY_FILE).read_text().strip()

    result = cli.run("secret-key", "rotate")
    report = json.loads(result.stdout)
    assert (report["validation_tokens"], report["endpoint_secrets"]) == (1, 1)
    assert report["endpoint_header_values"] == 1
    assert "start every serve and worker" in result.stderr
    new_key = (data / SECRET_KEY_FILE).read_text().strip()
    assert new_key != old_key
    assert not (data / PENDING_KEY_FILE).exists()
    kept = Path(report["previous_key_file"])
    assert kept.parent == data
    assert kept.read_text().strip() == old_key
    for path in (data / SECRET_KEY_FILE, kept):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    answer = asyncio.run(_read_secret(cli, endpoint_id, api_key))  # a restarted process
    assert answer.status_code == 200, answer.text
    assert answer.json()["secret"] == secret
    # `worker` and `serve` check the key at start: a process with the old key refuses to run.
    stale = cli.run("worker", check=False, ASSINA_SECRET_KEY=old_key)
    assert stale.returncode == 1
    assert "ASSINA_SECRET_KEY" in stale.stderr


def test_rotate_interrupted_after_the_commit_is_finished_by_running_it_again(
    rotation_cli: Cli,
) -> None:
    cli = rotation_cli
    endpoint_id, secret, api_key = asyncio.run(_endpoint_with_secret(cli))
    data = cli.directory / "data"
    old_key = (data / SECRET_KEY_FILE).read_text().strip()
    # What a crash between the commit and the rename leaves: the database sealed with the
    # pending key, assina.secret still the old one.
    plan = plan_keys(None, None, data)

    async def reseal_only() -> None:
        database = Database.from_url(cli.database_url, pool_size=1)
        try:
            await reseal_everything(database, plan.old_key, plan.new_key)
        finally:
            await database.dispose()

    asyncio.run(reseal_only())
    stuck = asyncio.run(_read_secret(cli, endpoint_id, api_key))
    assert_problem(stuck, 503, "secret-key-mismatch")  # clear, and nothing is lost

    report = json.loads(cli.run("secret-key", "rotate").stdout)
    assert report["already_new"] == 3  # token, secret, header value
    assert report["validation_tokens"] == report["endpoint_secrets"] == 0
    assert (data / SECRET_KEY_FILE).read_text().strip() == plan.new_key
    assert Path(report["previous_key_file"]).read_text().strip() == old_key
    answer = asyncio.run(_read_secret(cli, endpoint_id, api_key))
    assert answer.json()["secret"] == secret


def test_rotate_with_the_variable_needs_the_new_key_and_refuses_a_wrong_old_one(
    rotation_cli: Cli,
) -> None:
    cli = rotation_cli
    old = {"ASSINA_SECRET_KEY": "the-old-key-in-the-environment"}
    endpoint_id, secret, api_key = asyncio.run(_endpoint_with_secret(cli, **old))
    key_file = cli.directory / "data" / SECRET_KEY_FILE  # `migrate` made one; not used here
    file_key = key_file.read_text()

    missing = cli.run("secret-key", "rotate", check=False, **old)
    assert missing.returncode == 2
    assert "ASSINA_NEW_SECRET_KEY" in missing.stderr
    wrong = cli.run(
        "secret-key",
        "rotate",
        check=False,
        ASSINA_SECRET_KEY="not-the-key-that-sealed-them",
        ASSINA_NEW_SECRET_KEY=NEW_KEY,
    )
    assert wrong.returncode == 1
    assert "cannot be decrypted" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    unchanged = asyncio.run(_read_secret(cli, endpoint_id, api_key, **old))
    assert unchanged.json()["secret"] == secret

    done = cli.run("secret-key", "rotate", ASSINA_NEW_SECRET_KEY=NEW_KEY, **old)
    assert json.loads(done.stdout)["previous_key_file"] is None
    assert key_file.read_text() == file_key  # the variable's key is not the file's business
    assert not (cli.directory / "data" / PENDING_KEY_FILE).exists()
    answer = asyncio.run(_read_secret(cli, endpoint_id, api_key, ASSINA_SECRET_KEY=NEW_KEY))
    assert answer.json()["secret"] == secret
    stale = asyncio.run(_read_secret(cli, endpoint_id, api_key, **old))
    assert_problem(stale, 503, "secret-key-mismatch")
