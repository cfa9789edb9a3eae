"""Which errors mean "the database is unreachable" (a 503) and which stay unexpected (a 500)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError

from assina.db.outage import database_unreachable


def wrapped(driver_error: Exception, invalidated: bool = False) -> DBAPIError:
    """As SQLAlchemy's asyncpg dialect raises it: its own DBAPI error, caused by the driver's."""
    adapted = Exception(str(driver_error))
    adapted.__cause__ = driver_error
    return DBAPIError("SELECT 1", None, adapted, connection_invalidated=invalidated)


def test_a_refused_or_lost_connection_is_an_outage() -> None:
    assert database_unreachable(ConnectionRefusedError(111, "refused"))
    assert database_unreachable(wrapped(asyncpg.CannotConnectNowError("starting up")))
    assert database_unreachable(wrapped(asyncpg.ConnectionDoesNotExistError("closed")))
    assert database_unreachable(wrapped(asyncpg.AdminShutdownError("terminating")))
    assert database_unreachable(wrapped(RuntimeError("connection is closed"), invalidated=True))


def test_other_database_errors_are_not() -> None:
    assert not database_unreachable(wrapped(asyncpg.UniqueViolationError("duplicate key")))
    assert not database_unreachable(IntegrityError("INSERT", None, Exception("duplicate")))
    assert not database_unreachable(ValueError("bad"))
    assert not database_unreachable(FileNotFoundError(2, "no such file"))
