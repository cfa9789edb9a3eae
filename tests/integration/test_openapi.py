"""The OpenAPI document is one an integrator can trust: every operation summarised and
described, `Idempotency-Key` declared exactly where it is honoured and with the rules the
server applies, the webhooks section with every catalog event and the payload a receiver
really gets, valid OpenAPI 3.1; and `/docs` loads nothing from outside assina."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.openapi.models import OpenAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.event_types.catalog import data_schema
from assina.events.catalog import CATALOG
from tests.assertions import assert_problem
from tests.conftest import TenantClient
from tests.integration.delivery_support import Receiver, dispatcher_for, new_endpoint

KEY = "Idempotency-Key"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ENVELOPE = {
    "id",
    "type",
    "label",
    "timestamp",
    "sequence",
    "tenant_id",
    "data",
    "previous",
    "validationtoken",
}
SIGNATURE_HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature", "x-validation-token"}


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, method, operation) of every path and webhook operation."""
    found = []
    for section in ("paths", "webhooks"):
        for path, item in document.get(section, {}).items():
            for method, operation in item.items():
                found.append((f"{method.upper()} {path}", method, operation))
    return found


def key_parameter(operation: dict[str, Any]) -> dict[str, Any] | None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"] == KEY:
            found: dict[str, Any] = parameter
            return found
    return None


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


# --- summaries and descriptions ----------------------------------------------------------


async def test_every_operation_has_a_summary_and_a_description(
    app: FastAPI, document: dict[str, Any]
) -> None:
    """New routes included: a route without its own summary and docstring fails here."""
    found = operations(document)
    assert len(found) >= 60 + len(CATALOG)
    for where, _method, operation in found:
        assert operation.get("summary", "").strip(), f"{where}: no summary"
        assert len(operation.get("description", "").strip()) >= 20, f"{where}: no description"
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            # FastAPI makes one up from the function's name ("Create Customer"): write one.
            assert route.summary, f"{route.path} {route.methods}: summary= not given"


async def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _where, _method, operation in operations(document)]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]


# --- valid OpenAPI 3.1 -------------------------------------------------------------------


async def test_the_document_is_openapi_3_1(document: dict[str, Any]) -> None:
    """No validator package in the venv: FastAPI's own OpenAPI model, and the rules it does
    not check, by hand (refs resolving: test_problems.py)."""
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    OpenAPI.model_validate(document)
    assert document["info"]["title"] and document["info"]["version"]
    for path, item in document["paths"].items():
        assert path.startswith("/"), path
        assert set(item) <= METHODS, path
        templated = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == templated, f"{method} {path}"
    for name, item in document["webhooks"].items():
        assert set(item) == {"post"}, name
    for where, _method, operation in operations(document):
        assert operation["responses"], where
        seen = set()
        for parameter in operation.get("parameters", []):
            assert parameter["in"] in {"path", "query", "header", "cookie"}, where
            assert "schema" in parameter, where
            assert (parameter["in"], parameter["name"].lower()) not in seen, where
            seen.add((parameter["in"], parameter["name"].lower()))
            if parameter["in"] == "path":
                assert parameter["required"] is True, where
            if parameter["in"] == "header":  # OpenAPI: these three are ignored if declared
                assert parameter["name"].lower() not in {"accept", "content-type"}, where


# --- the schema says what validation checks (issue 13) --------------------------------------


async def test_patch_fields_that_refuse_null_are_not_nullable(
    document: dict[str, Any], api: TenantClient
) -> None:
    schemas = document["components"]["schemas"]
    name = schemas["ProductUpdate"]["properties"]["name"]
    assert "anyOf" not in name and name["type"] == "string"
    # A field that may be cleared keeps its null.
    assert {"type": "null"} in schemas["ProductUpdate"]["properties"]["description"]["anyOf"]
    refused = await api.patch("/v1/tenant", {"name": None})
    assert refused.status_code == 422 and "leave the field out" in refused.text


