"""Every error path answers RFC 9457 problem+json; operations endpoints; the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.http import MAX_BODY_BYTES
from assina.db.database import Database
from tests.assertions import PROBLEM, assert_problem
from tests.conftest import TEST_SECRET_KEY, TenantClient
from tests.integration.fuzz_support import app_routes


def field_errors(body: dict[str, Any]) -> dict[str, str]:
    errors = body["errors"]
    assert isinstance(errors, list) and errors
    for error in errors:
        assert set(error) == {"field", "message"}, error
        assert isinstance(error["field"], str) and error["field"]
        assert isinstance(error["message"], str) and error["message"]
    return {error["field"]: error["message"] for error in errors}


async def _create_customer(api: TenantClient) -> dict[str, Any]:
    response = await api.post("/v1/customers", {"name": "Ana"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- routing errors ----------------------------------------------------------------------


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/nothing-here"), 404, "not-found")
    assert "route" in body["detail"].lower()
    assert_problem(await client.post("/nowhere", json={}), 404, "not-found")


async def test_wrong_method_is_405(api: TenantClient) -> None:
    response = await api.delete("/v1/customers")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, POST"
    assert_problem(await api.http.put("/healthz"), 405, "method-not-allowed")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/v1/tenant", "GET, PATCH"),
        ("PUT", "/v1/customers/cus_0", "GET, PATCH"),
        ("OPTIONS", "/v1/api-keys", "GET, POST"),
        ("POST", "/v1/webhook-endpoints/whe_0", "GET, PATCH, DELETE"),
        ("DELETE", "/v1/billing-settings", "GET, PUT"),
    ],
)
async def test_405_allows_every_method_of_the_path(
    api: TenantClient, method: str, path: str, allowed: str
) -> None:
    """RFC 9110 §15.5.6: `Allow` lists every method the path supports, not only those of the
    first route that matched it (issue 13)."""
    response = await api.http.request(method, path, headers=api.headers)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == allowed


async def test_missing_customer_is_404(api: TenantClient) -> None:
    body = assert_problem(await api.get("/v1/customers/cus_0000000000"), 404, "not-found")
    assert "cus_0000000000" in body["detail"]


# --- authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sk_not-a-real-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": ""},
    ],
    ids=["none", "wrong-key", "basic", "bearer-without-key", "empty"],
)
async def test_unauthenticated_is_401(
    api: TenantClient, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for response in (
        await client.get("/v1/customers", headers=headers),
        await client.post("/v1/customers", json={"name": "Ana"}, headers=headers),
        await client.get("/v1/tenant", headers=headers),
    ):
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].lower().startswith("bearer")
    # Nothing was created by the refused POSTs.
    assert (await api.get("/v1/customers")).json()["data"] == []


# --- body errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "slug"),
    [
        (b'{"name": ', "malformed-json"),
        (b"{'name': 'Ana'}", "malformed-json"),
        (b'{"name": "Ana"} trailing', "malformed-json"),
        # Not UTF-8: FastAPI gives up before JSON parsing; still a 400 problem.
        (b"\xff\xfe\x00", None),
    ],
    ids=["truncated", "single-quotes", "trailing-garbage", "not-utf8"],
)
async def test_malformed_json_is_400(api: TenantClient, content: bytes, slug: str | None) -> None:
    response = await api.http.post(
        "/v1/customers",
        content=content,
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 400, slug)
    assert (await api.get("/v1/customers")).json()["data"] == []


async def test_validation_is_422_naming_nested_fields(api: TenantClient) -> None:
    response = await api.post(
        "/v1/customers",
        {
            "name": "",
            "email": "not-an-email",
            "document": "123.456.789-00",
            "address": {"city": "São Paulo", "country": "BRA"},
            "metadata": {"plan": 3},
            "colour": "blue",
        },
    )
    body = assert_problem(response, 422, "validation-error")
    errors = field_errors(body)
    assert {
        "name",
        "email",
        "document",
        "address.country",
        "metadata.plan",
        "colour",
    } <= errors.keys(), errors
    assert "check digits" in errors["document"]
    assert not errors["document"].startswith("Value error")
    assert (await api.get("/v1/customers")).json()["data"] == []


async def test_a_field_named_by_the_client_is_answered_without_nul_or_surrogates(
    api: TenantClient,
) -> None:
    """A metadata key holding NUL or a lone surrogate is echoed in `errors` with U+FFFD, as
    the 422 schema promises (no answer carries a NUL)."""
    body = '{"name": "Ana", "metadata": {"a\\u0000\\ud800": 1}}'
    response = await api.post(
        "/v1/customers", content=body, headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422)
    [field] = [error["field"] for error in problem["errors"]]
    assert field.startswith("metadata.a") and set(field[len("metadata.a") :]) == {"\ufffd"}
    assert "\x00" not in response.text


async def test_validation_of_a_missing_field_and_of_query_parameters(api: TenantClient) -> None:
    body = assert_problem(await api.post("/v1/customers", {"email": "a@b.co"}), 422)
    assert "name" in field_errors(body)
    body = assert_problem(await api.get("/v1/customers?limit=0"), 422, "validation-error")
    assert "limit" in field_errors(body)
    body = assert_problem(await api.get("/v1/customers?created_gte=yesterday"), 422)
    assert "created_gte" in field_errors(body)


async def test_validation_on_patch_names_nested_fields(api: TenantClient) -> None:
    customer = await _create_customer(api)
    response = await api.patch(
        f"/v1/customers/{customer['id']}", {"address": {"country": "B", "zip": "1"}}
    )
    errors = field_errors(assert_problem(response, 422))
    assert {"address.country", "address.zip"} <= errors.keys(), errors
    assert (await api.get(f"/v1/customers/{customer['id']}")).json() == customer


async def test_a_body_that_is_not_an_object_is_422(api: TenantClient) -> None:
    for value in ([], "Ana", 3, None):
        body = assert_problem(await api.post("/v1/customers", value), 422, "validation-error")
        assert "body" in field_errors(body)
    assert (await api.get("/v1/customers")).json()["data"] == []


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": "Ana"}', "text/plain"),
        (b"name=Ana", "application/x-www-form-urlencoded"),
        (b'{"name": "Ana"}', "application/xml"),
        (b"", "application/json"),
        (b"", None),
        (b"--x--", "multipart/form-data; boundary=x"),
    ],
    ids=["text", "form", "xml", "empty-json", "empty-untyped", "multipart"],
)
async def test_odd_content_types_and_empty_bodies_are_client_errors(
    api: TenantClient, content: bytes, content_type: str | None
) -> None:
    headers = dict(api.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await api.http.post("/v1/customers", content=content, headers=headers)
    assert response.status_code in {400, 415, 422}, response.text
    assert_problem(response, response.status_code)
    assert (await api.get("/v1/customers")).json()["data"] == []


# --- the 1 MiB limit ---------------------------------------------------------------------


def _padded_customer(size: int) -> bytes:
    """A valid customer body of exactly `size` bytes (JSON allows trailing whitespace)."""
    core = json.dumps({"name": "Ana"}).encode()
    assert size >= len(core)
    return core + b" " * (size - len(core))


async def _chunks(data: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


async def test_body_over_1_mib_with_content_length_is_413(api: TenantClient) -> None:
    response = await api.http.post(
        "/v1/customers",
        content=_padded_customer(MAX_BODY_BYTES + 1),
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "payload-too-large")
    assert (await api.get("/v1/customers")).json()["data"] == []


async def test_body_over_1_mib_streamed_is_413(api: TenantClient) -> None:
    request = api.http.build_request(
        "POST",
        "/v1/customers",
        content=_chunks(_padded_customer(MAX_BODY_BYTES + 1)),
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await api.http.send(request)
    assert_problem(response, 413, "payload-too-large")
    assert (await api.get("/v1/customers")).json()["data"] == []


async def test_a_huge_declared_length_is_413_without_reading(api: TenantClient) -> None:
    response = await api.http.post(
        "/v1/customers",
        content=b'{"name": "Ana"}',
        headers={
            **api.headers,
            "Content-Type": "application/json",
            "Content-Length": str(10 * MAX_BODY_BYTES),
        },
    )
    assert_problem(response, 413)


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_body_of_exactly_1_mib_is_accepted(api: TenantClient, streamed: bool) -> None:
    data = _padded_customer(MAX_BODY_BYTES)
    content: bytes | AsyncIterator[bytes] = _chunks(data) if streamed else data
    response = await api.http.post(
        "/v1/customers",
        content=content,
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Ana"


# --- state machine -----------------------------------------------------------------------


async def test_forbidden_transition_is_409(api: TenantClient) -> None:
    customer = await _create_customer(api)
    body = assert_problem(
        await api.post(f"/v1/customers/{customer['id']}/reactivate"), 409, "invalid-transition"
    )
    assert customer["id"] in body["detail"]
    assert (await api.post(f"/v1/customers/{customer['id']}/deactivate")).status_code == 200
    assert_problem(
        await api.post(f"/v1/customers/{customer['id']}/deactivate"), 409, "invalid-transition"
    )
    events = (await api.get("/v1/events")).json()["data"]
    assert [e["type"] for e in events] == ["customer.created", "customer.deactivated"]


async def test_another_tenants_customer_is_404(api: TenantClient, other_api: TenantClient) -> None:
    customer = await _create_customer(api)
    assert_problem(await other_api.get(f"/v1/customers/{customer['id']}"), 404, "not-found")
    assert_problem(
        await other_api.post(f"/v1/customers/{customer['id']}/deactivate"), 404, "not-found"
    )


# --- operations --------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.fixture
def unreachable_app(tmp_path: Path, clock: FrozenClock) -> Iterator[object]:
    """An app whose SQLite file lives in a directory that does not exist."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'assina.db'}"
    database = Database.from_url(url, pool_size=1)
    settings = Settings(database_url=url, secret_key=TEST_SECRET_KEY, data_dir=tmp_path)
    yield create_app(settings, database=database, clock=clock)


