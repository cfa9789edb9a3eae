"""The sandbox provider's PIX charges and registered boletos, called over loopback HTTP by
SandboxClient as a PixProvider and a BoletoIssuer: txids of 26 to 35 letters and digits, a
dynamic BR Code whose CRC verifies, boleto numbers that decode, idempotency keys, refusals."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.payments.connections import ProviderConnections
from assina.payments.providers import Payer, PaymentOrder, ProviderRefused
from assina.payments.sandbox.client import SandboxClient
from assina.rules.boleto import barcode_from_line, check_barcode
from assina.rules.pix import crc_is_valid, parse_emv
from tests.conftest import TEST_SECRET_KEY, TenantClient

TXID = re.compile(r"[A-Za-z0-9]{26,35}")


def pix_order(key: str = "reg_1.1", amount: int = 15_000, charge_id: str = "chg_1") -> PaymentOrder:
    return PaymentOrder(
        charge_id=charge_id,
        charge_number=1,
        payer=Payer("cus_1", "Ana Souza", "52998224725", None),
        amount=amount,
        due_date=date(2026, 4, 10),
        description="Cobrança 1",
        idempotency_key=key,
        requested_at=datetime(2026, 4, 1, tzinfo=UTC),
    )


@pytest.fixture
async def connections(database: Database, clock: FrozenClock) -> AsyncIterator[ProviderConnections]:
    made = ProviderConnections(database, SecretBox(TEST_SECRET_KEY), clock)
    yield made
    await made.close()


@pytest.fixture
async def provider(connections: ProviderConnections, sandbox: TenantClient) -> SandboxClient:
    return await connections.sandbox_client(sandbox.tenant.tenant_id)


async def test_a_pix_charge_has_a_long_txid_and_a_dynamic_code_that_verifies(
    provider: SandboxClient,
) -> None:
    pix = await provider.create_pix(pix_order())

    assert TXID.fullmatch(pix.txid)
    assert crc_is_valid(pix.pix_code)
    fields = parse_emv(pix.pix_code)
    assert fields["01"] == "12" and fields["54"] == "150.00"
    assert parse_emv(fields["26"])["25"].endswith("/" + pix.txid)


async def test_a_pix_charge_is_made_once_per_idempotency_key(provider: SandboxClient) -> None:
    first = await provider.create_pix(pix_order("reg_1.1"))
    again = await provider.create_pix(pix_order("reg_1.1"))
    other = await provider.create_pix(pix_order("reg_1.2"))

    assert again == first
    assert other.txid != first.txid


async def test_a_pix_charge_is_unpaid_until_the_sandbox_receives_its_payment(
    provider: SandboxClient, clock: FrozenClock
) -> None:
    pix = await provider.create_pix(pix_order(charge_id="chg_9"))
    assert await provider.look_up_pix(pix.provider_payment_id) is None

    await provider.record_payment("chg_9", "pix", 15_000, clock.now(), None)
    paid = await provider.look_up_pix(pix.provider_payment_id)

    assert paid is not None and paid.amount == 15_000 and paid.charge_id == "chg_9"
    assert paid.end_to_end_id is not None and paid.event_id == paid.end_to_end_id


async def test_a_registered_boleto_has_numbers_that_decode_and_is_made_once(
    provider: SandboxClient,
) -> None:
    boleto = await provider.register_boleto(pix_order("reg_2.1"))
    again = await provider.register_boleto(pix_order("reg_2.1"))

    assert again == boleto
    check_barcode(boleto.boleto_barcode)
    assert barcode_from_line(boleto.boleto_line) == boleto.boleto_barcode
    assert boleto.boleto_barcode.startswith("001")  # the sandbox's Banco do Brasil agreement
    assert boleto.boleto_barcode[9:19] == "0000015000"
    await provider.cancel_boleto(boleto.provider_payment_id)
    with pytest.raises(ProviderRefused):
        await provider.cancel_boleto("sbol_unknown")


async def test_a_malformed_order_is_refused(provider: SandboxClient) -> None:
    with pytest.raises(ProviderRefused):
        await provider.create_pix(pix_order(amount=0))