async def test_rules_across_fields_are_in_the_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    line = schemas["ChargeItemIn"]["anyOf"]
    assert [sorted(form["required"]) for form in line] == [
        ["product_id"],
        ["amount", "description"],
    ]
    assert len(schemas["ContractReadjust"]["anyOf"]) == len(schemas["ClockAdvanceIn"]["anyOf"]) == 2


async def test_every_plain_string_refuses_nul(document: dict[str, Any]) -> None:
    def strings(node: object) -> list[dict[str, Any]]:
        if isinstance(node, list):
            return [found for item in node for found in strings(item)]
        if not isinstance(node, dict):
            return []
        own = [node] if node.get("type") == "string" else []
        return own + [found for value in node.values() for found in strings(value)]

    for schema in strings(document["components"]["schemas"]):
        assert {"pattern", "format", "enum", "const"} & set(schema), schema


# --- Idempotency-Key ---------------------------------------------------------------------


async def test_idempotency_key_is_declared_with_the_rules_the_server_applies(
    document: dict[str, Any],
) -> None:
    declared = [(where, key_parameter(op)) for where, _m, op in operations(document)]
    declared = [(where, parameter) for where, parameter in declared if parameter]
    assert len(declared) >= 20
    for where, parameter in declared:
        assert not where.startswith("GET"), where
        assert parameter["required"] is False, where
        schema = parameter["schema"]
        assert schema["type"] == "string", where
        assert (schema["minLength"], schema["maxLength"]) == (1, 255), where
        assert re.fullmatch(schema["pattern"], schema["examples"][0]), where
        assert "409" in parameter["description"] and "24 hours" in parameter["description"]
        operation = document["paths"][where.split(" ", 1)[1]][where.split(" ", 1)[0].lower()]
        [success] = [status for status in operation["responses"] if status.startswith("2")]
        assert "Idempotent-Replayed" in operation["responses"][success]["headers"], where
    posts = {where for where, method, _op in operations(document) if method == "post"}
    # Every POST honours the key today (the README says so); none of the webhooks does, nor
    # the providers' inbound route: no API key scopes it, and the provider's event id makes it
    # once (docs/payments.md).
    keyed = {where for where in posts if "/v1/" in where and "/v1/inbound/" not in where}
    assert keyed <= {where for where, _p in declared}


def _path(template: str) -> str:
    return re.sub(r"{[^}]+}", "x", template)


async def test_a_route_checks_the_key_exactly_when_it_declares_it(
    api: TenantClient, document: dict[str, Any]
) -> None:
    """The declaration is the check: each declaring operation refuses a bad key (before it
    reads its body or looks anything up); the others ignore the header."""
    bad = {**api.headers, KEY: "k" * 256}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "get":
                continue
            response = await api.http.request(method.upper(), _path(path), headers=bad)
            where = f"{method.upper()} {path}: {response.text}"
            if key_parameter(operation):
                assert_problem(response, 400, "invalid-idempotency-key")
            else:
                assert response.status_code < 500, where
                assert "invalid-idempotency-key" not in response.text, where


def _documented_keys(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True).filter(lambda key: 1 <= len(key) <= 255)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_a_key_that_follows_the_document_is_honoured(
    api: TenantClient, document: dict[str, Any], data: st.DataObject
) -> None:
    schema = key_parameter(document["paths"]["/v1/customers"]["post"])
    assert schema is not None
    key = data.draw(_documented_keys(schema["schema"]["pattern"]), label="key")
    # Each example its own key space: a key drawn twice would replay the first customer.
    name = f"Ana {data.draw(st.uuids()).hex}"
    first = await api.post("/v1/customers", {"name": name}, headers={KEY: key + "-" + name})
    again = await api.post("/v1/customers", {"name": name}, headers={KEY: key + "-" + name})
    assert first.status_code == 201, (key, first.text)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


# --- webhooks ----------------------------------------------------------------------------


