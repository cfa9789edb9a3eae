"""Schemathesis, every check, on every operation of the OpenAPI document, in-process.

The spec and the behaviour must agree (issue 13): a request the document allows is accepted
(or answered 404/409 for data that does not exist or a state that forbids it), a request it
forbids is refused, every status, header and body is documented, every 405 lists every method
of its path. This is `st run /openapi.json --checks all` (every phase: examples, coverage,
fuzzing, stateful) driven through schemathesis' engine against the app in-process, once per
database; examples are bounded and the run deterministic so CI is neither slow nor flaky.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status
from schemathesis.engine.events import NonFatalError, ScenarioFinished
from schemathesis.openapi import from_asgi

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from tests.conftest import START, TEST_SECRET_KEY, make_tenant

MAX_EXAMPLES = 25
SEED = 13


async def _api_key(db_url: str) -> str:
    database = Database.from_url(db_url, pool_size=1)
    try:
        tenant = await make_tenant(
            database, FrozenClock(START), SecretBox(TEST_SECRET_KEY), "Escola Alfa"
        )
    finally:
        await database.dispose()
    return tenant.api_key


def _answer(event: ScenarioFinished, case_id: str) -> str:
    interaction = event.recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None:
        return "no response"
    body = interaction.response.content[:400].decode(errors="replace")
    return f"{interaction.response.status_code} {body}"


def _failures(event: ScenarioFinished) -> list[str]:
    found = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                info = check.failure_info
                found.append(
                    f"{info.failure.operation} [{check.name}] {info.failure.title}\n"
                    f"    {info.failure.message[:300]}\n"
                    f"    {info.code_sample}\n    -> {_answer(event, case_id)}"
                )
    return found


def test_every_operation_keeps_the_documents_word(db_url: str, tmp_path: Path) -> None:
    # The app gets a database of its own: schemathesis serves it on its own event loop, and
    # the fixtures' Database belongs to pytest's.
    api_key = asyncio.run(_api_key(db_url))
    settings = Settings(
        database_url=db_url,
        secret_key=TEST_SECRET_KEY,
        data_dir=tmp_path,
        allow_private_targets=True,  # no DNS: generated hosts resolve nowhere
    )
    app = create_app(settings, clock=FrozenClock(START))
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {api_key}"},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "checks": {"enabled": True},
        }
    )
    schema = from_asgi("/openapi.json", app, config=config)
    failures: list[str] = []
    errors: list[str] = []
    for event in engine.from_schema(schema).execute():
        if isinstance(event, ScenarioFinished):
            failures.extend(_failures(event))
        elif isinstance(event, NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}")
    assert not errors, "\n".join(errors)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures)))
