"""Fuzzing support: the OpenAPI document the app serves, as Hypothesis strategies."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.fuzz_support import (
    CONTENT_TYPES,
    IDEMPOTENCY_KEYS,
    NOT_A_KEY,
    RAW_BODIES,
    Call,
    _has_surrogate,
    as_query_value,
    encode_json,
    instants,
    integers,
    json_values,
    scalars,
    texts,
    url_texts,
)

# ---------------------------------------------------------------------------------------------
# The OpenAPI document, as strategies
# ---------------------------------------------------------------------------------------------

KEY_HEADER = "Idempotency-Key"


@dataclass
class Operation:
    method: str
    path: str
    path_params: list[str]
    query: dict[str, dict[str, Any]]
    headers: dict[str, dict[str, Any]]  # declared header parameters: Idempotency-Key
    body: dict[str, Any] | None
    secured: bool

    @property
    def key_schema(self) -> dict[str, Any] | None:
        return self.headers.get(KEY_HEADER)

    def url(self, values: dict[str, str]) -> str:
        path = self.path
        for name in self.path_params:
            path = path.replace("{" + name + "}", quote(values[name], safe=""))
        return path


def operations_of(document: dict[str, Any]) -> list[Operation]:
    operations = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            parameters = spec.get("parameters", [])
            body = spec.get("requestBody", {}).get("content", {}).get("application/json")
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_params=[p["name"] for p in parameters if p["in"] == "path"],
                    query={p["name"]: p["schema"] for p in parameters if p["in"] == "query"},
                    headers={p["name"]: p["schema"] for p in parameters if p["in"] == "header"},
                    body=body["schema"] if body else None,
                    secured="security" in spec,
                )
            )
    return operations


class Schemas:
    """Strategies for values a JSON schema admits (roughly) and for values it refuses (surely)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components: dict[str, Any] = document["components"]["schemas"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            target = self.components[schema["$ref"].rsplit("/", 1)[1]]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def branches(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        schema = self.resolve(schema)
        if "anyOf" in schema:
            return [b for option in schema["anyOf"] for b in self.branches(option)]
        return [schema]

    # Near-valid values: right types and bounds, nasty content. -------------------------------

    def valid(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        return st.one_of([self._valid_branch(b) for b in self.branches(schema)])

    def _valid_branch(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        examples: st.SearchStrategy[Any] = st.sampled_from(schema.get("examples") or [None])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema.get("type")
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            bounded = st.integers(
                min_value=None if low is None else int(low),
                max_value=None if high is None else int(high),
            )
            return st.one_of(bounded, examples) if "examples" in schema else bounded
        if kind == "number":
            return st.floats()
        if kind == "string":
            return self._valid_string(schema, examples)
        if kind == "array":
            return st.lists(self.valid(schema.get("items", {})), max_size=3)
        if kind == "object":
            return self._valid_object(schema)
        return json_values

    def _valid_string(
        self, schema: dict[str, Any], examples: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        if schema.get("format") == "email":
            return st.one_of(st.emails(), texts)
        if schema.get("format") == "date-time":
            return st.one_of(instants, texts)
        low = schema.get("minLength", 0)
        high = schema.get("maxLength", 40)
        sized = st.text(min_size=low, max_size=min(high, 40))
        nasty = texts.filter(lambda value: low <= len(value) <= high)
        options = [sized, nasty] + ([examples] if "examples" in schema else [])
        return st.one_of(options)

    def _valid_object(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        if properties:
            required = set(schema.get("required", []))
            return st.fixed_dictionaries(
                {name: self.valid(properties[name]) for name in properties if name in required},
                optional={
                    name: self.valid(properties[name])
                    for name in properties
                    if name not in required
                },
            )
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return st.dictionaries(texts, self.valid(extra), max_size=4)
        return st.dictionaries(texts, json_values, max_size=4)

    def body(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        """A near-valid body, sometimes with one member replaced by anything at all."""
        names = sorted(self.resolve(schema).get("properties", {})) or ["x"]
        mutated = st.tuples(
            self.valid(schema), st.one_of(st.sampled_from(names), texts), json_values
        ).map(lambda t: {**t[0], t[1]: t[2]} if isinstance(t[0], dict) else t[2])
        return st.one_of(self.valid(schema), self.valid(schema), mutated)

    # Values the schema refuses: wrong type, out of bounds, unknown member, NUL. ---------------

    def invalid(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        branches = self.branches(schema)
        kinds = {b.get("type", "string" if "enum" in b else None) for b in branches}
        options: list[st.SearchStrategy[Any]] = []
        if "integer" not in kinds and "number" not in kinds:
            options.append(integers)
        if "integer" in kinds and "number" not in kinds:
            options.append(st.floats().filter(lambda number: not float(number).is_integer()))
        if "string" not in kinds:
            options.append(texts)
        if "object" not in kinds:
            options.append(st.dictionaries(texts, json_values, max_size=3))
        if "array" not in kinds:
            options.append(st.lists(json_values, max_size=3))
        if "null" not in kinds:
            options.append(st.none())
        if not kinds & {"integer", "number", "boolean"}:
            options.append(st.booleans())
        for branch in branches:
            options.extend(self._invalid_within(branch))
        return st.one_of(options)

    def _invalid_within(self, schema: dict[str, Any]) -> list[st.SearchStrategy[Any]]:
        """Values of the branch's own type that it refuses anyway."""
        kind = schema.get("type")
        if "enum" in schema:
            return [texts.filter(lambda value: value not in schema["enum"])]
        if kind == "string":
            return self._invalid_strings(schema)
        if kind == "integer":
            options: list[st.SearchStrategy[Any]] = []
            if "minimum" in schema:
                options.append(st.integers(max_value=int(schema["minimum"]) - 1))
            if "maximum" in schema:
                options.append(st.integers(min_value=int(schema["maximum"]) + 1))
            return options
        if kind == "object":
            return self.invalid_members(schema)
        return []

    def _invalid_strings(self, schema: dict[str, Any]) -> list[st.SearchStrategy[Any]]:
        with_nul = st.tuples(st.text(max_size=5), st.text(max_size=5)).map(
            lambda parts: parts[0] + "\x00" + parts[1]
        )
        options: list[st.SearchStrategy[Any]] = [with_nul]
        if "maxLength" in schema:
            high = schema["maxLength"]
            options.append(st.integers(high + 1, high + 50).map(lambda size: "x" * size))
        if schema.get("minLength", 0) > 0:
            options.append(st.text(max_size=schema["minLength"] - 1))
        if schema.get("format") == "email":
            options.append(st.text(string.ascii_letters + ".", max_size=20))
        return options

    def invalid_members(self, schema: dict[str, Any]) -> list[st.SearchStrategy[Any]]:
        properties: dict[str, Any] = schema.get("properties", {})
        if properties:
            valid = self._valid_object(schema)
            unknown = texts.filter(lambda name: name not in properties)
            return [
                st.tuples(valid, unknown, json_values).map(lambda t: {**t[0], t[1]: t[2]}),
                st.sampled_from(sorted(properties)).flatmap(
                    lambda name: st.tuples(valid, self.invalid(properties[name])).map(
                        lambda t: {**t[0], name: t[1]}
                    )
                ),
            ]
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("type") == "string":  # metadata
            return [
                st.dictionaries(texts, texts, max_size=2).flatmap(
                    lambda good: st.tuples(
                        st.text(min_size=1, max_size=10), self.invalid(extra)
                    ).map(lambda bad: {**good, bad[0]: bad[1]})
                ),
                st.just({f"k{i}": "v" for i in range(51)}),
                st.just({"k" * 41: "v"}),
                st.just({"": "v"}),
                st.just({"k": "v" * 501}),
            ]
        return []

    # Header values. ----------------------------------------------------------------------------

    def header_value(self, schema: dict[str, Any]) -> st.SearchStrategy[bytes]:
        """A value the declared schema admits: its pattern, within its lengths."""
        low, high = schema.get("minLength", 0), schema.get("maxLength", 100)
        values = st.from_regex(schema["pattern"], fullmatch=True) if "pattern" in schema else texts
        return values.filter(lambda value: low <= len(value) <= high).map(str.encode)

    def invalid_header_value(self, schema: dict[str, Any]) -> st.SearchStrategy[bytes]:
        """A value the schema refuses and the server refuses too: empty, too long, or with a
        control character. (A Latin-1 letter or a lone space is outside the documented pattern
        but still a printable key the server takes, so neither is used here.)"""
        options: list[st.SearchStrategy[bytes]] = [
            st.tuples(
                st.text(string.ascii_letters, min_size=1, max_size=5),
                st.sampled_from([b"\x00", b"\x01", b"\x1b", b"\x7f"]),
            ).map(lambda parts: parts[0].encode() + parts[1] + b"k")
        ]
        if "maxLength" in schema:
            high = schema["maxLength"]
            options.append(st.integers(high + 1, high + 300).map(lambda size: b"k" * size))
        if schema.get("minLength", 0) > 0:
            options.append(st.sampled_from([b"", b"\t"]))
        return st.one_of(options)

    # Query strings. -----------------------------------------------------------------------------

    def query_value(self, schema: dict[str, Any]) -> st.SearchStrategy[str | None]:
        generated = st.one_of(self.valid(schema).map(as_query_value), url_texts, integers.map(str))
        return generated.filter(lambda value: value is None or not _has_surrogate(value))

    def invalid_query_value(self, schema: dict[str, Any]) -> st.SearchStrategy[str]:
        branches = [b for b in self.branches(schema) if b.get("type") != "null"]
        options: list[st.SearchStrategy[str]] = [
            st.text(max_size=5).map(lambda tail: "x\x00" + tail)
        ]
        for branch in branches:
            if "enum" in branch:
                options.append(url_texts.filter(_not_in(branch["enum"])))
            elif branch.get("type") == "integer":
                low, high = int(branch.get("minimum", 0)), int(branch.get("maximum", 2**63))
                outside = st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1))
                options.append(outside.map(str))
                options.append(
                    st.sampled_from(["abc", "1.5", "1e3", "0x10", "NaN", "\u0661\u0662"])
                )
            elif branch.get("format") == "date-time":
                options.append(
                    st.sampled_from(
                        [
                            "yesterday",
                            "2026-13-01T00:00:00Z",
                            "2026-01-15T12:00:00",  # naive
                            "2026-01-15",
                            "0001-01-01T00:00:00+01:00",
                            "9999-12-31T23:59:59-00:01",
                            "2026-01-15T12:00:00+25:00",
                        ]
                    )
                )
            elif branch.get("type") == "string" and "maxLength" in branch:
                high = branch["maxLength"]
                options.append(st.integers(high + 1, 10_000).map(lambda size: "y" * size))
        return st.one_of(options)


def _not_in(values: list[str]) -> Callable[[str], bool]:
    return lambda value: bool(value) and value not in values


@dataclass(repr=False)
class World:
    api: TenantClient
    database: Database
    operations: list[Operation]
    schemas: Schemas
    own_ids: dict[str, list[str]]  # path parameter → real ids of this tenant
    foreign_ids: list[str]  # another tenant's ids: 404 like a missing one

    @property
    def key(self) -> bytes:
        return f"Bearer {self.api.tenant.api_key}".encode()

    def __repr__(self) -> str:
        return f"World(tenant={self.api.tenant.tenant_id}, ids={self.own_ids})"

    def secured(self) -> list[Operation]:
        return [op for op in self.operations if op.secured]


# ---------------------------------------------------------------------------------------------
# Strategies for whole requests
# ---------------------------------------------------------------------------------------------


def _body_content(draw: Callable[..., Any], world: World, op: Operation) -> tuple[bytes, str]:
    """A body and its Content-Type: JSON near the schema, any JSON, or raw bytes."""
    schema = op.body or {}
    shape = draw(st.sampled_from(["schema", "schema", "json", "raw"]))
    if shape == "raw":
        raw = draw(st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=64)))
        return raw, draw(st.sampled_from(CONTENT_TYPES))
    value = draw(world.schemas.body(schema) if shape == "schema" else json_values)
    content_type = draw(st.sampled_from(["application/json"] * 12 + CONTENT_TYPES))
    return encode_json(value, draw(st.booleans())), content_type


def _path_values(
    draw: Callable[..., Any], world: World, op: Operation, own: bool, tame: bool
) -> dict[str, str]:
    """Ids for the path: real ones of this tenant (if `own`), another tenant's, random text.

    `tame` leaves out what makes the URL another route or a redirect (``, `.`, `/`)."""
    own_ids = [i for ids in world.own_ids.values() for i in ids]
    random = url_texts.filter(
        lambda value: (
            value not in own_ids and not (tame and (value.strip(".") == "" or "/" in value))
        )
    )
    values = {}
    for name in op.path_params:
        values[name] = draw(st.one_of(st.sampled_from(world.foreign_ids), random))
        if own and draw(st.booleans()):
            values[name] = draw(st.sampled_from(world.own_ids.get(name, own_ids)))
    return values


def _query(draw: Callable[..., Any], world: World, op: Operation) -> list[tuple[str, str]]:
    params = []
    for name, schema in op.query.items():
        if draw(st.booleans()):
            value = draw(world.schemas.query_value(schema))
            if value is not None:
                params.append((name, value))
    if draw(st.integers(0, 4)) == 0:
        params.append((draw(url_texts), draw(url_texts)))  # unknown or repeated
    return params


def _auth(draw: Callable[..., Any], world: World) -> dict[str, bytes]:
    choice = draw(st.sampled_from(["key", "key", "none", "garbage"]))
    if choice == "key":
        return {"Authorization": world.key}
    if choice == "garbage":
        return {"Authorization": draw(NOT_A_KEY)}
    return {}


@st.composite
def any_call(
    draw: Callable[..., Any], world: World, operations: list[Operation] | None = None
) -> Call:
    op = draw(st.sampled_from(operations or world.operations))
    tame = operations is not None
    call = Call(
        op.method,
        op.url(_path_values(draw, world, op, own=True, tame=tame)),
        _query(draw, world, op),
        _auth(draw, world),
    )
    if op.body is not None or draw(st.integers(0, 5)) == 0:
        call.content, content_type = _body_content(draw, world, op)
        if content_type:
            call.headers["Content-Type"] = content_type.encode()
    key = _any_key(draw, world, op)
    if key is not None:
        call.headers[KEY_HEADER] = key
    return call


def _any_key(draw: Callable[..., Any], world: World, op: Operation) -> bytes | None:
    """A key the operation's schema admits, or a nasty one; sent to writes that do not declare
    it too, which must ignore it."""
    nasty: bytes | None = draw(IDEMPOTENCY_KEYS)
    if op.key_schema is None:
        return nasty if op.method in {"POST", "PUT", "PATCH", "DELETE"} else None
    return draw(st.one_of(st.just(nasty), world.schemas.header_value(op.key_schema)))


@st.composite
def write_call(draw: Callable[..., Any], world: World) -> Call:
    """An authenticated JSON write near its schema: most reach the database with odd text."""
    op = draw(st.sampled_from([op for op in world.operations if op.body is not None]))
    values = {name: draw(st.sampled_from(world.own_ids[name])) for name in op.path_params}
    headers = {"Authorization": world.key, "Content-Type": b"application/json"}
    if op.key_schema is not None and draw(st.booleans()):
        # Unique keys: a replayed answer would be the first write's, not what is stored now.
        headers[KEY_HEADER] = draw(st.uuids()).hex.encode()
    body = encode_json(draw(world.schemas.valid(op.body or {})), draw(st.booleans()))
    return Call(op.method, op.url(values), [], headers, body)


@st.composite
def invalid_call(draw: Callable[..., Any], world: World) -> Call:
    """A request that must be refused, whatever else it carries."""
    kinds = ["auth", "path", "query", "body", "header", "method", "route"]
    kind = draw(st.sampled_from(kinds))
    with_key = {"Authorization": world.key}
    if kind == "auth":
        call: Call = draw(any_call(world, world.secured()))
        call.headers["Authorization"] = draw(NOT_A_KEY)
        if draw(st.booleans()):
            del call.headers["Authorization"]
        return call
    if kind == "path":
        op = draw(st.sampled_from([op for op in world.operations if op.path_params]))
        values = _path_values(draw, world, op, own=False, tame=True)
        call = Call(op.method, op.url(values), [], with_key)
        if op.body is not None:
            call.content = encode_json(draw(world.schemas.valid(op.body)), ascii_only=True)
            call.headers["Content-Type"] = b"application/json"
        return call
    if kind == "query":
        op = draw(st.sampled_from([op for op in world.operations if op.query]))
        name = draw(st.sampled_from(sorted(op.query)))
        params = [(name, draw(world.schemas.invalid_query_value(op.query[name])))]
        values = _path_values(draw, world, op, own=True, tame=True)
        return Call(op.method, op.url(values), params, with_key)
    if kind == "body":
        op = draw(st.sampled_from([op for op in world.operations if op.body is not None]))
        values = _path_values(draw, world, op, own=True, tame=True)
        call = Call(op.method, op.url(values), [], with_key)
        call.content, content_type = _invalid_body(draw, world, op.body or {})
        if content_type:
            call.headers["Content-Type"] = content_type.encode()
        if op.key_schema is not None and draw(st.booleans()):
            call.headers[KEY_HEADER] = draw(st.uuids()).hex.encode()
        return call
    if kind == "header":
        op = draw(st.sampled_from([op for op in world.operations if op.key_schema is not None]))
        values = _path_values(draw, world, op, own=True, tame=True)
        call = Call(op.method, op.url(values), [], with_key)
        call.headers[KEY_HEADER] = draw(world.schemas.invalid_header_value(op.key_schema or {}))
        if op.body is not None:
            call.content = encode_json(draw(world.schemas.valid(op.body)), ascii_only=True)
            call.headers["Content-Type"] = b"application/json"
        return call
    if kind == "method":
        op = draw(st.sampled_from(world.operations))
        allowed = {o.method for o in world.operations if o.path == op.path}
        method = draw(st.sampled_from(sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed)))
        own_ids = [i for ids in world.own_ids.values() for i in ids]
        values = {name: draw(st.sampled_from(own_ids)) for name in op.path_params}
        return Call(method, op.url(values), [], with_key, encode_json({"name": "x"}, True))
    segment = draw(url_texts)
    return Call(
        draw(st.sampled_from(["GET", "POST"])), "/v1/nope-" + quote(segment, safe=""), [], with_key
    )


def _invalid_body(
    draw: Callable[..., Any], world: World, schema: dict[str, Any]
) -> tuple[bytes, str]:
    shape = draw(st.sampled_from(["not-object", "member", "malformed", "not-json", "too-big"]))
    if shape == "not-object":
        value = draw(st.one_of(st.lists(json_values, max_size=3), scalars))
        return encode_json(value, ascii_only=True), "application/json"
    if shape == "member":
        value = draw(st.sampled_from(world.schemas.invalid_members(world.schemas.resolve(schema))))
        return encode_json(draw(value), ascii_only=draw(st.booleans())), "application/json"
    if shape == "malformed":
        raw = draw(st.sampled_from([r for r in RAW_BODIES if _is_malformed(r)]))
        return raw, draw(st.sampled_from(["application/json", "application/merge-patch+json"]))
    if shape == "not-json":
        content_type = draw(st.sampled_from([c for c in CONTENT_TYPES if c and "json" not in c]))
        return draw(st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=64))), content_type
    return b'{"name": "' + b"x" * (1024 * 1024) + b'"}', "application/json"


def _is_malformed(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        return True
    return False
