"""Asaas's webhooks as the stand-in sends them, read by AsaasInboundReader; reconciliation
finding what a lost webhook did not say; and no card number or CVC in any log record."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from assina.payments.asaas.adapter import AsaasProvider
from assina.payments.asaas.inbound import AsaasInboundReader
from assina.payments.providers import (
    CardRefused,
    DeclinedPayment,
    IgnoredNotification,
    NotificationRefused,
    PaymentRail,
    ProviderUnavailable,
    ReceivedPayment,
)
from assina.rules.cards import DeclineCode
from tests.integration.asaas_adapter_support import (
    APPROVED_VISA,
    CVC,
    PAYER,
    REFUSED_MASTERCARD,
    TODAY,
    WEBHOOK_TOKEN,
    Delivered,
    Inbox,
    card,
    client_for,
    order,
)
from tests.integration.asaas_standin import AsaasStandin

READER = AsaasInboundReader()
SAO_PAULO_MIDNIGHT = timedelta(hours=3)  # 00:00 in São Paulo is 03:00 UTC (no DST since 2019)


def read(delivered: Delivered, token: str = WEBHOOK_TOKEN) -> object:
    notifications = READER.read_notifications(delivered.headers, delivered.body, token)
    assert len(notifications) == 1
    return notifications[0]


def events_of(inbox: Inbox) -> list[str]:
    return [json.loads(d.body)["event"] for d in inbox.received]


async def test_a_boleto_created_then_received_reads_as_ignored_then_received(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, inbox: Inbox
) -> None:
    registered = await asaas.register_boleto(order(amount=1129))  # 11.29: a float's trap
    await asaas_standin.webhooks_settled()
    await asaas_standin.receive_payment(registered.provider_payment_id, on=date(2026, 3, 5))
    assert events_of(inbox) == ["PAYMENT_CREATED", "PAYMENT_RECEIVED"]
    created, received = (read(d) for d in inbox.received)
    assert created == IgnoredNotification(
        event_id=json.loads(inbox.received[0].body)["id"],
        kind="PAYMENT_CREATED",
        provider_payment_id=registered.provider_payment_id,
        charge_id="chg_0001",
    )
    assert received == ReceivedPayment(
        event_id=f"asaas:{registered.provider_payment_id}:received",
        provider_payment_id=registered.provider_payment_id,
        charge_id="chg_0001",
        rail=PaymentRail.BOLETO,
        amount=1129,
        paid_at=datetime(2026, 3, 5, tzinfo=UTC) + SAO_PAULO_MIDNIGHT,
    )


async def test_a_boleto_paid_late_is_received_with_its_interest(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, inbox: Inbox
) -> None:
    registered = await asaas.register_boleto(order(amount=12990))
    await asaas_standin.receive_payment(registered.provider_payment_id, value=13317)
    received = read(inbox.received[-1])
    assert isinstance(received, ReceivedPayment)
    assert received.amount == 13317


async def test_a_card_confirmed_then_received_settles_once_as_does_a_redelivery(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, inbox: Inbox
) -> None:
    token = await asaas.tokenize_card(PAYER, card())
    result = await asaas.charge_card(order(), token.token)
    assert result.provider_payment_id is not None
    await asaas_standin.webhooks_settled()
    await asaas_standin.receive_payment(result.provider_payment_id)  # its money is credited
    assert events_of(inbox) == ["PAYMENT_CREATED", "PAYMENT_CONFIRMED", "PAYMENT_RECEIVED"]
    _, confirmed, received = (read(d) for d in inbox.received)
    assert isinstance(confirmed, ReceivedPayment) and isinstance(received, ReceivedPayment)
    assert confirmed.event_id == received.event_id  # one identity: the charge settles once
    assert (confirmed.rail, confirmed.amount, confirmed.charge_id) == (
        PaymentRail.CARD,
        12990,
        "chg_0001",
    )
    first_event = json.loads(inbox.received[1].body)["id"]
    await asaas_standin.redeliver(first_event)
    assert read(inbox.received[-1]) == confirmed


async def test_refunds_and_deletions_are_read_and_change_nothing(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, inbox: Inbox
) -> None:
    charge = await asaas.create_pix(order())
    await asaas_standin.receive_payment(charge.provider_payment_id)
    await asaas.refund_pix(charge.provider_payment_id, None)
    boleto = await asaas.register_boleto(order("chg_0002"))
    await asaas.cancel_boleto(boleto.provider_payment_id)
    await asaas_standin.webhooks_settled()
    read_back = [read(d) for d in inbox.received]
    ignored = [(n.kind, n.charge_id) for n in read_back if isinstance(n, IgnoredNotification)]
    assert ignored == [
        ("PAYMENT_CREATED", "chg_0001"),
        ("PAYMENT_REFUNDED", "chg_0001"),
        ("PAYMENT_CREATED", "chg_0002"),
        ("PAYMENT_DELETED", "chg_0002"),
    ]
    assert [type(n).__name__ for n in read_back].count("ReceivedPayment") == 1


async def test_a_refused_capture_reads_as_a_declined_payment(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, inbox: Inbox
) -> None:
    # The stand-in never sends this event: built from the payment it answers, as Asaas would.
    token = await asaas.tokenize_card(PAYER, card())
    result = await asaas.charge_card(order(), token.token)
    assert result.provider_payment_id is not None
    payment = asaas_standin.payments[result.provider_payment_id].to_json(asaas_standin.url)
    event = {"id": "evt_refused&9", "event": "PAYMENT_CREDIT_CARD_CAPTURE_REFUSED"}
    body = json.dumps({**event, "dateCreated": "2026-03-02 10:00:00", "payment": payment})
    headers = {"asaas-access-token": WEBHOOK_TOKEN}
    declined = READER.read_notifications(headers, body.encode(), WEBHOOK_TOKEN)
    assert list(declined) == [
        DeclinedPayment(
            event_id="evt_refused&9",
            provider_payment_id=result.provider_payment_id,
            charge_id="chg_0001",
            decline_code=DeclineCode.GENERIC_DECLINE,
            message="Cartão recusado pelo emissor. Use outro cartão ou fale com o seu banco.",
        )
    ]


async def test_a_wrong_or_missing_token_is_refused_as_unauthenticated(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, inbox: Inbox
) -> None:
    await asaas.register_boleto(order())
    await asaas_standin.webhooks_settled()
    delivered = inbox.received[0]
    assert delivered.headers["asaas-access-token"] == WEBHOOK_TOKEN
    for token in ("whsec-someone-else", WEBHOOK_TOKEN[:-1], ""):
        with pytest.raises(NotificationRefused) as refused:
            read(delivered, token)
        assert refused.value.unauthenticated
    no_header = {k: v for k, v in delivered.headers.items() if k.lower() != "asaas-access-token"}
    with pytest.raises(NotificationRefused) as missing:
        READER.read_notifications(no_header, delivered.body, WEBHOOK_TOKEN)
    assert missing.value.unauthenticated
    # The header's name is matched whatever its case, as HTTP's are.
    upper = {"ASAAS-ACCESS-TOKEN": WEBHOOK_TOKEN}
    assert READER.read_notifications(upper, delivered.body, WEBHOOK_TOKEN)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"event": "PAYMENT_RECEIVED"}',
        b'{"id": "evt_1", "event": "PAYMENT_RECEIVED"}',
        b'{"id": "evt_1", "event": "PAYMENT_RECEIVED", "payment": "pay_1"}',
        b'{"id": "evt_1", "event": "PAYMENT_RECEIVED", "payment": {"id": "pay_1",'
        b' "value": 10.001, "paymentDate": "2026-03-02"}}',
        b'{"id": "evt_1", "event": "PAYMENT_RECEIVED", "payment": {"id": "pay_1",'
        b' "value": "10.00", "paymentDate": "2026-03-02"}}',
        b'{"id": "evt_1", "event": "PAYMENT_RECEIVED", "payment": {"id": "pay_1", "value": 10}}',
        b'{"id": "evt_1", "event": "PAYMENT_CREDIT_CARD_CAPTURE_REFUSED", "payment": {}}',
    ],
)
def test_a_body_that_is_not_an_asaas_event_is_refused_as_malformed(body: bytes) -> None:
    headers = {"asaas-access-token": WEBHOOK_TOKEN}
    with pytest.raises(NotificationRefused) as refused:
        READER.read_notifications(headers, body, WEBHOOK_TOKEN)
    assert not refused.value.unauthenticated


def test_an_event_without_a_payment_is_ignored() -> None:
    body = b'{"id": "evt_7", "event": "TRANSFER_DONE", "transfer": {"id": "tra_1"}}'
    read_back = READER.read_notifications({"asaas-access-token": "t"}, body, "t")
    assert list(read_back) == [IgnoredNotification("evt_7", "TRANSFER_DONE", None, None)]


# --- reconciliation -----------------------------------------------------------------------


async def test_reconciliation_finds_payments_whose_webhooks_were_lost(
    asaas_standin: AsaasStandin, inbox: Inbox
) -> None:
    async with client_for(asaas_standin) as client:
        asaas = AsaasProvider(client, asaas_standin.clock, page_size=2)  # pages are read
        old = await asaas.register_boleto(order("chg_old"))
        await asaas_standin.receive_payment(old.provider_payment_id, on=TODAY - timedelta(days=3))
        unpaid = await asaas.register_boleto(order("chg_unpaid"))
        paid = [await asaas.register_boleto(order(f"chg_b{n}")) for n in range(3)]
        pix = await asaas.create_pix(order("chg_pix", amount=4500))
        token = await asaas.tokenize_card(PAYER, card())
        confirmed = await asaas.charge_card(order("chg_card"), token.token)
        await asaas_standin.webhooks_settled()
        heard = {read(d) for d in inbox.received}
        asaas_standin.webhook_url = None  # from here on, every webhook is lost
        for boleto in paid:
            await asaas_standin.receive_payment(boleto.provider_payment_id)
        await asaas_standin.receive_payment(pix.provider_payment_id, billing_type="PIX")

        found = await asaas.received_since(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))

    by_charge = {r.charge_id: r for r in found}
    assert sorted(by_charge) == ["chg_b0", "chg_b1", "chg_b2", "chg_card", "chg_pix"]
    assert unpaid.provider_payment_id not in {r.provider_payment_id for r in found}
    assert (by_charge["chg_pix"].rail, by_charge["chg_pix"].amount) == (PaymentRail.PIX, 4500)
    # The card's confirmation was heard: reconciliation names it with the same event id.
    assert by_charge["chg_card"] in heard
    assert confirmed.provider_payment_id == by_charge["chg_card"].provider_payment_id
    assert all(r.paid_at == datetime(2026, 3, 2, 3, 0, tzinfo=UTC) for r in found)
    listings = asaas_standin.requests_to("GET", "/v3/payments")
    offsets = [int(r.query["offset"]) for r in listings if "paymentDate[ge]" in r.query]
    assert offsets == [0, 2]  # four with a paymentDate since: two pages of two


async def test_reconciliation_reads_the_day_in_brazil(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    registered = await asaas.register_boleto(order())
    await asaas_standin.receive_payment(registered.provider_payment_id)  # 2026-03-02
    # 01:00 UTC on 3 March is still 2 March in São Paulo: the payment is found.
    assert await asaas.received_since(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    assert await asaas.received_since(datetime(2026, 3, 3, 4, 0, tzinfo=UTC)) == []


async def test_an_unreadable_payment_in_a_listing_is_unavailable(
    asaas: AsaasProvider, asaas_standin: AsaasStandin
) -> None:
    registered = await asaas.register_boleto(order())
    await asaas_standin.receive_payment(registered.provider_payment_id)
    asaas_standin.payments[registered.provider_payment_id].id = ""
    with pytest.raises(ProviderUnavailable, match="cannot read"):
        await asaas.received_since(datetime(2026, 3, 1, tzinfo=UTC))


# --- no card in the logs ------------------------------------------------------------------


async def test_no_log_record_holds_a_card_number_or_its_cvc(
    asaas: AsaasProvider, asaas_standin: AsaasStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await asaas.tokenize_card(PAYER, card())
    await asaas.charge_card(order(), token.token)
    with pytest.raises(CardRefused):
        await asaas.tokenize_card(PAYER, card(REFUSED_MASTERCARD))
    asaas_standin.faults.fail_next(1, status=503)
    with pytest.raises(ProviderUnavailable):
        await asaas.tokenize_card(PAYER, card())
    assert any(r.name.startswith("assina.payments.asaas") for r in caplog.records)
    texts = [r.getMessage() for r in caplog.records] + [caplog.text]
    for text in texts:
        assert APPROVED_VISA not in text and REFUSED_MASTERCARD not in text
        assert not re.search(rf"\b{CVC}\b", text)
        assert '"ccv"' not in text
