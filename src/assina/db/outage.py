"""Telling "the database is unreachable" apart from every other database error: the server is
down, restarting, or dropped the connection. Such a failure is no fault of the request, and
the same request succeeds once the server is back (the API answers 503 with Retry-After)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError

# What asyncpg raises when the server refuses or loses the connection: not yet accepting
# connections (starting up, shutting down), the connection gone, the backend terminated.
_DRIVER_OUTAGES = (
    ConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def database_unreachable(error: BaseException) -> bool:
    if isinstance(error, DBAPIError):
        # SQLAlchemy's own verdict on an open connection (the driver says it is closed)...
        if error.connection_invalidated:
            return True
        # ...and, for a connection that could not be opened, the driver's exception.
        driver_error = error.orig.__cause__ if error.orig is not None else None
        return isinstance(driver_error or error.orig, _DRIVER_OUTAGES)
    # A refused or reset connect comes through unwrapped.
    return isinstance(error, ConnectionError)
