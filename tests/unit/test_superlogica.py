"""The `superlogica` format: http_build_query against PHP's own outputs, and round trips of
customer and product bodies through a parser that reads them the way PHP fills `$_POST`
(contracts and charges: tests/unit/test_superlogica_billing.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.customers.schemas import Address, CustomerOut
from assina.products.schemas import ProductOut
from assina.webhooks.superlogica import (
    UnsupportedFormat,
    money,
    superlogica_body,
    us_date,
)
from assina.webhooks.superlogica_query import php_build_query

SP = "America/Sao_Paulo"
TOKEN = "vt_0123456789abcdef"
TRICKY_NAMES = ["José da Silva & Filhos", "a=b+c", "Ação 100% ~*", "  spaced  ", "x&data[y]=1"]


# --- a PHP-style reader -------------------------------------------------------------------


def php_parse(body: str) -> dict[str, Any]:
    """`$_POST` from a form body, for well-formed keys: `a[b][0][c]=v` nests, `[]` appends,
    dots and spaces in the base name become `_`, and all-index arrays come back as lists."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True, strict_parsing=True):
        base, bracket, rest = raw_key.partition("[")
        assert not bracket or rest.endswith("]"), raw_key
        path = [base.replace(".", "_").replace(" ", "_")]
        path += rest[:-1].split("][") if bracket else []
        node = root
        for segment in path[:-1]:
            node = node.setdefault(segment or str(len(node)), {})
        node[path[-1] or str(len(node))] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and list(items) == [str(i) for i in range(len(items))]:
        return list(items.values())
    return items


def parse_body(body: bytes) -> dict[str, Any]:
    return php_parse(body.decode("ascii"))  # the encoding leaves nothing outside ASCII


# --- http_build_query ---------------------------------------------------------------------

# Outputs PHP gives (the first from the issue; the next three are the PHP manual's examples).
PHP_OUTPUTS: list[tuple[dict[Any, Any], str, str]] = [
    ({"a": {"b": [1, 2]}, "c": "x y"}, "", "a%5Bb%5D%5B0%5D=1&a%5Bb%5D%5B1%5D=2&c=x+y"),
    (
        {"foo": "bar", "baz": "boom", "cow": "milk", "null": None, "php": "hypertext processor"},
        "",
        "foo=bar&baz=boom&cow=milk&php=hypertext+processor",
    ),
    (
        {0: "foo", 1: "bar", 2: "baz", 3: None, 4: "boom", "cow": "milk"},
        "myvar_",
        "myvar_0=foo&myvar_1=bar&myvar_2=baz&myvar_4=boom&cow=milk",
    ),
    (
        {
            "user": {"name": "Bob Smith", "age": 47, "sex": "M", "dob": "5/12/1956"},
            "pastimes": ["golf", "opera", "poker", "rap"],
            "children": {"bobby": {"age": 12, "sex": "M"}, "sally": {"age": 8, "sex": "F"}},
            0: "CEO",
        },
        "flags_",
        "user%5Bname%5D=Bob+Smith&user%5Bage%5D=47&user%5Bsex%5D=M&user%5Bdob%5D=5%2F12%2F1956"
        "&pastimes%5B0%5D=golf&pastimes%5B1%5D=opera&pastimes%5B2%5D=poker&pastimes%5B3%5D=rap"
        "&children%5Bbobby%5D%5Bage%5D=12&children%5Bbobby%5D%5Bsex%5D=M"
        "&children%5Bsally%5D%5Bage%5D=8&children%5Bsally%5D%5Bsex%5D=F&flags_0=CEO",
    ),
    ({"a": True, "b": False, "n": -3}, "", "a=1&b=0&n=-3"),
    ({"a": [], "b": {}, "c": {"d": None}, "e": ""}, "", "e="),
    ({"k": "a&b=c+d ~*ç-_."}, "", "k=a%26b%3Dc%2Bd+%7E%2A%C3%A7-_."),
    ({"a b": {"c d": "e"}}, "", "a+b%5Bc+d%5D=e"),
    (
        {"data": {"compo_recebimento": [{"st_nome_pla": "Plano Ouro"}]}},
        "",
        "data%5Bcompo_recebimento%5D%5B0%5D%5Bst_nome_pla%5D=Plano+Ouro",
    ),
]


