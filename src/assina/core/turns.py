"""Turns: at most `slots` holders of one name at once in this process; the others wait.

Three uses: an API key's requests (8 at a time, a fairness rule: a key that sends many at
once queues them behind each other, not in front of other tenants for the process's database
connections), and one at a time where a burst of the same key would otherwise ask the
database the same question at once — a rate limit bucket's take, an API key's lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


class Turns:
    def __init__(self, slots: int) -> None:
        self._slots = slots
        self._lines: dict[str, _Line] = {}

    @asynccontextmanager
    async def turn(self, name: str) -> AsyncIterator[None]:
        line = self._lines.get(name)
        if line is None:
            line = self._lines[name] = _Line(asyncio.Semaphore(self._slots))
        line.users += 1
        try:
            async with line.semaphore:
                yield
        finally:
            line.users -= 1
            if line.users == 0:  # a name nobody waits for keeps no line
                del self._lines[name]


@dataclass
class _Line:
    semaphore: asyncio.Semaphore
    users: int = 0
