"""`charge_json` (the calendar's batches make their `charge.created` events' JSON with it) is
exactly `snapshot(ChargeOut.of_row(row))`, the JSON every other path makes with the model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.charges import links as links_module
from assina.charges.links import install_payment_links
from assina.charges.models import ChargeStatus
from assina.charges.schemas import ChargeOut, charge_json
from assina.contracts.models import PaymentMethod
from assina.core.secrets import SecretBox
from assina.events.service import snapshot

# Naive bounds are how hypothesis takes them; every value drawn is aware, in UTC.
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
text = st.text(max_size=20)
maybe_text = st.none() | text
lines = st.fixed_dictionaries(
    {
        "product_id": st.none() | st.just("prd_01J0000000000000000000000A"),
        "description": maybe_text,
        "quantity": st.integers(1, 1000),
        "amount": st.integers(-(10**9), 10**9),
    }
)
rows = st.fixed_dictionaries(
    {
        "id": st.just("chg_01J0000000000000000000000A"),
        "number": st.integers(1, 10**9),
        "customer_id": st.just("cus_01J0000000000000000000000A"),
        "contract_id": st.none() | st.just("ctr_01J0000000000000000000000A"),
        "order_id": st.none() | st.just("ord_01J0000000000000000000000A"),
        "period_start": st.none() | st.dates(),
        "period_end": st.none() | st.dates(),
        "items": st.lists(lines, max_size=3),
        "amount": st.integers(0, 10**12),
        "currency": st.sampled_from(["BRL", "USD"]),
        "due_date": st.dates(),
        "status": st.sampled_from(list(ChargeStatus)),
        "payment_method": st.sampled_from(list(PaymentMethod)),
        "settled_at": st.none() | instants,
        "settled_amount": st.none() | st.integers(0, 10**12),
        "fine_amount": st.integers(0, 10**9),
        "interest_amount": st.integers(0, 10**9),
        "pix_code": maybe_text,
        "boleto_line": maybe_text,
        "boleto_barcode": maybe_text,
        "metadata_": st.dictionaries(text, text, max_size=3),
        "created_at": instants,
        "updated_at": instants,
    }
)


@pytest.fixture(autouse=True, scope="module")
def links() -> Iterator[None]:
    """Payment links installed (an open charge's JSON has its URL), then as they were."""
    before = links_module._installed
    install_payment_links(SecretBox("one-secret-key"), "https://assina.example.com.br")
    yield
    links_module._installed = before


@given(rows)
def test_charge_json_is_the_models_json(row: dict[str, Any]) -> None:
    shown = charge_json(row)
    assert shown == snapshot(ChargeOut.of_row(row))
    assert list(shown) == list(snapshot(ChargeOut.of_row(row)))
