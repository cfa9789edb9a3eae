"""Pure rules of the notas fiscais (rules/fiscal.py) and the DPS (fiscal/dps.py): the IBGE
code's check digit, the access key's modulo 11, the ISS, and the DPS against the national
XSD for many invoices (amounts, descriptions, a CPF or a CNPJ taker, or none)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import nfelib
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from assina.core.documents import cnpj_check_digits, cpf_check_digits
from assina.fiscal.dps import build_dps, dps_id
from assina.fiscal.providers import Emitter, InvoiceOrder, Taker
from assina.rules.fiscal import (
    access_key,
    ibge_check_digit,
    is_valid_access_key,
    is_valid_municipality_code,
    iss_amount,
    modulo_11_digit,
)

SCHEMA = etree.XMLSchema(
    etree.parse(str(Path(nfelib.__file__).parent / "nfse/schemas/v1_0/DPS_v1.01.xsd"))
)


@pytest.mark.parametrize(
    "code", ["3550308", "3304557", "5300108", "4106902", "2304400", "1302603", "2201919"]
)
def test_real_municipality_codes_check(code: str) -> None:
    assert is_valid_municipality_code(code)


@pytest.mark.parametrize("code", ["3550309", "355030", "9950308", "35503080", "35503O8"])
def test_wrong_municipality_codes_do_not(code: str) -> None:
    assert not is_valid_municipality_code(code)


@given(st.from_regex(r"[0-9]{6}", fullmatch=True), st.integers(1, 9))
def test_a_changed_check_digit_is_refused(first_six: str, shift: int) -> None:
    code = first_six + str(ibge_check_digit(first_six))
    wrong = first_six + str((ibge_check_digit(first_six) + shift) % 10)
    if code[:2].isdigit() and is_valid_municipality_code(code):
        assert not is_valid_municipality_code(wrong) or wrong in {"2201919"}


def test_modulo_11_by_hand() -> None:
    # 3x2 + 2x3 + 1x4 = 16; 16 mod 11 = 5; 11 - 5 = 6.
    assert modulo_11_digit("123") == 6
    # 1x2 = 2 ... remainder 2 gives 9; remainders 0 and 1 give 0.
    assert modulo_11_digit("1") == 9
    assert modulo_11_digit("0") == 0
    # Weights cycle 2..9 then 2 again: the 9th digit from the right weighs 2.
    assert modulo_11_digit("100000000") == 9


@given(
    st.integers(1, 10**13 - 1),
    st.integers(2000, 2099),
    st.integers(1, 12),
    st.integers(0, 10**9 - 1),
    st.from_regex(r"[0-9]{12}", fullmatch=True),
)
def test_access_keys_have_50_digits_and_check(
    number: int, year: int, month: int, random_number: int, first_twelve: str
) -> None:
    cnpj = first_twelve + cnpj_check_digits(first_twelve)
    key = access_key("3550308", 2, cnpj, number, year, month, random_number)
    assert len(key) == 50 and is_valid_access_key(key)
    assert key[:7] == "3550308" and key[7:9] == "22" and key[9:23] == cnpj
    assert key[23:36] == f"{number:013d}" and key[36:40] == f"{year % 100:02d}{month:02d}"
    broken = key[:-1] + str((int(key[-1]) + 1) % 10)
    assert not is_valid_access_key(broken)


@given(st.integers(0, 10**12), st.integers(0, 500))
def test_iss_is_the_rate_rounded_half_even(amount: int, rate_bp: int) -> None:
    exact = amount * rate_bp / 10_000
    assert abs(iss_amount(amount, rate_bp) - exact) <= 0.5


def test_iss_half_even() -> None:
    assert iss_amount(12345, 500) == 617  # 617.25
    assert iss_amount(50, 100) == 0  # 0.5 -> 0
    assert iss_amount(150, 100) == 2  # 1.5 -> 2


_takers = st.one_of(
    st.none(),
    st.from_regex(r"[1-9][0-9]{8}", fullmatch=True).map(lambda nine: nine + cpf_check_digits(nine)),
    st.from_regex(r"[1-9][0-9]{11}", fullmatch=True).map(
        lambda twelve: twelve + cnpj_check_digits(twelve)
    ),
)
_descriptions = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00") | st.just("\n"),
    min_size=1,
    max_size=300,
).filter(lambda text: text.strip())


@given(
    amount=st.integers(1, 10**12),
    rate=st.integers(0, 500),
    retained=st.booleans(),
    document=_takers,
    description=_descriptions,
    number=st.integers(1, 10**15 - 1),
    email=st.one_of(st.none(), st.emails()),
)
def test_the_dps_is_valid_against_the_national_xsd(
    amount: int,
    rate: int,
    retained: bool,
    document: str | None,
    description: str,
    number: int,
    email: str | None,
) -> None:
    order = InvoiceOrder(
        invoice_id="nfs_1",
        invoice_number=number,
        idempotency_key="nfs_1",
        charge_id="chg_1",
        emitter=Emitter("11222333000181", "123", "3550308", "Escola Alfa"),
        taker=Taker("cus_1", "Ana Souza", document, email),
        amount=amount,
        iss_rate_bp=rate,
        iss_amount=iss_amount(amount, rate),
        iss_retained=retained,
        service_code="080101",
        service_description=description.strip(),
        competence_date=date(2026, 4, 30),
        requested_at=datetime(2026, 5, 1, 2, 30, tzinfo=UTC),
    )
    document_xml = etree.fromstring(build_dps(order))
    assert SCHEMA.validate(document_xml), SCHEMA.error_log
    info = document_xml[0]
    assert info.get("Id") == dps_id(order) and len(dps_id(order)) == 45
    ns = {"n": "http://www.sped.fazenda.gov.br/nfse"}
    assert document_xml.findtext(".//n:vServ", namespaces=ns) == f"{amount / 100:.2f}"
    assert document_xml.findtext(".//n:dhEmi", namespaces=ns) == "2026-04-30T23:30:00-03:00"
    assert (document_xml.find(".//n:toma", namespaces=ns) is None) == (document is None)


def test_an_unvalidated_dps_fails_the_xsd() -> None:
    """The check can fail: a service code of 5 digits is refused by the schema."""
    order = InvoiceOrder(
        "nfs_1", 1, "nfs_1", "chg_1", Emitter("11222333000181", None, "3550308", "A"),
        Taker("cus_1", "Ana", None, None), 100, 0, 0, False, "08010", "Aula",
        date(2026, 4, 30), datetime(2026, 5, 1, tzinfo=UTC),
    )  # fmt: skip
    assert not SCHEMA.validate(etree.fromstring(build_dps(order)))
