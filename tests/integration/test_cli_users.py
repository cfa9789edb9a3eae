"""`assina user create|list`, the real command line in subprocesses, on both databases: the
password read from stdin (not a terminal), the user it makes able to sign in, and errors as
one line on stderr with exit status 1."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.users.sessions import SignedIn, sign_in
from tests.integration.console_user_support import PASSWORD, new_tenant
from tests.integration.test_cli import COMMAND, RUN_TIMEOUT, Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """`assina` with its own data directory; `_user` points it at the test's database."""
    return Cli(tmp_path)


def _user(cli: Cli, db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own console script
        [*COMMAND, "user", *args],
        cwd=cli.directory,
        env=cli.env(ASSINA_DATABASE_URL=db_url),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


async def test_user_create_reads_the_password_from_stdin_and_the_user_signs_in(
    cli: Cli, db_url: str, database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    created = _user(
        cli,
        db_url,
        "create",
        "--tenant",
        tenant_id,
        " Ana@Example.com",
        "--role",
        "finance",
        "--name",
        "Ana Silva",
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    user = json.loads(created.stdout)
    assert user["id"].startswith("usr_")
    assert (user["tenant_id"], user["email"], user["role"], user["name"], user["active"]) == (
        tenant_id,
        "ana@example.com",
        "finance",
        "Ana Silva",
        True,
    )
    assert PASSWORD not in created.stdout + created.stderr
    second = _user(
        cli, db_url, "create", "--tenant", tenant_id, "leo@example.com", stdin="senha do leo 1"
    )
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["role"] == "admin"  # the default

    outcome = await sign_in(database, clock, "ana@example.com", PASSWORD)
    assert isinstance(outcome, SignedIn)
    leo = await sign_in(database, clock, "leo@example.com", "senha do leo 1")
    assert isinstance(leo, SignedIn)  # no line break: the whole line is the password

    listed = _user(cli, db_url, "list", "--tenant", tenant_id, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(u["email"], u["role"]) for u in json.loads(listed.stdout)] == [
        ("ana@example.com", "finance"),
        ("leo@example.com", "admin"),
    ]
    table = _user(cli, db_url, "list", "--tenant", tenant_id)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "E-MAIL", "ROLE", "ACTIVE", "CREATED", "NAME"]
    assert rows[0].split()[1:4] == ["ana@example.com", "finance", "yes"]
    assert rows[0].endswith("Ana Silva")


async def test_user_errors_are_one_line_and_exit_1(
    cli: Cli, db_url: str, database: Database, clock: FrozenClock, secret_box: SecretBox
) -> None:
    tenant_id = await new_tenant(database, clock, secret_box, "Escola Alfa")
    create = ("create", "--tenant", tenant_id, "ana@example.com")
    short = _user(cli, db_url, *create, stdin="curta\n")
    assert (short.returncode, short.stdout) == (1, "")
    assert short.stderr.startswith("error: password: a senha deve ter pelo menos 10")
    empty = _user(cli, db_url, *create)
    assert (empty.returncode, empty.stderr) == (
        1,
        "error: no password on stdin (one line expected)\n",
    )
    assert _user(cli, db_url, *create, stdin=PASSWORD).returncode == 0
    taken = _user(cli, db_url, "create", "--tenant", tenant_id, "ANA@example.com", stdin=PASSWORD)
    assert (taken.returncode, taken.stderr.count("\n")) == (1, 1)
    assert "ana@example.com" in taken.stderr and taken.stderr.startswith("error: ")
    unknown = _user(cli, db_url, "list", "--tenant", "ten_unknown")
    assert (unknown.returncode, unknown.stderr) == (1, "error: No tenant with id 'ten_unknown'.\n")
    bad_email = _user(cli, db_url, "create", "--tenant", tenant_id, "not-an-email", stdin=PASSWORD)
    assert bad_email.returncode == 1 and bad_email.stderr.startswith("error: email: ")
    bad_role = _user(cli, db_url, *create, "--role", "owner", stdin=PASSWORD)
    assert bad_role.returncode == 2  # typer's own usage error names the choices
    assert "admin" in bad_role.stderr and "viewer" in bad_role.stderr
