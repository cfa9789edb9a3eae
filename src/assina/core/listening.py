"""Listening sockets bound before anything else starts: a busy port stops the process at once,
with a message and before any worker pass runs, instead of after one with a traceback."""

from __future__ import annotations

import os
import socket

LISTEN_BACKLOG = 2048  # uvicorn's default


class PortUnavailable(Exception):
    """The address cannot be listened on (in use, not ours, or not resolvable)."""


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` and listening, or PortUnavailable saying why."""
    try:
        [(family, *_), *_] = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        return socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
    except OSError as error:
        # create_server's message repeats the address; the errno's text alone is enough.
        reason = (
            os.strerror(error.errno)
            if error.errno and not isinstance(error, socket.gaierror)
            else str(error)
        )
        raise PortUnavailable(
            f"cannot listen on {host}:{port}: {reason} (is another process using the port? "
            "choose another with --port)"
        ) from error
