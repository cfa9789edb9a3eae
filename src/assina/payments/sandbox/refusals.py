"""How the sandbox provider refuses a request: an HTTP status and an error code, answered as
`{"error": {"code", "message"}}` like a remote provider's API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def refusal_response(refusal: Refusal) -> web.Response:
    from aiohttp import web  # imported by the server's start, before any request

    body = {"error": {"code": refusal.code, "message": refusal.message}}
    return web.json_response(body, status=refusal.status)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body; a Refusal (400) for anything else."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError) as error:
        raise Refusal(400, "invalid_json", "the body is not JSON") from error
    if not isinstance(body, dict):
        raise Refusal(400, "invalid_json", "the body is not a JSON object")
    return body