async def test_readyz_when_the_database_does_not_answer(unreachable_app: object) -> None:
    transport = httpx.ASGITransport(app=unreachable_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://assina.test") as http:
        response = await http.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert (await http.get("/healthz")).status_code == 200


async def test_metrics_use_route_templates(api: TenantClient, client: httpx.AsyncClient) -> None:
    customer = await _create_customer(api)
    for _ in range(3):
        assert (await api.get(f"/v1/customers/{customer['id']}")).status_code == 200
    assert (await api.get("/v1/customers/cus_missing")).status_code == 404
    assert (await client.get("/v1/no-such-route/abc123")).status_code == 404

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE assina_http_requests_total counter" in text
    assert (
        'assina_http_requests_total{method="GET",route="/v1/customers/{customer_id}",'
        'status="200"} 3.0'
    ) in text
    assert (
        'assina_http_requests_total{method="GET",route="/v1/customers/{customer_id}",'
        'status="404"} 1.0'
    ) in text
    assert 'assina_http_requests_total{method="POST",route="/v1/customers",status="201"}' in text
    # Raw ids and unknown paths never become label values.
    assert customer["id"] not in text
    assert "cus_missing" not in text
    assert "abc123" not in text
    # The latency histogram, by template.
    assert "# TYPE assina_http_request_duration_seconds histogram" in text
    assert (
        'assina_http_request_duration_seconds_count{method="GET",'
        'route="/v1/customers/{customer_id}"} 4.0'
    ) in text
    assert "assina_http_request_duration_seconds_bucket{" in text
    assert 'le="+Inf"' in text


# --- OpenAPI -----------------------------------------------------------------------------


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_openapi_is_3_1(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1")


async def test_openapi_documents_every_v1_route(app: Any, openapi: dict[str, Any]) -> None:
    routes = [
        (path, route)
        for path, route in app_routes(app.routes)
        if path.startswith("/v1") and route.include_in_schema
    ]
    assert len(routes) >= 10
    expected = {(path, m.lower()) for path, route in routes for m in route.methods}
    documented = {
        (path, method)
        for path, item in openapi["paths"].items()
        for method in item
        if path.startswith("/v1")
    }
    assert expected <= documented, expected - documented
    for path in ("/v1/customers", "/v1/customers/{customer_id}", "/v1/products", "/v1/events"):
        assert path in openapi["paths"]
    assert "post" in openapi["paths"]["/v1/customers"]
    assert "patch" in openapi["paths"]["/v1/customers/{customer_id}"]


async def test_openapi_errors_are_problem_json(openapi: dict[str, Any]) -> None:
    ref = "#/components/schemas/ProblemOut"
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    assert response["content"] == {PROBLEM: {"schema": {"$ref": ref}}}, where
            takes_input = "requestBody" in operation or any(
                p["in"] in {"query", "path"} for p in operation.get("parameters", [])
            )
            if takes_input:
                assert "422" in responses, where
            if operation.get("security"):
                assert "401" in responses, where
            if "requestBody" in operation:
                assert {"400", "413"} <= responses.keys(), where


async def test_openapi_problem_schema(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    problem = schemas["ProblemOut"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"type", "title", "status", "detail", "errors"} <= problem["properties"].keys()
    # Every reference in the document resolves, and none points at FastAPI's own 422 shape.
    for ref in set(_refs(openapi)):
        assert ref.startswith("#/components/schemas/"), ref
        name = ref.rsplit("/", 1)[1]
        assert name in schemas, ref
        assert "ValidationError" not in name or name == "FieldErrorOut", ref
    field_error = json.dumps(problem["properties"]["errors"])
    assert "FieldErrorOut" in field_error
    assert set(schemas["FieldErrorOut"]["required"]) == {"field", "message"}
