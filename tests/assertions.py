"""Assertions shared by the API tests: problem+json answers and timestamps in query strings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

PROBLEM = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:assina:problem:"


def iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def assert_problem(
    response: httpx.Response, status: int, slug: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 answer with this status (and problem type, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["type"].startswith(PROBLEM_TYPE_PREFIX)
    if slug is not None:
        assert body["type"] == PROBLEM_TYPE_PREFIX + slug
    return body


def assert_invalid(response: httpx.Response, field: str) -> dict[str, Any]:
    """A 422 whose `errors` list names `field`."""
    body = assert_problem(response, 422)
    assert field in [error["field"] for error in body["errors"]], body
    return body


def answered(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The JSON body of a response whose status is one of `statuses` (200 when none given)."""
    assert response.status_code in (statuses or (200,)), response.text
    body: dict[str, Any] = response.json()
    return body
