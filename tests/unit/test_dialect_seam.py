"""One seam for the two databases: only db/dialect.py asks whether SQLite or PostgreSQL runs
(issue 14). Everything else asks it what it needs by name (`runs_concurrent_writers`,
`next_sequence_value`, `insert_on_conflict`, …)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import assina
from assina.db.dialect import BuiltOnce, runs_concurrent_writers

SOURCE = Path(assina.__file__).parent
SEAM = SOURCE / "db" / "dialect.py"
MIGRATIONS = SOURCE / "db" / "migrations"

# Asking which database runs: a dialect's name, an `is_sqlite`, a comparison with or a
# prefix test for a dialect's name.
_DATABASE_NAME = r"""["'](?:sqlite|postgres(?:ql)?)[^"']*["']"""
QUESTIONS = re.compile(
    "|".join(
        [
            r"\bdialect\.name\b",
            r"\bis_sqlite\b",
            r"\bis_postgres(?:ql)?\b",
            rf"[!=]=\s*{_DATABASE_NAME}",
            rf"{_DATABASE_NAME}\s*[!=]=",
            rf"\bin\s*[(\[{{][^)\]}}]*{_DATABASE_NAME}",
            rf"\.startswith\(\s*{_DATABASE_NAME}",
            r"get_backend_name\(",
        ]
    )
)


def questions_outside_the_seam() -> list[str]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path == SEAM or path.is_relative_to(MIGRATIONS):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if QUESTIONS.search(line):
                found.append(f"{path.relative_to(SOURCE)}:{number}: {line.strip()}")
    return found


def test_only_the_seam_asks_which_database_runs() -> None:
    assert questions_outside_the_seam() == [], "ask db/dialect.py instead"


def test_the_scan_recognises_a_question() -> None:
    for line in [
        'if session.get_bind().dialect.name == "postgresql":',
        "return not self.database.is_sqlite",
        'if url.startswith("sqlite"):',
        'lock = name != "sqlite"',
        'if "postgresql" == name:',
        'if name in ("postgresql", "postgres"):',
    ]:
        assert QUESTIONS.search(line), line
    for line in [
        '@compiles(one_of, "postgresql")',
        'JSONType = JSON().with_variant(JSONB(), "postgresql")',
        "if runs_concurrent_writers(session):",
        "engine.dialect.use_insertmanyvalues_wo_returning = True",
    ]:
        assert not QUESTIONS.search(line), line


def test_built_once_builds_a_statement_once_for_each_database() -> None:
    built: list[str] = []

    def build(session: AsyncSession) -> str:
        spelling = "upsert for " + ("PostgreSQL" if runs_concurrent_writers(session) else "SQLite")
        built.append(spelling)
        return spelling

    statement = BuiltOnce(build)
    postgresql = AsyncSession(create_async_engine("postgresql+asyncpg://nobody@127.0.0.1/none"))
    sqlite = AsyncSession(create_async_engine("sqlite+aiosqlite://"))
    # No connection is made: the session's engine says which database it is.
    assert statement.of(postgresql) == "upsert for PostgreSQL"
    assert statement.of(sqlite) == "upsert for SQLite"
    assert statement.of(postgresql) is statement.of(postgresql)
    assert statement.of(sqlite) == "upsert for SQLite"
    assert built == ["upsert for PostgreSQL", "upsert for SQLite"]
