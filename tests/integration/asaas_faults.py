"""Faults the Asaas stand-in can play, a test control and never Asaas's: answer the next
requests with an error status (a 5xx, a 429), do what a request asks and lose its answer
(a 502 instead), or hold requests unanswered until the stand-in stops, so that a client's
timeout fires without the test sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.integration.asaas_model import asaas_error


class Faults:
    def __init__(self) -> None:
        self._failures: list[int] = []
        self._holds = 0
        self._lost: list[tuple[str, str]] = []
        self._released = asyncio.Event()

    def fail_next(self, count: int = 1, *, status: int = 503) -> None:
        """The next `count` requests are answered `status` (Asaas's error shape)."""
        self._failures.extend([status] * count)

    def hold_next(self, count: int = 1) -> None:
        """The next `count` requests get no answer until the stand-in stops."""
        self._holds += count

    def lose_answer_to(self, method: str, path: str) -> None:
        """The next `method path` is done, and answered 502 as if its answer was lost."""
        self._lost.append((method, path))

    def release(self) -> None:
        self._released.set()

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if self._holds:
            self._holds -= 1
            await self._released.wait()
            return asaas_error(503, "standin_held", "Requisição retida pelo stand-in.")
        if self._failures:
            status = self._failures.pop(0)
            return asaas_error(status, "standin_fault", f"Falha simulada ({status}).")
        response: web.StreamResponse = await handler(request)
        if (request.method, request.path) in self._lost:
            self._lost.remove((request.method, request.path))
            return asaas_error(502, "standin_lost", "Resposta perdida pelo stand-in.")
        return response
