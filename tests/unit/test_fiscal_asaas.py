"""The pure part of the Asaas fiscal issuer (fiscal/asaas.py): Asaas's invoice statuses as
assina's, the ISS rate as the percentage Asaas reads, the service code as the national list
prints it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.fiscal.asaas import issuer_invoice, national_code, percent
from assina.fiscal.providers import IssuerStatus, ProviderRefused, ProviderUnavailable

# docs.asaas.com/docs/notas-fiscais: "Os status possíveis de uma nota fiscal".
EXPECTED = {
    "SCHEDULED": (IssuerStatus.PENDING, None),
    "SYNCHRONIZED": (IssuerStatus.PENDING, None),
    "AUTHORIZED": (IssuerStatus.ISSUED, None),
    "ERROR": (IssuerStatus.REJECTED, "why"),
    "PROCESSING_CANCELLATION": (IssuerStatus.CANCELLING, None),
    "CANCELED": (IssuerStatus.CANCELLED, None),
    "CANCELLATION_DENIED": (IssuerStatus.ISSUED, "why"),
}


def invoice(status: object, **fields: Any) -> dict[str, Any]:
    return {"object": "invoice", "id": "inv_000000000232", "status": status, **fields}


@pytest.mark.parametrize(("status", "expected"), EXPECTED.items())
def test_each_asaas_status_is_assina_s(status: str, expected: tuple[IssuerStatus, str]) -> None:
    read = issuer_invoice(invoice(status, statusDescription="why", number="123"))
    assert (read.status, read.reason) == expected
    assert (read.provider_invoice_id, read.nfse_number) == ("inv_000000000232", "123")


@pytest.mark.parametrize("status", ["PENDING", None, 3, "authorized"])
def test_a_status_asaas_does_not_document_is_never_a_decision(status: object) -> None:
    with pytest.raises(ProviderUnavailable, match="does not know"):
        issuer_invoice(invoice(status))


def test_an_error_without_a_description_still_says_it_was_refused() -> None:
    read = issuer_invoice(invoice("ERROR", statusDescription=None))
    assert read.status == IssuerStatus.REJECTED and read.reason


def test_an_answer_without_an_id_cannot_be_read() -> None:
    with pytest.raises(ProviderUnavailable, match="id"):
        issuer_invoice({"status": "AUTHORIZED"})


@given(st.integers(min_value=0, max_value=10_000))
def test_a_rate_in_basis_points_is_the_exact_percentage_asaas_reads(basis_points: int) -> None:
    text = json.dumps(percent(basis_points))
    assert Decimal(text) * 100 == basis_points


@given(st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_a_service_code_is_printed_as_the_national_list_does(code: str) -> None:
    printed = national_code(code)
    assert printed.replace(".", "") == code
    assert [len(part) for part in printed.split(".")] == [2, 2, 2]


@pytest.mark.parametrize("code", ["", "01010", "0101011", "01.01.01", "abcdef"])
def test_a_service_code_that_is_not_a_ctribnac_is_refused(code: str) -> None:
    with pytest.raises(ProviderRefused):
        national_code(code)
