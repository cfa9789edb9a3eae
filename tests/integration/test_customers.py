"""Customers over HTTP: create, read, list, PATCH, deactivate and reactivate, on both backends."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from assina.core.clock import FrozenClock
from tests.assertions import assert_invalid, assert_problem, iso
from tests.conftest import START, TenantClient

CPF = "529.982.247-25"
CPF_DIGITS = "52998224725"
OTHER_CPF = "111.444.777-35"
OTHER_CPF_DIGITS = "11144477735"
CNPJ = "11.222.333/0001-81"
CNPJ_DIGITS = "11222333000181"


async def create(api: TenantClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Ana Souza", **fields}
    response = await api.post("/v1/customers", body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def list_all(api: TenantClient, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/customers", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["has_more"] is False
    data: list[dict[str, Any]] = page["data"]
    return data


# --- create and read ---------------------------------------------------------------------------


async def test_create_returns_the_full_customer(api: TenantClient, clock: FrozenClock) -> None:
    address = {
        "street": "Rua das Flores",
        "number": "123",
        "complement": "ap 4",
        "district": "Centro",
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "01001-000",
    }
    sent = {
        "name": "Ana Souza",
        "email": "ana@example.com",
        "document": CPF,
        "phone": "+55 11 98765-4321",
        "address": address,
        "metadata": {"erp_id": "A-17", "origem": "site"},
    }
    response = await api.post("/v1/customers", sent)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["id"].startswith("cus_")
    assert body["number"] == 1
    assert body["name"] == "Ana Souza"
    assert body["email"] == "ana@example.com"
    assert body["document"] == CPF_DIGITS
    assert body["document_type"] == "cpf"
    assert body["phone"] == "+55 11 98765-4321"
    assert body["address"] == {**address, "postal_code": "01001000", "country": "BR"}
    assert body["status"] == "active"
    assert body["metadata"] == {"erp_id": "A-17", "origem": "site"}
    assert body["created_at"] == iso(clock.now())
    assert body["updated_at"] == body["created_at"]

    fetched = await api.get(f"/v1/customers/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_create_with_only_a_name_has_empty_defaults(api: TenantClient) -> None:
    body = await create(api, name="Bruno")
    assert body["name"] == "Bruno"
    for field in ("email", "document", "document_type", "phone", "address"):
        assert body[field] is None, field
    assert body["metadata"] == {}
    assert body["status"] == "active"


async def test_cnpj_is_stored_digits_only_with_its_type(api: TenantClient) -> None:
    body = await create(api, name="Escola Gama Ltda", document=CNPJ)
    assert body["document"] == CNPJ_DIGITS
    assert body["document_type"] == "cnpj"
    fetched = (await api.get(f"/v1/customers/{body['id']}")).json()
    assert fetched["document"] == CNPJ_DIGITS
    assert fetched["document_type"] == "cnpj"


async def test_documents_without_punctuation_are_accepted(api: TenantClient) -> None:
    cpf = await create(api, document=CPF_DIGITS)
    cnpj = await create(api, document=CNPJ_DIGITS)
    assert (cpf["document"], cpf["document_type"]) == (CPF_DIGITS, "cpf")
    assert (cnpj["document"], cnpj["document_type"]) == (CNPJ_DIGITS, "cnpj")


@pytest.mark.parametrize("postal_code", ["01001-000", "01001000", "01.001-000", " 01001 000 "])
async def test_a_brazilian_cep_is_stored_digits_only(api: TenantClient, postal_code: str) -> None:
    body = await create(api, address={"city": "São Paulo", "postal_code": postal_code})
    assert body["address"]["postal_code"] == "01001000"
    assert body["address"]["country"] == "BR"
    fetched = (await api.get(f"/v1/customers/{body['id']}")).json()
    assert fetched["address"]["postal_code"] == "01001000"
    patched = await api.patch(
        f"/v1/customers/{body['id']}", {"address": {"postal_code": "20040-020", "country": "br"}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["address"]["postal_code"] == "20040020"


@pytest.mark.parametrize(
    "postal_code",
    [
        "0100100",
        "010010001",
        "01001-00A",
        "CEP 01001",
        "\u0660\u0661\u0660\u0660\u0661\u0660\u0660\u0660",  # Arabic-Indic digits
        "-",
        "",
    ],
)
async def test_a_malformed_brazilian_cep_is_422(api: TenantClient, postal_code: str) -> None:
    body = assert_invalid(
        await api.post("/v1/customers", {"name": "Ana", "address": {"postal_code": postal_code}}),
        "address.postal_code",
    )
    assert any("8 digits" in error["message"] for error in body["errors"]), body
    assert await list_all(api) == []


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [("PT", "1000-001"), ("GB", "SW1A 1AA"), ("US", "10001"), ("AR", "C1002AAP")],
)
async def test_a_foreign_postal_code_is_kept_as_sent(
    api: TenantClient, country: str, postal_code: str
) -> None:
    body = await create(api, address={"country": country, "postal_code": postal_code})
    assert body["address"]["postal_code"] == postal_code
    assert body["address"]["country"] == country


async def test_ids_are_unique_and_prefixed(api: TenantClient) -> None:
    ids = [(await create(api, name=f"C{i}"))["id"] for i in range(5)]
    assert len(set(ids)) == 5
    assert all(i.startswith("cus_") and len(i) > len("cus_") for i in ids)


async def test_unknown_id_is_404_problem(api: TenantClient) -> None:
    body = assert_problem(await api.get("/v1/customers/cus_00000000000000000000000000"), 404)
    assert "cus_00000000000000000000000000" in body["detail"]
    assert "errors" not in body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Ana", "email": "not-an-email"}, "email"),
        ({"name": "Ana", "email": "ana@"}, "email"),
        ({"name": "Ana", "document": "529.982.247-24"}, "document"),  # wrong check digit
        ({"name": "Ana", "document": "529.982.247-35"}, "document"),
        ({"name": "Ana", "document": "11.222.333/0001-82"}, "document"),
        ({"name": "Ana", "document": "111.111.111-11"}, "document"),  # digits all alike
        ({"name": "Ana", "document": "11.111.111/1111-11"}, "document"),
        ({"name": "Ana", "document": "1234567890"}, "document"),  # neither 11 nor 14 digits
        ({"name": "Ana", "document": "5299822472X"}, "document"),
        ({"name": "Ana", "document": "529982247255"}, "document"),
        ({"name": "Ana", "nickname": "Aninha"}, "nickname"),  # unknown field
        ({"name": "Ana", "address": {"street": "Rua A", "floor": "3"}}, "address.floor"),
        ({"name": "Ana", "address": {"country": "BRA"}}, "address.country"),
        ({"name": "Ana", "metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"name": "Ana", "metadata": {"k": 1}}, "metadata.k"),
        ({"name": "Ana", "metadata": {"k": {"nested": "x"}}}, "metadata.k"),
        ({"name": "Ana", "metadata": {"": "v"}}, "metadata"),
        ({"name": "Ana", "metadata": {"k" * 41: "v"}}, "metadata"),
        ({"name": "Ana", "metadata": {"k": "v" * 501}}, "metadata"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": None}, "name"),
        ({"name": 42}, "name"),
        ({}, "name"),
        ({"name": "Ana", "phone": ""}, "phone"),
    ],
)
async def test_invalid_create_is_422_naming_the_field(
    api: TenantClient, payload: dict[str, Any], field: str
) -> None:
    assert_invalid(await api.post("/v1/customers", payload), field)
    assert await list_all(api) == []


async def test_exactly_50_metadata_keys_are_accepted(api: TenantClient) -> None:
    metadata = {f"k{i}": str(i) for i in range(50)}
    body = await create(api, metadata=metadata)
    assert body["metadata"] == metadata


async def test_body_that_is_not_an_object_is_422(api: TenantClient) -> None:
    assert_problem(await api.post("/v1/customers", ["Ana"]), 422)
    assert_problem(await api.post("/v1/customers", "Ana"), 422)


async def test_malformed_json_is_400(api: TenantClient) -> None:
    response = await api.http.post(
        "/v1/customers",
        content=b'{"name": "Ana",',
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)
    assert await list_all(api) == []


async def test_body_over_one_mebibyte_is_413(api: TenantClient) -> None:
    big = {"name": "Ana", "metadata": {"k": "v" * (1024 * 1024)}}
    assert_problem(await api.post("/v1/customers", big), 413)
    assert await list_all(api) == []


# --- PATCH -------------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(api: TenantClient, clock: FrozenClock) -> None:
    created = await create(
        api, email="ana@example.com", document=CPF, phone="1199999", metadata={"a": "1"}
    )
    clock.advance(timedelta(minutes=5))
    response = await api.patch(f"/v1/customers/{created['id']}", {"name": "Ana S. Lima"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {**created, "name": "Ana S. Lima", "updated_at": iso(clock.now())}
    assert body["created_at"] == created["created_at"]
    assert (await api.get(f"/v1/customers/{created['id']}")).json() == body


async def test_patch_null_clears_optional_fields(api: TenantClient) -> None:
    created = await create(
        api, email="ana@example.com", document=CPF, phone="1199999", address={"city": "Recife"}
    )
    response = await api.patch(
        f"/v1/customers/{created['id']}",
        {"email": None, "document": None, "phone": None, "address": None},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    for field in ("email", "document", "document_type", "phone", "address"):
        assert body[field] is None, field
    assert body["name"] == created["name"]
    assert (await api.get(f"/v1/customers/{created['id']}")).json() == body


async def test_patch_document_normalizes_and_retypes(api: TenantClient) -> None:
    created = await create(api, document=CPF)
    body = (await api.patch(f"/v1/customers/{created['id']}", {"document": CNPJ})).json()
    assert (body["document"], body["document_type"]) == (CNPJ_DIGITS, "cnpj")


async def test_patch_replaces_metadata_and_address_whole(api: TenantClient) -> None:
    created = await create(
        api, metadata={"a": "1", "b": "2"}, address={"city": "Recife", "state": "PE"}
    )
    response = await api.patch(
        f"/v1/customers/{created['id']}", {"metadata": {"c": "3"}, "address": {"city": "Natal"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"] == {"c": "3"}
    assert body["address"]["city"] == "Natal"
    assert body["address"]["state"] is None


async def test_patch_with_nothing_changed_keeps_updated_at(
    api: TenantClient, clock: FrozenClock
) -> None:
    created = await create(api, email="ana@example.com")
    clock.advance(timedelta(hours=1))
    same = await api.patch(
        f"/v1/customers/{created['id']}", {"name": created["name"], "email": "ana@example.com"}
    )
    assert same.status_code == 200
    assert same.json() == created
    empty = await api.patch(f"/v1/customers/{created['id']}", {})
    assert empty.status_code == 200
    assert empty.json() == created


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"metadata": None}, "metadata"),
        ({"name": ""}, "name"),
        ({"email": "nope"}, "email"),
        ({"document": "529.982.247-24"}, "document"),
        ({"document": "11.222.333/0001-80"}, "document"),
        ({"status": "inactive"}, "status"),  # status moves only through actions
        ({"number": 99}, "number"),
        ({"id": "cus_x"}, "id"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    api: TenantClient, payload: dict[str, Any], field: str
) -> None:
    created = await create(api, email="ana@example.com", document=CPF, metadata={"a": "1"})
    assert_invalid(await api.patch(f"/v1/customers/{created['id']}", payload), field)
    assert (await api.get(f"/v1/customers/{created['id']}")).json() == created


async def test_patch_unknown_id_is_404(api: TenantClient) -> None:
    response = await api.patch("/v1/customers/cus_00000000000000000000000000", {"name": "X"})
    assert_problem(response, 404)


# --- deactivate / reactivate ---------------------------------------------------------------------


async def test_deactivate_then_reactivate(api: TenantClient, clock: FrozenClock) -> None:
    created = await create(api)
    clock.advance(timedelta(days=1))
    deactivated = await api.post(f"/v1/customers/{created['id']}/deactivate")
    assert deactivated.status_code == 200, deactivated.text
    body = deactivated.json()
    assert body == {**created, "status": "inactive", "updated_at": iso(clock.now())}
    assert (await api.get(f"/v1/customers/{created['id']}")).json() == body

    clock.advance(timedelta(days=1))
    reactivated = await api.post(f"/v1/customers/{created['id']}/reactivate")
    assert reactivated.status_code == 200, reactivated.text
    again = reactivated.json()
    assert again == {**created, "status": "active", "updated_at": iso(clock.now())}
    assert (await api.get(f"/v1/customers/{created['id']}")).json() == again


async def test_deactivating_an_inactive_customer_is_409(api: TenantClient) -> None:
    created = await create(api)
    assert (await api.post(f"/v1/customers/{created['id']}/deactivate")).status_code == 200
    before = (await api.get(f"/v1/customers/{created['id']}")).json()
    assert_problem(await api.post(f"/v1/customers/{created['id']}/deactivate"), 409)
    assert (await api.get(f"/v1/customers/{created['id']}")).json() == before


async def test_reactivating_an_active_customer_is_409(api: TenantClient) -> None:
    created = await create(api)
    assert_problem(await api.post(f"/v1/customers/{created['id']}/reactivate"), 409)
    assert (await api.get(f"/v1/customers/{created['id']}")).json() == created


async def test_deactivate_and_reactivate_unknown_id_are_404(api: TenantClient) -> None:
    for action in ("deactivate", "reactivate"):
        response = await api.post(f"/v1/customers/cus_00000000000000000000000000/{action}")
        assert_problem(response, 404)


async def test_an_inactive_customer_can_still_be_patched(api: TenantClient) -> None:
    created = await create(api)
    await api.post(f"/v1/customers/{created['id']}/deactivate")
    response = await api.patch(f"/v1/customers/{created['id']}", {"name": "Outra"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "inactive"
    assert response.json()["name"] == "Outra"


# --- lists ---------------------------------------------------------------------------------------


async def test_list_filters_by_status(api: TenantClient) -> None:
    a = await create(api, name="A")
    b = await create(api, name="B")
    c = await create(api, name="C")
    await api.post(f"/v1/customers/{b['id']}/deactivate")
    assert [x["id"] for x in await list_all(api, status="active")] == [a["id"], c["id"]]
    assert [x["id"] for x in await list_all(api, status="inactive")] == [b["id"]]
    assert await list_all(api, status="suspended") == []
    assert [x["id"] for x in await list_all(api)] == [a["id"], b["id"], c["id"]]
    assert_invalid(await api.get("/v1/customers", params={"status": "gone"}), "status")


async def test_list_filters_by_email(api: TenantClient) -> None:
    a = await create(api, name="A", email="ana@example.com")
    await create(api, name="B", email="bia@example.com")
    await create(api, name="C")
    found = await list_all(api, email="ana@example.com")
    assert [x["id"] for x in found] == [a["id"]]
    assert found[0] == (await api.get(f"/v1/customers/{a['id']}")).json()
    assert await list_all(api, email="nobody@example.com") == []


async def test_email_filter_finds_the_address_as_it_was_sent(api: TenantClient) -> None:
    # The stored address may be normalized (the domain lower-cased); the filter must match
    # what the client sent as well as what the API answered.
    a = await create(api, name="A", email="Ana.Souza@Example.COM")
    await create(api, name="B", email="ana.souza@example.org")
    assert a["email"].lower() == "ana.souza@example.com"
    for query in ("Ana.Souza@Example.COM", a["email"]):
        assert [x["id"] for x in await list_all(api, email=query)] == [a["id"]], query
    assert await list_all(api, email="not an address") == []


async def test_list_filters_by_document_with_or_without_punctuation(api: TenantClient) -> None:
    a = await create(api, name="A", document=CPF)
    b = await create(api, name="B", document=CNPJ)
    await create(api, name="C", document=OTHER_CPF)
    await create(api, name="D")
    for query, expected in [
        (CPF, a["id"]),
        (CPF_DIGITS, a["id"]),
        (CNPJ, b["id"]),
        (CNPJ_DIGITS, b["id"]),
    ]:
        assert [x["id"] for x in await list_all(api, document=query)] == [expected], query
    assert await list_all(api, document="123.456.789-09") == []


async def test_search_finds_name_email_or_document(api: TenantClient) -> None:
    ana = await create(api, name="Ana Conceição Souza", email="Ana.Souza@Example.com", document=CPF)
    joao = await create(api, name="JOÃO Pereira", email="jp@empresa.com.br", document=CNPJ)
    bia = await create(api, name="Bia 100% Lima", email="bia_lima@example.org")
    await create(api, name="Carlos", document=OTHER_CPF)

    def ids(found: list[dict[str, Any]]) -> list[str]:
        return [customer["id"] for customer in found]

    cases: list[tuple[str, list[str]]] = [
        ("souza", [ana["id"]]),  # part of the name, another case
        ("CONCEIÇÃO", [ana["id"]]),  # letters beyond ASCII fold too
        ("joão", [joao["id"]]),
        ("example", [ana["id"], bia["id"]]),  # part of the e-mail
        ("ana.souza@example.COM", [ana["id"]]),
        ("@EMPRESA.com", [joao["id"]]),
        ("529.982", [ana["id"]]),  # digits of the document, punctuation ignored
        ("98224725", [ana["id"]]),
        ("11.222.333/0001-81", [joao["id"]]),
        ("100%", [bia["id"]]),  # LIKE wildcards are searched for, not used
        ("a_l", [bia["id"]]),
        ("%", [bia["id"]]),
        ("nobody", []),
        ("  ", ids(await list_all(api))),  # blank: no search
    ]
    for q, expected in cases:
        assert ids(await list_all(api, q=q)) == expected, q
    # With the other filters.
    assert ids(await list_all(api, q="example", email="bia_lima@example.org")) == [bia["id"]]


async def test_search_is_bounded_and_scoped_to_the_tenant(
    api: TenantClient, other_api: TenantClient
) -> None:
    await create(other_api, name="Ana Souza")
    assert await list_all(api, q="ana") == []
    assert_invalid(await api.get("/v1/customers", params={"q": "x" * 101}), "q")
    assert_invalid(await api.get("/v1/customers", params={"q": ""}), "q")
    assert (await api.get("/v1/customers", params={"q": "x" * 100})).status_code == 200


async def test_list_filters_by_creation_time(api: TenantClient, clock: FrozenClock) -> None:
    first = await create(api, name="first")
    clock.advance(timedelta(hours=1))
    second = await create(api, name="second")
    clock.advance(timedelta(hours=1))
    third = await create(api, name="third")

    one_hour = START + timedelta(hours=1)
    two_hours = START + timedelta(hours=2)

    def ids(items: list[dict[str, Any]]) -> list[str]:
        return [x["id"] for x in items]

    assert ids(await list_all(api, created_gte=iso(one_hour))) == [second["id"], third["id"]]
    assert ids(await list_all(api, created_lt=iso(one_hour))) == [first["id"]]
    assert ids(await list_all(api, created_gte=iso(one_hour), created_lt=iso(two_hours))) == [
        second["id"]
    ]
    # The bound is inclusive below, exclusive above, to the microsecond.
    just_after = one_hour + timedelta(microseconds=1)
    assert ids(await list_all(api, created_gte=iso(just_after))) == [third["id"]]
    assert ids(await list_all(api, created_lt=iso(just_after))) == [first["id"], second["id"]]
    # Another offset names the same instant: 10:00 at -03:00 is 13:00 UTC.
    local = one_hour.astimezone(ZoneInfo("America/Sao_Paulo"))
    assert local.utcoffset() == timedelta(hours=-3)
    assert ids(await list_all(api, created_gte=local.isoformat())) == [second["id"], third["id"]]
    assert await list_all(api, created_gte=iso(two_hours), created_lt=iso(one_hour)) == []


@pytest.mark.parametrize("param", ["created_gte", "created_lt"])
async def test_naive_or_bad_datetime_filter_is_422(api: TenantClient, param: str) -> None:
    for value in (
        "2026-01-15T12:00:00",  # naive
        "yesterday",
        "2026-13-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # valid RFC 3339, but before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
    ):
        assert_invalid(await api.get("/v1/customers", params={param: value}), param)


async def test_pagination_walks_every_customer_once(api: TenantClient) -> None:
    created = [(await create(api, name=f"C{i}"))["id"] for i in range(7)]
    seen: list[str] = []
    pages: list[bool] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["starting_after"] = cursor
        response = await api.get("/v1/customers", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["data"]) <= 3
        seen.extend(x["id"] for x in page["data"])
        pages.append(page["has_more"])
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert seen == created
    assert pages == [True, True, False]


async def test_pagination_on_an_exact_page_boundary(api: TenantClient) -> None:
    created = [(await create(api, name=f"C{i}"))["id"] for i in range(4)]
    first = (await api.get("/v1/customers", params={"limit": 2})).json()
    assert [x["id"] for x in first["data"]] == created[:2]
    assert first["has_more"] is True
    second = (
        await api.get("/v1/customers", params={"limit": 2, "starting_after": created[1]})
    ).json()
    assert [x["id"] for x in second["data"]] == created[2:]
    assert second["has_more"] is False
    last = (await api.get("/v1/customers", params={"starting_after": created[-1]})).json()
    assert last == {"data": [], "has_more": False}


async def test_default_limit_is_50(api: TenantClient) -> None:
    for i in range(51):
        await create(api, name=f"C{i}")
    page = (await api.get("/v1/customers")).json()
    assert len(page["data"]) == 50
    assert page["has_more"] is True
    full = (await api.get("/v1/customers", params={"limit": 100})).json()
    assert len(full["data"]) == 51
    assert full["has_more"] is False


async def test_pagination_combines_with_filters(api: TenantClient) -> None:
    ids = [(await create(api, name=f"C{i}"))["id"] for i in range(6)]
    for customer_id in ids[::2]:
        await api.post(f"/v1/customers/{customer_id}/deactivate")
    page = (await api.get("/v1/customers", params={"status": "active", "limit": 2})).json()
    assert [x["id"] for x in page["data"]] == [ids[1], ids[3]]
    assert page["has_more"] is True
    page = (
        await api.get(
            "/v1/customers", params={"status": "active", "limit": 2, "starting_after": ids[3]}
        )
    ).json()
    assert [x["id"] for x in page["data"]] == [ids[5]]
    assert page["has_more"] is False


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
async def test_bad_limit_is_422(api: TenantClient, limit: str) -> None:
    assert_invalid(await api.get("/v1/customers", params={"limit": limit}), "limit")


async def test_limits_1_and_100_are_accepted(api: TenantClient) -> None:
    await create(api)
    await create(api)
    one = (await api.get("/v1/customers", params={"limit": 1})).json()
    assert len(one["data"]) == 1 and one["has_more"] is True
    hundred = (await api.get("/v1/customers", params={"limit": 100})).json()
    assert len(hundred["data"]) == 2 and hundred["has_more"] is False


# --- numbers -------------------------------------------------------------------------------------


async def test_numbers_are_sequential_per_tenant(
    api: TenantClient, other_api: TenantClient
) -> None:
    mine = [(await create(api, name=f"A{i}"))["number"] for i in range(3)]
    theirs = [(await create(other_api, name=f"B{i}"))["number"] for i in range(2)]
    mine.append((await create(api, name="A3"))["number"])
    assert mine == [1, 2, 3, 4]
    assert theirs == [1, 2]


async def test_failed_create_does_not_consume_a_number(api: TenantClient) -> None:
    assert (await create(api, name="first"))["number"] == 1
    assert_invalid(await api.post("/v1/customers", {"name": "x", "document": "123"}), "document")
    assert_invalid(await api.post("/v1/customers", {"name": ""}), "name")
    assert (await create(api, name="second"))["number"] == 2


async def test_idempotent_replay_does_not_consume_a_number(api: TenantClient) -> None:
    key = {"Idempotency-Key": "create-ana-1"}
    first = await api.post("/v1/customers", {"name": "Ana"}, headers=key)
    again = await api.post("/v1/customers", {"name": "Ana"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert first.json()["number"] == 1
    assert (await create(api, name="Bia"))["number"] == 2
    assert len(await list_all(api)) == 2


async def test_concurrent_creates_get_numbers_1_to_n_without_gaps(
    api: TenantClient, other_api: TenantClient
) -> None:
    async def post(client: TenantClient, i: int) -> httpx.Response:
        return await client.post("/v1/customers", {"name": f"Cliente {i}"})

    responses = await asyncio.gather(
        *(post(api, i) for i in range(20)), *(post(other_api, i) for i in range(10))
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    mine = sorted(r.json()["number"] for r in responses[:20])
    theirs = sorted(r.json()["number"] for r in responses[20:])
    assert mine == list(range(1, 21))
    assert theirs == list(range(1, 11))
    listed = await list_all(api)
    assert sorted(x["number"] for x in listed) == list(range(1, 21))
    assert (await create(api, name="after"))["number"] == 21


async def test_numbers_survive_deactivation(api: TenantClient) -> None:
    a = await create(api, name="A")
    await api.post(f"/v1/customers/{a['id']}/deactivate")
    assert (await create(api, name="B"))["number"] == 2
    assert (await api.get(f"/v1/customers/{a['id']}")).json()["number"] == 1
