"""Fuzzing support: nasty values, requests as data, answer checks and database snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any, cast

import httpx
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select

from assina.db.database import Database
from assina.registry import metadata
from tests.conftest import TenantClient

PROBLEM_JSON = "application/problem+json"

# Examples per backend. Each request runs in-process against a real database, a few ms each.
ANY_REQUEST_EXAMPLES = 400
INVALID_REQUEST_EXAMPLES = 150
WRITE_EXAMPLES = 200
FUZZ_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\ud83d\ude00",  # a surrogate pair: an emoji once JSON-decoded
    "😀",
    "\u202eevil",
    "\ufeffbom",
    "\uffff",
    "\r\n\t",
    "".join(chr(0xFF10 + int(d)) for d in "52998224725"),  # fullwidth digits
    "".join(chr(0x0660 + int(d)) for d in "52998224725"),  # Arabic-Indic digits
    "529.982.247-25",
    "11.222.333/0001-81",
    "52998224725",
    "00000000000",
    "x" * 10_000,
    "9" * 400,
    "NaN",
    "Infinity",
    "-0",
    "1e400",
    "null",
    "'; DROP TABLE customers; --",
    "%00",
    "../..",
    "America/Sao_Paulo",
    "Etc/GMT+99",
    "BRL",
    "brl",
    "XXX",
    "month",
    "active",
    "inactive",
    "customer.created",
    "2026-01-15T12:00:00Z",
    "2026-01-15T12:00:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "a@b.co",
    "ANA@EXAMPLE.COM",
    "ä@ö.de",
    "a@b@c",
    "@",
    "x@" + "a" * 300 + ".com",
]
BIG_INTS = [
    -1,
    0,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**15,
    10**15 + 1,
    10**30,
    10**400,
]


def _has_surrogate(value: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in value)


texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(NASTY_TEXT),
    st.text(st.characters(exclude_categories=()), max_size=8),  # surrogates and controls too
)
# A URL cannot carry a lone surrogate: percent-decoding turns one into U+FFFD.
url_texts = texts.filter(lambda value: not _has_surrogate(value))
integers = st.one_of(st.integers(), st.sampled_from(BIG_INTS))
scalars = st.one_of(st.none(), st.booleans(), integers, st.floats(), texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)

instants = st.one_of(
    st.builds(
        lambda moment, offset: moment.replace(
            tzinfo=timezone(timedelta(minutes=offset))
        ).isoformat(),
        st.datetimes(),
        st.integers(-23 * 60, 23 * 60),
    ),
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "0001-01-01T00:00:00-23:59",
            "9999-12-31T23:59:59.999999Z",
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59+23:59",
        ]
    ),
)

RAW_BODIES = [
    b"",
    b"{",
    b'{"name": "x",}',
    b"{'name': 'x'}",
    b'{"name": "\xff\xfe"}',  # invalid UTF-8 inside a string
    b"\xff\xfe\xfd",
    b"\xef\xbb\xbf{}",  # BOM
    '{"name": "utf-16"}'.encode("utf-16"),
    b'{"name": "\\ud800"}',
    b'{"name": "\\u0000"}',
    b'{"name": NaN, "amount": Infinity}',
    b'{"name": "x", "amount": 1e400}',
    b'{"name": "x", "amount": -0.0}',
    b'{"name": "x", "amount": 100000000000000000000000000000000000000000}',
    b"[" * 100_000,
    b'{"a":' * 50_000,
    b"null",
    b"[]",
    b'"a string"',
    b"\x00" * 16,
    b"name=x&amount=1",
    b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--xyz--\r\n',
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/merge-patch+json",
    "application/problem+json",
    "text/plain",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "",
    ";;;=garbage",
]
GARBAGE_AUTH = [
    b"",
    b"Bearer",
    b"Bearer ",
    b"Bearer  ",
    b"Basic dXNlcjpwYXNz",
    b"Token sk_abc",
    b"Bearer sk_" + b"x" * 1000,
    b"Bearer " + b"a" * 10_000,
    b"Bearer \x00",
    b"Bearer \xff\xfe\xfd",
    b"Bearer sk_\r\nX-Injected: 1",
    b"\x00\x01\x02",
]
NOT_A_KEY = st.one_of(
    st.sampled_from(GARBAGE_AUTH),
    st.binary(max_size=40),
    st.binary(max_size=40).map(lambda raw: b"Bearer " + raw),
)
IDEMPOTENCY_KEYS = st.one_of(
    st.none(),
    st.uuids().map(lambda value: str(value).encode()),
    st.sampled_from([b"", b"k" * 1000, b"k\x00", b"k\x01\x7f", b"k\xff", b"\t", b" "]),
    st.binary(max_size=20),
)


def encode_json(value: object, ascii_only: bool) -> bytes:
    # `surrogatepass`: with ascii_only=False a lone surrogate becomes bytes that are not UTF-8.
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def as_query_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


# ---------------------------------------------------------------------------------------------
# Requests, answers and what the database holds
# ---------------------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str  # already percent-encoded
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, bytes] = field(default_factory=dict)
    content: bytes | None = None

    def __repr__(self) -> str:
        body = self.content if self.content is None or len(self.content) < 300 else "<big body>"
        headers = {k: (v if len(v) < 100 else b"<long>") for k, v in self.headers.items()}
        return f"Call({self.method} {self.path} params={self.params!r} {headers!r} {body!r})"

    async def send(self, http: httpx.AsyncClient) -> httpx.Response:
        return await http.request(
            self.method,
            self.path,
            params=tuple(self.params),
            headers=raw_headers(self.headers),
            content=self.content,
        )


def app_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute of the app with its whole path, also inside the routers FastAPI keeps
    as included groups."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            inner_prefix = prefix + (getattr(context, "prefix", "") or "")
            yield from app_routes(route.original_router.routes, inner_prefix)


def raw_headers(headers: Mapping[str, str | bytes]) -> list[tuple[bytes, bytes]]:
    """Header values sent byte for byte, whatever they hold."""
    return [
        (name.encode(), v if isinstance(v, bytes) else v.encode()) for name, v in headers.items()
    ]


def check_answer(response: httpx.Response, call: object = None) -> None:
    """The §2 promise for one answer: never 5xx; 4xx is problem+json; 2xx carries JSON."""
    status = response.status_code
    assert status < 500, f"{status} for {call!r}: {response.text[:500]}"
    content_type = response.headers.get("content-type", "")
    document_type = _document_type(response.request.url.path)
    if not (200 <= status < 300 and document_type == PDF):
        response.content.decode("utf-8")  # strictly: no lone surrogate leaks into an answer
    if 400 <= status < 500:
        assert content_type.startswith(PROBLEM_JSON), f"{status} {content_type} for {call!r}"
        problem = response.json()
        assert isinstance(problem, dict), problem
        for member in ("type", "title", "detail"):
            assert isinstance(problem.get(member), str), problem
            assert problem[member], problem
        assert problem.get("status") == status, problem
        if status == 422:
            errors = problem.get("errors")
            assert isinstance(errors, list), problem
            assert errors, problem
            for error in errors:
                assert isinstance(error.get("field"), str), problem
                assert isinstance(error.get("message"), str), problem
    elif 200 <= status < 300 and document_type is not None:
        assert content_type.startswith(document_type), f"{content_type} for {call!r}"
        assert document_type != PDF or response.content.startswith(b"%PDF-"), call
    elif 200 <= status < 300:
        assert content_type.startswith("application/json"), f"{content_type} for {call!r}"
        response.json()


PDF = "application/pdf"
# Answers that are documents by design, by the path's ending: a charge's PIX QR code and
# boleto, a nota fiscal's DANFSe and XML.
DOCUMENT_TYPES = {".svg": "image/svg+xml", ".pdf": PDF, ".xml": "application/xml"}


def _document_type(path: str) -> str | None:
    """The media type a 2xx answer of `path` carries when it is not JSON, by design."""
    if path == "/metrics":
        return "text/plain"  # Prometheus text format
    return next((media for end, media in DOCUMENT_TYPES.items() if path.endswith(end)), None)


def problem_of(response: httpx.Response) -> dict[str, Any]:
    check_answer(response)
    assert response.status_code >= 400, response.text
    return cast(dict[str, Any], response.json())


async def database_state(database: Database) -> dict[str, list[str]]:
    """Every row of every table, in a stable order (counters, idempotency keys included),
    but an API key's `last_used_at` and the rate-limit buckets: any authenticated request
    records its use and takes a token (docs/limits.md), a refused one too."""
    state: dict[str, list[str]] = {}
    async with database.read() as session:
        for table in metadata.sorted_tables:
            if table.name == "rate_buckets":
                continue
            columns = [column for column in table.c if column.key != "last_used_at"]
            rows = (await session.execute(select(*columns))).all()
            state[table.name] = sorted(repr(tuple(row)) for row in rows)
    return state


async def event_log(api: TenantClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 100}
    while True:
        page = await api.get("/v1/events", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        events.extend(body["data"])
        if not body["has_more"]:
            return events
        params["starting_after"] = body["data"][-1]["id"]


@dataclass
class Snapshot:
    rows: dict[str, list[str]]
    events: list[dict[str, Any]]
    tenant: dict[str, Any]


async def snapshot(api: TenantClient, database: Database) -> Snapshot:
    tenant = await api.get("/v1/tenant")
    return Snapshot(await database_state(database), await event_log(api), tenant.json())
