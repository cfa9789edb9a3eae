"""The Asaas adapter (payments/asaas/) against the Asaas stand-in over real HTTP: every rail
end to end, retries that find what a first try made, and how each failure maps. Expected
values come from the stand-in's own answers read over HTTP, from assina's boleto and PIX
rules, and from the orders: never from the adapter's code."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import date, timedelta

import aiohttp
import pytest

from assina.payment_settings.models import AsaasEnvironment
from assina.payments.asaas.adapter import AsaasProvider
from assina.payments.asaas.client import AsaasClient, AsaasRefused
from assina.payments.providers import (
    CardDetails,
    CardRefused,
    PaymentRail,
    ProviderRefused,
    ProviderUnavailable,
)
from assina.rules import boleto, pix
from assina.rules.cards import CardBrand, ChargeOutcome, DeclineCode
from tests.integration.asaas_adapter_support import (
    APPROVED_VISA,
    PAYER,
    REFUSED_MASTERCARD,
    REFUSED_VISA,
    TODAY,
    card,
    client_for,
    order,
)
from tests.integration.asaas_standin import STANDIN_API_KEY, STANDIN_NOW, AsaasStandin


async def read(standin: AsaasStandin, path: str) -> dict[str, object]:
    """What the stand-in answers a GET, read apart from the adapter."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{standin.url}/v3{path}", headers={"access_token": STANDIN_API_KEY}) as answer,
    ):
        assert answer.status == 200
        body: dict[str, object] = await answer.json()
        return body


# --- customers ----------------------------------------------------------------------------


