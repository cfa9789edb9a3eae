"""OpenAPI: problem+json documented for every error response, FastAPI's own 422 included."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from assina.core.errors import PROBLEM_CONTENT_TYPE, ProblemOut
from assina.core.idempotency import KEY_HEADER, REPLAYED_HEADER
from assina.core.inputs import NO_NUL

_DESCRIPTIONS = {
    400: "Malformed request (invalid JSON, bad Idempotency-Key)",
    401: "Missing or invalid API key",
    404: "No such object for this tenant",
    409: "Conflict: forbidden state transition or reused Idempotency-Key",
    413: "Request body over 1 MiB",
    422: "Validation error: `errors` names each field",
    429: "Over a rate limit (docs/limits.md): retry after `Retry-After` seconds",
}
_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}
_REPLAYED = {
    REPLAYED_HEADER: {
        "description": f"`true` when this is the stored answer to an earlier request with the "
        f"same `{KEY_HEADER}` and body (absent otherwise).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


_RATE_LIMIT_STATE = {
    "RateLimit-Policy": {
        "description": "The limits counted for this request "
        '(draft-ietf-httpapi-ratelimit-headers): `"requests";q=100;w=2` is a bucket of 100 '
        "requests that refills in 2 s.",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": "What is left of each: `r` requests now, full again in `t` seconds.",
        "schema": {"type": "string"},
    },
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until a request would be admitted again.",
        "schema": {"type": "integer", "minimum": 1},
        "required": True,
    }
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as problem+json."""
    return {
        status: {"model": ProblemOut, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


def _as_problem(response: dict[str, Any]) -> None:
    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}}


def _document_rate_limits(operation: dict[str, Any]) -> None:
    """Every operation that takes an API key counts it against the key's rate limit: it may
    answer 429, and its answers carry the limit's state."""
    if not operation.get("security"):
        return
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {}).update(_RATE_LIMIT_STATE)
    too_many = responses.setdefault("429", {"description": _DESCRIPTIONS[429]})
    too_many.setdefault("headers", {}).update({**_RETRY_AFTER, **_RATE_LIMIT_STATE})
    _as_problem(too_many)


def _document_replays(operation: dict[str, Any]) -> None:
    """An operation that declares `Idempotency-Key` may answer a replay: say how it shows."""
    parameters = operation.get("parameters", [])
    if not any(p["in"] == "header" and p["name"] == KEY_HEADER for p in parameters):
        return
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            response.setdefault("headers", {}).update(_REPLAYED)


Extension = Callable[[dict[str, Any]], None]


def install_openapi(app: FastAPI, extensions: Sequence[Extension] = ()) -> None:
    """The document FastAPI builds, with problem+json errors, then each extension applied
    (e.g. webhooks.openapi.add_webhooks) before it is cached."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        key = _document_key(app, extensions)
        cached = _DOCUMENTS.get(key)
        if cached is None:
            cached = _DOCUMENTS[key] = _document(app, extensions)
        app.openapi_schema = cached
        return cached

    app.openapi = build  # type: ignore[method-assign]


# Documents already built in this process, by what they are built from: every app made by
# create_app has the same routes, and building one takes about a second (the test suite makes
# an app per test). The key holds names, not the endpoints, so no app is kept alive by it.
_DOCUMENTS: dict[tuple[object, ...], dict[str, Any]] = {}


def _document_key(app: FastAPI, extensions: Sequence[Extension]) -> tuple[object, ...]:
    def signature(route: object) -> tuple[object, ...]:
        endpoint = getattr(route, "endpoint", None)
        return (
            getattr(route, "path", None),
            tuple(sorted(getattr(route, "methods", None) or ())),
            getattr(route, "name", None),
            getattr(endpoint, "__module__", None),
            getattr(endpoint, "__qualname__", None),
        )

    return (
        app.title,
        app.version,
        app.description,
        repr(app.openapi_tags),
        tuple(signature(route) for route in app.routes),
        tuple(signature(route) for route in app.webhooks.routes),
        tuple(f"{extend.__module__}.{extend.__qualname__}" for extend in extensions),
    )


def _document(app: FastAPI, extensions: Sequence[Extension]) -> dict[str, Any]:
    """The document FastAPI builds for `app`, with problem+json errors and the extensions."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        webhooks=app.webhooks.routes,
        tags=app.openapi_tags,
    )
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses: dict[str, Any] = operation.get("responses", {})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    _as_problem(response)
            if "422" in responses or "requestBody" in operation:
                responses.setdefault("422", {"description": _DESCRIPTIONS[422]})
                _as_problem(responses["422"])
            _document_replays(operation)
            _document_rate_limits(operation)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["ProblemOut"] = ProblemOut.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    _hoist_defs(components)
    for extend in extensions:
        extend(schema)
    _refuse_nul(schema)
    return schema


def _refuse_nul(node: object) -> None:
    """Every string without a pattern, format or enum of its own says it takes no NUL."""
    if isinstance(node, list):
        for item in node:
            _refuse_nul(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(node):
        node["pattern"] = NO_NUL
    for value in node.values():
        _refuse_nul(value)


def _hoist_defs(components: dict[str, Any]) -> None:
    problem = components["ProblemOut"]
    for name, definition in problem.pop("$defs", {}).items():
        components.setdefault(name, definition)
