"""The HTTP edge: problem+json for every error path, and the 1 MiB body limit."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assina.core.errors import PROBLEM_CONTENT_TYPE, FieldError, Problem
from assina.core.secrets import SecretKeyMismatch
from assina.db.outage import database_unreachable

logger = logging.getLogger("assina.http")

MAX_BODY_BYTES = 1024 * 1024
# How soon a client may try again when the database is unreachable (a restart takes seconds).
DATABASE_RETRY_AFTER_SECONDS = 1


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers or None,
    )


# A problem on a path under one of these prefixes is answered as a page, by its renderer
# (the console's /console): a person's browser gets HTML, never problem+json.
ProblemPage = Callable[[Request, Problem], Response]


def install_problem_page(app: FastAPI, prefix: str, page: ProblemPage) -> None:
    pages: dict[str, ProblemPage] = getattr(app.state, "problem_pages", {})
    app.state.problem_pages = {**pages, prefix: page}


def _answer(request: Request, problem: Problem) -> Response:
    pages: dict[str, ProblemPage] = getattr(request.app.state, "problem_pages", {})
    path = request.url.path
    for prefix, page in pages.items():
        if path == prefix or path.startswith(f"{prefix}/"):
            return page(request, problem)
    return problem_response(problem)


def _shown(part: object) -> str:
    """A part of a field's location as an answer may carry it: a key the client sent may hold
    a NUL or an unpaired surrogate (a metadata key), which no answer may (U+FFFD instead)."""
    return "".join(
        "\ufffd" if char == "\x00" or "\ud800" <= char <= "\udfff" else char for char in str(part)
    )


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [_shown(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    if any(error.get("type") == "json_invalid" for error in errors):
        return Problem(400, "malformed-json", "The request body is not valid JSON.", "Bad Request")
    field_errors = [FieldError(_field_name(tuple(e.get("loc", ()))), _message(e)) for e in errors]
    summary = "; ".join(f"{e.field}: {e.message}" for e in field_errors[:5])
    return Problem(422, "validation-error", summary, "Unprocessable Content", errors=field_errors)


async def _on_problem(request: Request, error: Exception) -> Response:
    if not isinstance(error, Problem):
        raise error
    return _answer(request, error)


async def _on_validation(request: Request, error: Exception) -> Response:
    if not isinstance(error, RequestValidationError):
        raise error
    return _answer(request, validation_problem(list(error.errors())))


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this path. Starlette's own 405 names only
    the methods of the first route whose path matches, and here each method of a path is a
    route of its own."""
    routes = request.app.router.routes

    def answers(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] == Match.FULL for route in routes)

    return [method for method in _METHODS if answers(method)]


async def _on_http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, StarletteHTTPException):
        raise error
    slug = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
    detail = error.detail if isinstance(error.detail, str) else json.dumps(error.detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = "No such route."
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    problem = Problem(error.status_code, slug, detail, headers=headers)
    return _answer(request, problem)


async def _on_database_error(request: Request, error: Exception) -> Response:
    """The database down or restarting is no fault of the request: 503 with Retry-After, and
    nothing changed (the transaction did not commit, or an Idempotency-Key retry replays it).
    Any other database error is unexpected."""
    if not database_unreachable(error):
        raise error
    logger.warning(
        "database unreachable on %s %s: %s", request.method, request.url.path, type(error).__name__
    )
    retry_after = str(DATABASE_RETRY_AFTER_SECONDS)
    problem = Problem(
        503,
        "database-unavailable",
        "The database is unavailable for a moment; try again (with the same Idempotency-Key).",
        headers={"Retry-After": retry_after},
    )
    return _answer(request, problem)


async def _on_unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return _answer(request, Problem(500, "internal-error", "An unexpected error happened."))


async def _on_foreign_secret_key(request: Request, error: Exception) -> Response:
    # The operator's mistake, not the caller's: every process must share ASSINA_SECRET_KEY.
    # Logged at error level (with the remedy) so it is seen; the caller learns only that the
    # server is misconfigured, never which key or value.
    logger.error("%s %s: %s", request.method, request.url.path, error)
    problem = Problem(
        503,
        "secret-key-mismatch",
        "The server is misconfigured: it cannot open the secrets it stored. Nothing was "
        "changed; try again once its operator has fixed it.",
        "Service Unavailable",
    )
    return _answer(request, problem)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(SecretKeyMismatch, _on_foreign_secret_key)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(ConnectionError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)


class BodyLimitMiddleware:
    """Answers 413 to a body over the limit, declared or streamed, before any route reads it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem(
            413,
            "payload-too-large",
            f"The request body is over {self.max_bytes} bytes.",
        )
        await problem_response(problem)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