async def test_every_catalog_event_is_a_webhook_with_its_payload(
    document: dict[str, Any],
) -> None:
    webhooks = document["webhooks"]
    assert set(webhooks) == {kind.name.value for kind in CATALOG}
    for kind in CATALOG:
        operation = webhooks[kind.name.value]["post"]
        payload_ref = operation["requestBody"]["content"]["application/json"]["schema"]
        payload = resolve(document, payload_ref)
        assert set(payload["properties"]) == ENVELOPE, kind.name
        assert set(payload["required"]) == ENVELOPE, kind.name
        assert payload["properties"]["type"]["const"] == kind.name.value
        assert payload["properties"]["label"]["const"] == kind.label
        data = resolve(document, payload["properties"]["data"])
        expected = data_schema(kind.name)
        assert set(data["properties"]) == set(expected["properties"]), kind.name
        assert set(data.get("required", [])) == set(expected.get("required", [])), kind.name
        headers = {p["name"] for p in operation["parameters"] if p["required"]}
        assert headers >= SIGNATURE_HEADERS, kind.name
        assert "2XX" in operation["responses"] and "410" in operation["responses"]


def _mismatches(document: dict[str, Any], value: Any, schema: dict[str, Any]) -> list[str]:
    """Where `value` breaks `schema` (the JSON Schema words this document uses)."""
    schema = resolve(document, schema)
    if "anyOf" in schema:
        if any(not _mismatches(document, value, option) for option in schema["anyOf"]):
            return []
        return [f"{value!r} matches no option of {schema['anyOf']}"]
    if "const" in schema and value != schema["const"]:
        return [f"{value!r} != {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{value!r} not in {schema['enum']}"]
    kinds = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "boolean": bool,
        "null": type(None),
    }
    expected = kinds.get(schema.get("type", ""))
    if expected is not None and not isinstance(value, expected):
        return [f"{value!r} is not {schema['type']}"]
    problems = []
    if isinstance(value, dict) and "properties" in schema:
        missing = set(schema.get("required", [])) - set(value)
        problems += [f"missing {name}" for name in sorted(missing)]
        problems += [
            f"undocumented {name}" for name in sorted(set(value) - set(schema["properties"]))
        ]
        for name, member in value.items():
            if name in schema["properties"]:
                problems += [
                    f"{name}: {p}"
                    for p in _mismatches(document, member, schema["properties"][name])
                ]
    if isinstance(value, list) and "items" in schema:
        for item in value:
            problems += _mismatches(document, item, schema["items"])
    return problems


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC))


async def test_a_delivery_is_what_its_webhook_documents(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    await new_endpoint(api, receiver.url)
    document = (await api.http.get("/openapi.json")).json()
    customer = await api.post(
        "/v1/customers",
        {"name": "Ana", "document": "529.982.247-25", "address": {"city": "Recife"}},
    )
    await api.patch(f"/v1/customers/{customer.json()['id']}", {"email": "ana@example.com"})
    dispatcher = dispatcher_for(database, clock)
    try:
        assert await dispatcher.dispatch_once() == 2
    finally:
        await dispatcher.close()
    assert len(receiver.received) == 2
    for got in receiver.received:
        payload = json.loads(got.body)
        operation = document["webhooks"][payload["type"]]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert _mismatches(document, payload, schema) == [], payload
        headers = {name.lower() for name in got.headers}
        required = {p["name"].lower() for p in operation["parameters"] if p["required"]}
        assert required <= headers, required - headers
    assert _mismatches(document, {"id": 1}, schema)  # the check can fail


# --- /docs offline -----------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


async def test_docs_load_only_assets_assina_serves(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    links = _Links()
    links.feed(page.text)
    spec_urls = re.findall(r"url: '([^']+)'", page.text)
    assert spec_urls == ["/openapi.json"]
    urls = links.urls + spec_urls
    assert len(links.urls) >= 3  # the script, the style sheet, the icon
    assert not re.search(r"(https?:)?//[a-z]", page.text.replace("http://www.w3.org", ""))
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
    assert '"validatorUrl": null' in page.text  # no badge fetched from the public validator
    redoc = await client.get("/redoc")
    assert redoc.status_code == 404  # not served: it would need assets of its own