@pytest.mark.parametrize(("params", "prefix", "expected"), PHP_OUTPUTS)
def test_php_build_query_matches_php(params: dict[Any, Any], prefix: str, expected: str) -> None:
    assert php_build_query(params, prefix) == expected


@pytest.mark.parametrize("bad", [{"x": 1.5}, {"x": Decimal("1")}, {"x": object()}, {True: "1"}])
def test_php_build_query_refuses_what_it_cannot_write_faithfully(bad: dict[Any, Any]) -> None:
    with pytest.raises(TypeError):
        php_build_query(bad)


_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8).filter(
    lambda key: not key.isdigit()  # PHP turns digit-only keys into integer keys
)
_trees = st.recursive(
    st.text(),
    lambda children: (
        st.lists(children, min_size=1, max_size=4)
        | st.dictionaries(_keys, children, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(_keys, _trees, min_size=1, max_size=4))
def test_php_build_query_round_trips_through_post(params: dict[str, Any]) -> None:
    assert php_parse(php_build_query(params)) == params


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "exponent", "expected"),
    [
        (22355, 2, "223.55"),
        (0, 2, "0.00"),
        (5, 2, "0.05"),
        (-22355, 2, "-223.55"),
        (1500, 0, "1500"),
        (7, 3, "0.007"),
        (10**15, 2, "10000000000000.00"),
    ],
)
def test_money(minor: int, exponent: int, expected: str) -> None:
    assert money(minor, exponent) == expected


@given(st.integers(min_value=0, max_value=10**12))
def test_money_is_exact(minor: int) -> None:
    text = money(minor)
    assert Decimal(text) * 100 == minor
    assert text.count(".") == 1 and len(text.split(".")[1]) == 2


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        money(223.55)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2024, 2, 29), "02/29/2024"),
        (datetime(2024, 3, 1, 2, 59, 59, tzinfo=UTC), "02/29/2024"),  # 23:59:59 in São Paulo
        (datetime(2024, 3, 1, 3, 0, tzinfo=UTC), "03/01/2024"),
        (datetime(2025, 1, 1, 2, 0, tzinfo=UTC), "12/31/2024"),
        (datetime(2018, 12, 1, 1, 30, tzinfo=UTC), "11/30/2018"),  # summer time: UTC-2
        (datetime(2018, 12, 1, 2, 0, tzinfo=UTC), "12/01/2018"),
    ],
)
def test_us_date_in_sao_paulo(value: date, expected: str) -> None:
    assert us_date(value, SP) == expected
    assert us_date(value, ZoneInfo(SP)) == expected


@given(st.dates(date(2020, 1, 1), date(2100, 1, 1)), st.integers(0, 3 * 3600 - 1))
def test_us_date_before_3am_utc_is_the_previous_day(day: date, seconds: int) -> None:
    instant = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)
    previous = day - timedelta(days=1)
    assert us_date(instant, SP) == f"{previous.month:02d}/{previous.day:02d}/{previous.year}"


def test_us_date_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        us_date(datetime(2024, 1, 1), SP)  # noqa: DTZ001


# --- customers and products ---------------------------------------------------------------

CREATED = datetime(2024, 3, 1, 2, 30, tzinfo=UTC)  # Feb 29 in São Paulo


# fmt: off
ADDRESS = Address(
    street="Rua Augusta", number="1500", complement="ap 12 & 13", district="Consolação",
    city="São Paulo", state="SP", postal_code="01304-001",
)
CUSTOMER: dict[str, Any] = {
    "id": "cus_01HZX", "number": 42, "name": "Maria Conceição",
    "email": "maria+billing@example.com.br", "document": "52998224725", "document_type": "cpf",
    "phone": "+55 11 91234-5678", "address": ADDRESS, "status": "active",
    "metadata": {"crm": "x"}, "created_at": CREATED, "updated_at": CREATED,
}
PRODUCT: dict[str, Any] = {
    "id": "prd_01HZY", "number": 7, "name": "Plano Pro", "description": "Até 10 usuários",
    "amount": 22355, "currency": "BRL", "interval": "month", "interval_count": 1,
    "trial_days": 0, "status": "active", "metadata": {},
    "created_at": CREATED, "updated_at": CREATED,
}
# fmt: on


def customer(**changes: Any) -> dict[str, Any]:
    """A snapshot as the event's `data` holds it."""
    return CustomerOut(**(CUSTOMER | changes)).model_dump(mode="json")


