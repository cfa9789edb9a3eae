"""SQL functions that must agree on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Date, SQLColumnExpression, String, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from assina.core.clock import local_date

T = TypeVar("T")

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


class not_indexed(FunctionElement[T]):  # noqa: N801 - used like a func
    """A column whose condition must not choose the index: `+column` on SQLite, the no-op
    its documentation gives for taking a term out of the planner's choice of index; the
    column itself on PostgreSQL, whose planner has statistics. SQLite's has none (no ANALYZE),
    and with `status = 'open' AND due_date <= ?` indexed it may read every open charge of a
    tenant where `customer_id IN (…)` reads a batch's own (dunning/facts.py)."""

    inherit_cache = True
    name = "not_indexed"

    def __init__(self, column: QueryableAttribute[T]) -> None:
        super().__init__(column)
        self.type = column.type  # binds as the column does


@compiles(not_indexed)
def _column(element: not_indexed[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(not_indexed, "sqlite")
def _sqlite_not_indexed(element: not_indexed[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


# SQLite knows no time zones: this Python function, registered on every SQLite connection
# (db/database.py), gives the local date of a stored instant as PostgreSQL's AT TIME ZONE does.
SQLITE_LOCAL_DATE = "assina_local_date"


def sqlite_local_date(stored: str | None, time_zone: str | None) -> str | None:
    """The `YYYY-MM-DD` an instant stored by UTCDateTime (naive UTC text) falls on in
    `time_zone` (an IANA name)."""
    if stored is None or time_zone is None:
        return None
    instant = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return local_date(instant, time_zone).isoformat()


class local_day(FunctionElement[date]):  # noqa: N801 - used like a func
    """The calendar date an instant column falls on in a time zone: `local_day(column, zone)`."""

    type = Date()
    inherit_cache = True
    name = "local_day"


@compiles(local_day)
def _local_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(({instant} AT TIME ZONE {zone}) AS DATE)"


@compiles(local_day, "sqlite")
def _sqlite_local_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_LOCAL_DATE}({compiler.process(element.clauses, **kw)})"


class PeriodUnit(StrEnum):
    """How dates are grouped: by day, by ISO week (starting Monday), by month."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class period_start(FunctionElement[date]):  # noqa: N801 - used like a func
    """The first day of the day, ISO week (Monday) or month a date column falls in. The unit is
    written into the statement (it is one of three words), not bound."""

    type = Date()
    inherit_cache = True
    name = "period_start"

    def __init__(self, day: SQLColumnExpression[date], unit: PeriodUnit) -> None:
        super().__init__(day, literal_column(f"'{PeriodUnit(unit).value}'"))


def _parts(element: period_start, compiler: SQLCompiler, **kw: Any) -> tuple[str, PeriodUnit]:
    day, unit = element.clauses
    return compiler.process(day, **kw), PeriodUnit(str(compiler.process(unit, **kw)).strip("'"))


@compiles(period_start)
def _period_start(element: period_start, compiler: SQLCompiler, **kw: Any) -> str:
    day, unit = _parts(element, compiler, **kw)
    if unit is PeriodUnit.DAY:
        return f"CAST({day} AS DATE)"
    # Through a timestamp without zone: a date would become a timestamptz in the session's zone.
    return f"CAST(date_trunc('{unit.value}', CAST({day} AS TIMESTAMP)) AS DATE)"


_SQLITE_MODIFIERS = {
    PeriodUnit.DAY: "",
    PeriodUnit.WEEK: ", '-6 days', 'weekday 1'",  # the Monday on or before the day
    PeriodUnit.MONTH: ", 'start of month'",
}


@compiles(period_start, "sqlite")
def _sqlite_period_start(element: period_start, compiler: SQLCompiler, **kw: Any) -> str:
    day, unit = _parts(element, compiler, **kw)
    return f"date({day}{_SQLITE_MODIFIERS[unit]})"