async def test_the_payer_becomes_one_asaas_customer_found_again_by_reference(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    first = await asaas.customer_for(PAYER)
    again = await asaas.customer_for(PAYER)
    assert first == again
    created = asaas_standin.requests_to("POST", "/v3/customers")
    assert len(created) == 1
    assert created[0].body == {
        "name": "Ana Souza",
        "cpfCnpj": "52998224725",
        "externalReference": "cus_assina_ana",
        "notificationDisabled": True,
        "email": "ana@example.com",
    }
    lookups = asaas_standin.requests_to("GET", "/v3/customers")
    assert [r.query["externalReference"] for r in lookups] == ["cus_assina_ana"] * 2


async def test_a_payer_without_a_document_is_refused_before_anything_is_created(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    with pytest.raises(ProviderRefused, match="CPF or CNPJ"):
        await asaas.register_boleto(order(payer=replace(PAYER, document=None)))
    assert asaas_standin.requests_to("POST", "/v3/customers") == []
    assert asaas_standin.payments == {}


# --- boleto -------------------------------------------------------------------------------


async def test_a_boleto_is_registered_with_the_line_asaas_computes(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    registered = await asaas.register_boleto(order())
    sent = asaas_standin.requests_to("POST", "/v3/payments")[0].body
    assert sent == {
        "customer": next(iter(asaas_standin.customers)),
        "billingType": "BOLETO",
        "value": 129.9,
        "dueDate": "2026-03-10",
        "description": "Mensalidade de março",
        "externalReference": "chg_0001",
    }
    numbers = await read(
        asaas_standin, f"/payments/{registered.provider_payment_id}/identificationField"
    )
    assert registered.boleto_line == numbers["identificationField"]
    assert registered.boleto_barcode == numbers["barCode"]
    assert registered.our_number == numbers["nossoNumero"]
    # And the numbers are the order's, read back with assina's own rules.
    assert boleto.barcode_from_line(registered.boleto_line) == registered.boleto_barcode
    assert int(registered.boleto_barcode[9:19]) == 12990
    factor = int(registered.boleto_barcode[5:9])
    assert boleto.due_date_from_factor(factor, near=TODAY) == date(2026, 3, 10)


async def test_registering_the_same_order_again_makes_no_second_payment(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    first = await asaas.register_boleto(order())
    again = await asaas.register_boleto(order())
    assert again == first
    assert len(asaas_standin.requests_to("POST", "/v3/payments")) == 1
    other = await asaas.register_boleto(order("chg_0002"))
    assert other.provider_payment_id != first.provider_payment_id
    assert len(asaas_standin.payments) == 2


async def test_a_boleto_is_cancelled_once_and_a_retry_is_done(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    registered = await asaas.register_boleto(order())
    await asaas.cancel_boleto(registered.provider_payment_id)
    assert asaas_standin.payments[registered.provider_payment_id].deleted
    await asaas.cancel_boleto(registered.provider_payment_id)  # the first answer was "lost"
    assert (
        len(asaas_standin.requests_to("DELETE", f"/v3/payments/{registered.provider_payment_id}"))
        == 2
    )
    # A deleted payment is not reused: the charge registered again gets a new one.
    again = await asaas.register_boleto(order())
    assert again.provider_payment_id != registered.provider_payment_id


async def test_a_paid_boleto_or_an_unknown_payment_cannot_be_cancelled(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    registered = await asaas.register_boleto(order())
    await asaas_standin.receive_payment(registered.provider_payment_id)
    with pytest.raises(ProviderRefused, match="RECEIVED"):
        await asaas.cancel_boleto(registered.provider_payment_id)
    with pytest.raises(AsaasRefused) as unknown:
        await asaas.cancel_boleto("pay_doesnotexist00")
    assert unknown.value.status == 404


# --- PIX ----------------------------------------------------------------------------------


async def test_a_pix_charge_carries_asaas_code_and_is_looked_up_once_paid(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    charge = await asaas.create_pix(order(amount=4500))
    assert asaas_standin.requests_to("POST", "/v3/payments")[0].body["billingType"] == "PIX"
    qr = await read(asaas_standin, f"/payments/{charge.provider_payment_id}/pixQrCode")
    assert charge.pix_code == qr["payload"]
    assert pix.crc_is_valid(charge.pix_code)
    fields = pix.parse_emv(charge.pix_code)
    assert fields["54"] == "45.00"
    assert charge.txid == pix.parse_emv(fields["62"])["05"]
    assert await asaas.create_pix(order(amount=4500)) == charge  # a retry: the same payment
    assert len(asaas_standin.payments) == 1

    assert await asaas.look_up_pix(charge.provider_payment_id) is None
    await asaas_standin.receive_payment(charge.provider_payment_id)
    found = await asaas.look_up_pix(charge.provider_payment_id)
    assert found is not None
    assert (found.charge_id, found.amount, found.rail) == ("chg_0001", 4500, PaymentRail.PIX)
    assert found.provider_payment_id == charge.provider_payment_id
    assert found.paid_at.date() == TODAY


async def test_a_paid_pix_is_refunded_in_part_then_whole(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    charge = await asaas.create_pix(order(amount=4500))
    await asaas_standin.receive_payment(charge.provider_payment_id)
    await asaas.refund_pix(charge.provider_payment_id, 1050)
    payment = asaas_standin.payments[charge.provider_payment_id]
    assert (payment.status, payment.refunded) == ("RECEIVED", 1050)
    await asaas.refund_pix(charge.provider_payment_id, None)
    assert (payment.status, payment.refunded) == ("REFUNDED", 4500)
    await asaas.refund_pix(charge.provider_payment_id, None)  # a retry: nothing asked again
    refunds = asaas_standin.requests_to("POST", f"/v3/payments/{charge.provider_payment_id}/refund")
    assert [r.body for r in refunds] == [{"value": 10.5}, {}]


# --- cards --------------------------------------------------------------------------------


async def test_a_card_is_saved_and_charged_by_its_token(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    token = await asaas.tokenize_card(PAYER, card())
    assert (token.brand, token.last4, token.exp_month, token.exp_year) == (
        CardBrand.VISA,
        "4444",
        5,
        2030,
    )
    sent = asaas_standin.requests_to("POST", "/v3/creditCard/tokenizeCreditCard")[0].body
    assert sent["creditCard"] == {
        "holderName": "ANA SOUZA",
        "number": APPROVED_VISA,
        "expiryMonth": "05",
        "expiryYear": "2030",
        "ccv": "7391",
    }
    assert sent["creditCardHolderInfo"]["postalCode"] == "89223005"
    assert sent["remoteIp"] == "203.0.113.7"
    assert APPROVED_VISA not in token.token

    result = await asaas.charge_card(order(), token.token)
    assert result.outcome is ChargeOutcome.APPROVED
    assert result.provider_payment_id is not None
    payment = asaas_standin.payments[result.provider_payment_id]
    assert (payment.status, payment.billing_type, payment.value) == (
        "CONFIRMED",
        "CREDIT_CARD",
        12990,
    )
    assert payment.external_reference == "chg_0001"
    charged = asaas_standin.requests_to("POST", "/v3/payments")[0].body
    assert (charged["creditCardToken"], charged["remoteIp"]) == (token.token, "203.0.113.7")
    assert "creditCard" not in charged


async def test_charging_the_same_order_again_returns_the_first_payment(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    token = await asaas.tokenize_card(PAYER, card())
    first = await asaas.charge_card(order(), token.token)
    again = await asaas.charge_card(order(), token.token)
    assert again == first
    assert len(asaas_standin.requests_to("POST", "/v3/payments")) == 1


async def test_a_card_charged_after_its_due_date_is_due_today_for_asaas(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    token = await asaas.tokenize_card(PAYER, card())
    result = await asaas.charge_card(order(due=TODAY - timedelta(days=3)), token.token)
    assert result.outcome is ChargeOutcome.APPROVED
    assert asaas_standin.requests_to("POST", "/v3/payments")[0].body["dueDate"] == "2026-03-02"


async def test_a_saved_card_that_expired_since_is_declined_and_no_payment_is_made(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    token = await asaas.tokenize_card(PAYER, card(month=3, year=2026))  # valid through March
    asaas_standin.clock.set(STANDIN_NOW + timedelta(days=31))  # April: it has expired
    result = await asaas.charge_card(order(due=date(2026, 4, 2)), token.token)
    assert result.outcome is ChargeOutcome.DECLINED
    assert result.decline_code is DeclineCode.GENERIC_DECLINE
    assert result.message is not None and "não autorizada" in result.message
    assert result.provider_payment_id is None
    assert asaas_standin.payments == {}
    # The next retry day tries again: a decline left nothing to find.
    assert (await asaas.charge_card(order(due=date(2026, 4, 2)), token.token)).outcome is (
        ChargeOutcome.DECLINED
    )
    assert len(asaas_standin.requests_to("POST", "/v3/payments")) == 2


@pytest.mark.parametrize(
    "refused", [card(REFUSED_MASTERCARD), card(REFUSED_VISA), card(year=2025)], ids=repr
)
async def test_a_card_asaas_refuses_is_refused_when_saved(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, refused: CardDetails
) -> None:
    with pytest.raises(CardRefused) as refusal:
        await asaas.tokenize_card(PAYER, refused)
    assert refusal.value.decline_code is DeclineCode.GENERIC_DECLINE
    assert "não autorizada" in refusal.value.message
    assert refusal.value.__cause__ is None  # the request that held the card is not kept
    assert asaas_standin.cards == {}


async def test_a_card_without_what_asaas_requires_is_refused_before_it_is_sent(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    no_phone = replace(PAYER, phone=None, postal_code=None)
    with pytest.raises(ProviderRefused, match="postalCode, phone"):
        await asaas.tokenize_card(no_phone, card())
    with pytest.raises(ProviderRefused, match="remoteIp"):
        await asaas.charge_card(order(remote_ip=None), "any-token")
    assert asaas_standin.requests == []


async def test_an_unknown_token_is_a_refusal_not_a_decline(asaas: AsaasProvider) -> None:
    with pytest.raises(AsaasRefused) as refused:
        await asaas.charge_card(order(), "not-a-token")
    assert refused.value.codes == {"invalid_creditCardToken"}


async def test_a_card_payment_is_refunded(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    token = await asaas.tokenize_card(PAYER, card())
    result = await asaas.charge_card(order(), token.token)
    assert result.provider_payment_id is not None
    await asaas.refund_card(result.provider_payment_id, None)
    assert asaas_standin.payments[result.provider_payment_id].status == "REFUNDED"


# --- the client: URLs, headers, errors ----------------------------------------------------


def test_the_environment_picks_the_base_url() -> None:
    assert AsaasClient("k", environment=AsaasEnvironment.PRODUCTION).base_url == (
        "https://api.asaas.com/v3"
    )
    assert AsaasClient("k", environment=AsaasEnvironment.SANDBOX).base_url == (
        "https://api-sandbox.asaas.com/v3"
    )
    assert AsaasClient("k", base_url="http://127.0.0.1:1/v3/").base_url == "http://127.0.0.1:1/v3"
    assert "k" not in repr(AsaasClient("secret-key-123"))


async def test_every_request_carries_the_key_and_a_user_agent(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    await asaas.register_boleto(order())
    assert (
        len(asaas_standin.requests) == 5
    )  # find the payment, find + create the customer, create, numbers
    for request in asaas_standin.requests:
        assert request.headers["access_token"] == STANDIN_API_KEY
        assert request.headers["User-Agent"].startswith("assina/")


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_a_5xx_or_a_429_is_unavailable_and_a_retry_then_succeeds(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, status: int
) -> None:
    asaas_standin.faults.fail_next(1, status=status)
    with pytest.raises(ProviderUnavailable, match=str(status)):
        await asaas.register_boleto(order())
    registered = await asaas.register_boleto(order())
    assert list(asaas_standin.payments) == [registered.provider_payment_id]


async def test_a_payment_whose_answer_was_lost_is_found_by_the_retry(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    # Asaas makes the payment, and its answer never arrives.
    asaas_standin.faults.lose_answer_to("POST", "/v3/payments")
    with pytest.raises(ProviderUnavailable):
        await asaas.create_pix(order())
    assert len(asaas_standin.payments) == 1
    charge = await asaas.create_pix(order())
    assert list(asaas_standin.payments) == [charge.provider_payment_id]
    assert len(asaas_standin.requests_to("POST", "/v3/payments")) == 1


async def test_a_timeout_is_unavailable(asaas_standin: AsaasStandin) -> None:
    asaas_standin.faults.hold_next(1)
    async with client_for(asaas_standin, timeout=timedelta(milliseconds=200)) as client:
        provider = AsaasProvider(client, asaas_standin.clock)
        with pytest.raises(ProviderUnavailable, match="in time"):
            await provider.customer_for(PAYER)
        assert await provider.customer_for(PAYER)  # the next request is answered


async def test_a_connection_refused_is_unavailable() -> None:
    with socket.socket() as free:  # a port that was just free: nothing listens there
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    async with AsaasClient("k", base_url=f"http://127.0.0.1:{port}/v3") as client:
        with pytest.raises(ProviderUnavailable, match="could not be reached"):
            await client.get("/customers")


async def test_a_wrong_key_or_a_field_asaas_refuses_is_refused_with_its_description(
    asaas_standin: AsaasStandin,
) -> None:
    async with AsaasClient("$aact_wrong", base_url=f"{asaas_standin.url}/v3") as client:
        with pytest.raises(AsaasRefused, match="A chave de API fornecida é inválida") as wrong:
            await AsaasProvider(client, asaas_standin.clock).customer_for(PAYER)
    assert (wrong.value.status, wrong.value.codes) == (401, {"invalid_access_token"})
    async with client_for(asaas_standin) as client:
        provider = AsaasProvider(client, asaas_standin.clock)
        with pytest.raises(ProviderRefused, match="vencimento inferior a hoje"):
            await provider.register_boleto(order(due=TODAY - timedelta(days=1)))
