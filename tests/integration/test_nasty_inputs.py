"""The inputs known to be nasty, one by one: each gets a clear 4xx (or is kept exactly as
sent) and changes nothing, on both databases."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import quote

from tests.integration.fuzz_openapi import (
    World,
)
from tests.integration.fuzz_support import (
    GARBAGE_AUTH,
    encode_json,
    problem_of,
    raw_headers,
    snapshot,
)

# ---------------------------------------------------------------------------------------------
# Known nasty inputs, one by one
# ---------------------------------------------------------------------------------------------

TEN_THOUSAND = "c" * 10_000
FULLWIDTH_CPF = "".join(chr(0xFF10 + int(d)) for d in "52998224725")
ARABIC_INDIC_CPF = "".join(chr(0x0660 + int(d)) for d in "52998224725")

NASTY_BODIES: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = {
    # (method, path with {customer}/{product} for real ids): [(body, a field in `errors`)]
    ("POST", "/v1/products"): [
        ({"name": "x", "amount": 2**63}, "amount"),
        ({"name": "x", "amount": 2**64 + 1}, "amount"),
        ({"name": "x", "amount": -(2**63) - 1}, "amount"),
        ({"name": "x", "amount": 10**400}, "amount"),
        ({"name": "x", "amount": 1.5}, "amount"),
        ({"name": "x", "amount": "100"}, "amount"),
        ({"name": "x", "amount": True}, "amount"),
        ({"name": "x", "amount": 1, "interval_count": 2**63}, "interval_count"),
        ({"name": "x", "amount": 1, "interval_count": 2**64}, "interval_count"),
        ({"name": "x", "amount": 1, "trial_days": 2**64}, "trial_days"),
        ({"name": "x", "amount": 1, "currency": "B\x00L"}, "currency"),
        ({"name": "x", "amount": 1, "description": "a\x00"}, "description"),
        ({"name": "x", "amount": 1, "metadata": {"k": 2**64}}, "metadata.k"),
    ],
    ("PATCH", "/v1/products/{product}"): [
        ({"amount": 2**63}, "amount"),
        ({"interval_count": 2**63}, "interval_count"),
        ({"name": "\x00"}, "name"),
    ],
    ("POST", "/v1/customers"): [
        ({"name": "Ana\x00"}, "name"),
        ({"name": "\ud800"}, "name"),
        ({"name": "x\udfff"}, "name"),
        ({"name": "x", "phone": "\x00"}, "phone"),
        ({"name": "x", "email": "a\x00@b.com"}, "email"),
        ({"name": "x", "document": FULLWIDTH_CPF}, "document"),
        ({"name": "x", "document": ARABIC_INDIC_CPF}, "document"),
        ({"name": "x", "document": "529982247\x0025"}, "document"),
        ({"name": "x", "address": {"city": "S\x00o"}}, "address.city"),
        ({"name": "x", "metadata": {"k": 1}}, "metadata.k"),
        ({"name": "x", "metadata": {"k": None}}, "metadata.k"),
        ({"name": "x", "metadata": {"k": True}}, "metadata.k"),
        ({"name": "x", "metadata": {"k": ["v"]}}, "metadata.k"),
        ({"name": "x", "metadata": {"k": {"v": "w"}}}, "metadata.k"),
        ({"name": "x", "metadata": {"k": 1.5}}, "metadata.k"),
        ({"name": "x", "metadata": {"k": "v\x00"}}, "metadata"),
        ({"name": "x", "metadata": {"k\x00": "v"}}, "metadata"),
        ({"name": "x", "metadata": {"\ud800": "v"}}, "metadata"),
        ({"name": "x", "metadata": {"\ud800": 1}}, "metadata.?*"),  # the key, made readable
        ({"name": "x", "\ud800": 1}, "?*"),
        ({"name": "x", "\x00": 1}, "\ufffd"),  # named, made readable (no NUL in an answer)
        ({"name": "x", "metadata": ["k", "v"]}, "metadata"),
        ({"name": "x", "id": "cus_1"}, "id"),
    ],
    ("PATCH", "/v1/customers/{customer}"): [
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"name": "a\x00"}, "name"),
        ({"document": FULLWIDTH_CPF}, "document"),
        ({"address": {"street": "\x00"}}, "address.street"),
    ],
    ("PATCH", "/v1/tenant"): [
        ({"name": "\x00"}, "name"),
        ({"name": "\ud800"}, "name"),
        ({"time_zone": "America/Sao_Paulo\x00"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
    ],
}


async def test_nasty_bodies_are_refused_and_change_nothing(world: World) -> None:
    api = world.api
    before = await snapshot(api, world.database)
    customer, product = world.own_ids["customer_id"][0], world.own_ids["product_id"][0]
    headers = {"Content-Type": "application/json", **api.headers}
    for (method, template), cases in NASTY_BODIES.items():
        path = template.format(customer=customer, product=product)
        for body, field_name in cases:
            content = encode_json(body, ascii_only=True)
            response = await api.http.request(method, path, content=content, headers=headers)
            case = f"{method} {path} {body!r}"[:200]
            assert response.status_code == 422, f"{case}: {response.text}"
            fields = [error["field"] for error in problem_of(response)["errors"]]
            assert any(fnmatchcase(f, field_name) for f in fields), f"{case}: {fields}"
    assert await snapshot(api, world.database) == before


NASTY_QUERIES: list[tuple[str, dict[str, str], str]] = [
    ("/v1/customers", {"limit": str(2**63)}, "limit"),
    ("/v1/customers", {"limit": str(2**64 + 1)}, "limit"),
    ("/v1/customers", {"limit": "-" + str(2**64)}, "limit"),
    ("/v1/customers", {"limit": "0"}, "limit"),
    ("/v1/customers", {"limit": "1e2"}, "limit"),
    ("/v1/events", {"limit": "\u0661\u0660"}, "limit"),  # Arabic-Indic 10
    ("/v1/products", {"limit": "NaN"}, "limit"),
    ("/v1/customers", {"starting_after": TEN_THOUSAND}, "starting_after"),
    ("/v1/products", {"starting_after": TEN_THOUSAND}, "starting_after"),
    ("/v1/events", {"starting_after": TEN_THOUSAND}, "starting_after"),
    ("/v1/customers", {"starting_after": "cus_\x00"}, "starting_after"),
    ("/v1/products", {"starting_after": "\x00"}, "starting_after"),
    ("/v1/events", {"starting_after": "evt_\x00"}, "starting_after"),
    ("/v1/customers", {"email": "a\x00@b.com"}, "email"),
    ("/v1/customers", {"email": TEN_THOUSAND}, "email"),
    ("/v1/customers", {"document": "529\x00"}, "document"),
    ("/v1/customers", {"status": "\x00"}, "status"),
    ("/v1/customers", {"status": "ACTIVE"}, "status"),
    ("/v1/products", {"interval": "fortnight"}, "interval"),
    ("/v1/events", {"type": "customer.\x00"}, "type"),
    ("/v1/events", {"customer_id": "cus_\x00"}, "customer_id"),
    ("/v1/events", {"customer_id": TEN_THOUSAND}, "customer_id"),
    ("/v1/events", {"type": "customer.created", "junk": "\x00"}, "junk"),
    ("/v1/customers", {"created_gte": "0001-01-01T00:00:00+01:00"}, "created_gte"),
    ("/v1/customers", {"created_lt": "9999-12-31T23:59:59-01:00"}, "created_lt"),
    ("/v1/products", {"created_gte": "0001-01-01T00:00:00+00:01"}, "created_gte"),
    ("/v1/products", {"created_lt": "9999-12-31T23:30:00-00:31"}, "created_lt"),
    ("/v1/events", {"created_gte": "0001-01-01T00:00:00+14:00"}, "created_gte"),
    ("/v1/events", {"created_lt": "9999-12-31T23:59:59-12:00"}, "created_lt"),
    ("/v1/events", {"created_lt": "2026-01-15T12:00:00"}, "created_lt"),  # naive
    ("/v1/events", {"created_lt": "2026-02-30T12:00:00Z"}, "created_lt"),
]


async def test_nasty_query_parameters_are_refused(world: World) -> None:
    for path, params, field_name in NASTY_QUERIES:
        response = await world.api.get(path, params=params)
        case = f"{path} {params!r}"[:200]
        assert response.status_code == 422, f"{case}: {response.text}"
        fields = [error["field"] for error in problem_of(response)["errors"]]
        assert field_name in fields, f"{case}: {fields}"


async def test_extreme_but_real_instants_are_accepted(world: World) -> None:
    for path in ("/v1/customers", "/v1/products", "/v1/events"):
        for params in (
            {"created_gte": "0001-01-01T00:00:00Z"},
            {"created_gte": "0001-01-01T00:00:00-01:00"},
            {"created_lt": "9999-12-31T23:59:59Z"},
            {"created_lt": "9999-12-31T22:59:59-01:00"},
        ):
            response = await world.api.get(path, params=params)
            assert response.status_code == 200, f"{path} {params}: {response.text}"
            assert response.json()["data"], f"{path} {params}"


async def test_nasty_path_ids_are_refused_and_change_nothing(world: World) -> None:
    api = world.api
    before = await snapshot(api, world.database)
    nasty_ids = [
        "\x00",
        "cus_\x00",
        TEN_THOUSAND,
        "\ufffd",
        "%",
        "' OR '1'='1",
        *world.foreign_ids,
    ]
    for raw_id in nasty_ids:
        segment = quote(raw_id, safe="")
        for method, template in [
            ("GET", "/v1/customers/{}"),
            ("PATCH", "/v1/customers/{}"),
            ("POST", "/v1/customers/{}/deactivate"),
            ("POST", "/v1/customers/{}/reactivate"),
            ("GET", "/v1/products/{}"),
            ("PATCH", "/v1/products/{}"),
            ("DELETE", "/v1/products/{}"),
            ("POST", "/v1/products/{}/deactivate"),
            ("GET", "/v1/events/{}"),
        ]:
            body = b'{"name": "Novo"}' if method == "PATCH" else None
            response = await api.http.request(
                method,
                template.format(segment),
                content=body,
                headers={"Content-Type": "application/json", **api.headers},
            )
            expected = 422 if "\x00" in raw_id else 404
            case = f"{method} {template} {raw_id[:20]!r}"
            assert response.status_code == expected, f"{case}: {response.text}"
            problem_of(response)
    # Bytes that are not UTF-8 once percent-decoded.
    for path in ("/v1/customers/%ff%fe", "/v1/events/%ed%a0%80", "/v1/products/%c0%80"):
        response = await api.get(path)
        assert response.status_code == 404, f"{path}: {response.text}"
        problem_of(response)
    assert await snapshot(api, world.database) == before


RAW_CASES: list[tuple[bytes, str | None, int]] = [
    (b"\xff\xfe\xfd", "application/json", 400),
    (b'{"name": "\xff"}', "application/json", 400),
    # An encoded surrogate is not UTF-8, but json.loads decodes it (surrogatepass): then the
    # lone surrogate it yields is refused like `"\ud800"`.
    (b'{"name": "\xed\xa0\x80"}', "application/json", 422),
    (b"\xc0\x80", "application/json", 400),  # overlong NUL
    (b"[" * 100_000, "application/json", 400),
    (b'{"a":' * 50_000, "application/json", 400),
    (b'{"name": "x",}', "application/json", 400),
    (b"{", "application/json", 400),
    (b'{"name": "\\u0000"}', "application/json", 422),
    (b'{"name": "\\ud800"}', "application/json", 422),
    (b'{"name": "\\udc00\\ud800"}', "application/json", 422),
    (b'{"name": NaN}', "application/json", 422),
    (b'{"name": "x", "amount": NaN}', "application/json", 422),
    (b'{"name": "x", "amount": Infinity}', "application/json", 422),
    (b'{"name": "x", "amount": 1e400}', "application/json", 422),
    (b'{"name": "x", "amount": 9223372036854775808}', "application/json", 422),
    (b'{"name": "x", "amount": 1' + b"0" * 4000 + b"}", "application/json", 422),
    (b'{"name": "x", "amount": 1' + b"0" * 5000 + b"}", "application/json", 400),  # int limit
    (b'{"name": "x", "amount": 1}', "text/plain", 422),
    (b"name=x&amount=1", "application/x-www-form-urlencoded", 422),
    (
        b"--b\r\nContent-Disposition: form-data; name=name\r\n\r\nx\r\n--b--",
        "multipart/form-data; boundary=b",
        422,
    ),
    (b"", "application/json", 422),
    (b"null", "application/json", 422),
    (b'"x"', "application/json", 422),
    (b"x" * (1024 * 1024 + 1), "application/json", 413),
]


async def test_raw_bodies_are_refused_and_change_nothing(world: World) -> None:
    api = world.api
    before = await snapshot(api, world.database)
    for raw, content_type, status in RAW_CASES:
        for path in ("/v1/customers", "/v1/products"):
            headers = {**api.headers, **({"Content-Type": content_type} if content_type else {})}
            response = await api.http.post(path, content=raw, headers=headers)
            case = f"POST {path} {content_type} {raw[:40]!r}"
            assert response.status_code == status, f"{case}: {response.text}"
            problem_of(response)
    assert await snapshot(api, world.database) == before


async def test_nasty_headers_are_refused_and_change_nothing(world: World) -> None:
    api = world.api
    before = await snapshot(api, world.database)
    body = b'{"name": "Carla"}'
    json_type = {"Content-Type": "application/json"}
    for key in [b"k" * 1000, b"k" * 256, b"", b"k\x00", b"k\x01", b"k\x7f", b"k\x1b[31m", b"\t"]:
        headers = raw_headers({**api.headers, **json_type, "Idempotency-Key": key})
        response = await api.http.post("/v1/customers", content=body, headers=headers)
        assert response.status_code == 400, f"{key[:20]!r}: {response.text}"
        assert problem_of(response)["type"].endswith("invalid-idempotency-key")
    for authorization in [*GARBAGE_AUTH, f"bearer {api.tenant.api_key}x".encode()]:
        for method, path in [("GET", "/v1/customers"), ("POST", "/v1/customers")]:
            response = await api.http.request(
                method,
                path,
                content=body if method == "POST" else None,
                headers=raw_headers({**json_type, "Authorization": authorization}),
            )
            assert response.status_code == 401, f"{authorization[:30]!r}: {response.text}"
            assert response.headers["WWW-Authenticate"] == "Bearer"
            problem_of(response)
    assert await snapshot(api, world.database) == before


async def test_unicode_that_is_not_nul_is_kept_as_sent(world: World) -> None:
    """Refusing NUL must not refuse text that only looks odd. Names are stricter (no control
    characters or bidirectional overrides: test_input_rules.py); metadata is kept as sent."""
    api = world.api
    odd = ["😀 Ana", "\u202eAna", "\ufeffAna", "Ana\uffff", "Ana\t\r\n", "中文", "x" * 200]
    refused_in_names = {"\u202eAna", "Ana\t\r\n"}  # a bidi override; line breaks
    for text in odd:
        name = "Ana" if text in refused_in_names else text
        created = await api.post("/v1/customers", {"name": name, "metadata": {text[:40]: text}})
        assert created.status_code == 201, created.text
        fetched = await api.get(f"/v1/customers/{created.json()['id']}")
        assert fetched.json()["name"] == name
        assert fetched.json()["metadata"] == {text[:40]: text}
    # A JSON surrogate pair is one character, not two halves.
    created = await api.http.post(
        "/v1/customers",
        content=b'{"name": "\\ud83d\\ude00"}',
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "😀"


async def test_replayed_idempotency_key_with_unicode_survives(world: World) -> None:
    api = world.api
    key = "chave-ÿ-é"  # latin-1 in a header: printable, storable
    headers = raw_headers({**api.headers, "Idempotency-Key": key.encode("latin-1")})
    first = await api.http.post("/v1/customers", json={"name": "Dora"}, headers=headers)
    again = await api.http.post("/v1/customers", json={"name": "Dora"}, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    other = await api.http.post("/v1/customers", json={"name": "Eva"}, headers=headers)
    assert other.status_code == 409
    problem_of(other)
