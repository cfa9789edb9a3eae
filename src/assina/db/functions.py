"""SQL functions that must agree on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# SQLite's own lower() folds ASCII only ("JOÃO" stays "joÃo"); this Python function, registered
# on every SQLite connection (db/database.py), folds what PostgreSQL's lower() does.
SQLITE_LOWER = "assina_lower"


def sqlite_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


class unicode_lower(FunctionElement[str]):  # noqa: N801 - used like func.lower
    """lower() of any letter, on PostgreSQL (a UTF-8 locale) and on SQLite alike."""

    type = String()
    inherit_cache = True
    name = "unicode_lower"


@compiles(unicode_lower)
def _lower(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _sqlite_lower(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"