def product(**changes: Any) -> dict[str, Any]:
    return ProductOut(**(PRODUCT | changes)).model_dump(mode="json")


def test_customer_body_round_trip() -> None:
    body = superlogica_body("customer.created", customer(), TOKEN, SP)
    assert body.startswith(b"validationtoken=vt_0123456789abcdef&data%5Bid_sacado_sac%5D=42&")
    post = parse_body(body)
    assert set(post) == {"validationtoken", "data"}  # no event name: one URL per event
    assert post["validationtoken"] == TOKEN
    # fmt: off
    assert post["data"] == {
        "id_sacado_sac": "42", "st_sincro_sac": "cus_01HZX", "st_nome_sac": "Maria Conceição",
        "st_email_sac": "maria+billing@example.com.br", "st_cgc_sac": "52998224725",
        "st_telefone_sac": "+55 11 91234-5678",
        "st_cep_sac": "01304001", "st_endereco_sac": "Rua Augusta", "st_numero_sac": "1500",
        "st_complemento_sac": "ap 12 & 13", "st_bairro_sac": "Consolação",
        "st_cidade_sac": "São Paulo", "st_estado_sac": "SP", "st_pais_sac": "BR",
        "dt_cadastro_sac": "02/29/2024", "fl_status_sac": "0",
    }
    # fmt: on


def test_customer_missing_values_are_empty_strings() -> None:
    snapshot = customer(email=None, document=None, document_type=None, phone=None, address=None)
    data = parse_body(superlogica_body("customer.updated", snapshot, TOKEN, SP))["data"]
    assert len(data) == 16
    for column in ("st_email_sac", "st_cgc_sac", "st_telefone_sac", "st_cep_sac", "st_pais_sac"):
        assert data[column] == ""


@pytest.mark.parametrize(
    ("status", "code"),
    [("active", "0"), ("inactive", "1"), ("delinquent", "2"), ("suspended", "3")],
)
def test_customer_status_codes(status: str, code: str) -> None:
    body = superlogica_body("customer.status_changed", customer(status=status), TOKEN, SP)
    assert parse_body(body)["data"]["fl_status_sac"] == code


@given(st.sampled_from(TRICKY_NAMES) | st.text(min_size=1, max_size=200).filter(str.strip))
def test_customer_names_survive(name: str) -> None:
    body = superlogica_body("customer.updated", customer(name=name), TOKEN, SP)
    assert parse_body(body)["data"]["st_nome_sac"] == name


def test_product_body_round_trip() -> None:
    post = parse_body(superlogica_body("product.created", product(), TOKEN, SP))
    assert set(post) == {"validationtoken", "data"}
    assert post["data"] == {
        "id_produto_prd": "7",
        "st_sincro_prd": "prd_01HZY",
        "st_nome_prd": "Plano Pro",
        "st_descricao_prd": "Até 10 usuários",
        "vl_unitario_prd": "223.55",
        "dt_cadastro_prd": "02/29/2024",
        "fl_status_prd": "0",
    }


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(TRICKY_NAMES))
def test_product_amounts_are_exact(amount: int, name: str) -> None:
    body = superlogica_body("product.updated", product(amount=amount, name=name), TOKEN, SP)
    data = parse_body(body)["data"]
    assert Decimal(data["vl_unitario_prd"]) * 100 == amount
    assert data["st_nome_prd"] == name


def test_product_uses_the_currency_exponent_and_status_codes() -> None:
    snapshot = product(amount=1500, currency="JPY", status="inactive", description=None)
    data = parse_body(superlogica_body("product.deactivated", snapshot, TOKEN, SP))["data"]
    assert data["vl_unitario_prd"] == "1500"
    assert (data["fl_status_prd"], data["st_descricao_prd"]) == ("1", "")


# --- dispatch and tentativa ---------------------------------------------------------------


@pytest.mark.parametrize("event_type", ["webhook.ping", "endpoint.disabled", "refund.created"])
def test_unmapped_event_types_are_refused(event_type: str) -> None:
    with pytest.raises(UnsupportedFormat, match=event_type):
        superlogica_body(event_type, {"attempt": 2}, TOKEN, SP)


def test_attempt_belongs_to_card_declined_only() -> None:
    with pytest.raises(ValueError, match="tentativa"):
        superlogica_body("customer.created", customer(), TOKEN, SP, attempt=2)
