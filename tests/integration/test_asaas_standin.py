"""The Asaas v3 stand-in itself, over real HTTP: auth, each endpoint, field violations with
Asaas's error shape, the webhook with its header and body, and boleto and PIX numbers that the
rules (not the stand-in) find valid. The expected values come from the requests and from the
documentation, never from the stand-in's own code."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from assina.rules import boleto, pix
from tests.integration.asaas_standin import STANDIN_API_KEY, AsaasStandin

TODAY = date(2026, 3, 2)  # STANDIN_NOW in São Paulo
CPF = "52998224725"
CNPJ = "11222333000181"
WEBHOOK_TOKEN = "whsec-assina-asaas-0001"
HOLDER = {
    "name": "Ana Souza",
    "email": "ana@example.com",
    "cpfCnpj": CPF,
    "postalCode": "89223005",
    "addressNumber": "277",
    "phone": "4738010919",
}
# The sandbox guide's approved example, and the two cards it says are refused.
APPROVED_VISA = "4444444444444444"
REFUSED_CARDS = ("5184019740373151", "4916561358240741")


def card(number: str, year: str = "2030") -> dict[str, str]:
    return {
        "holderName": "ANA SOUZA",
        "number": number,
        "expiryMonth": "05",
        "expiryYear": year,
        "ccv": "318",
    }


@dataclass
class Api:
    http: aiohttp.ClientSession
    standin: AsaasStandin

    async def call(
        self, method: str, path: str, body: object = None, *, key: str | None = STANDIN_API_KEY
    ) -> tuple[int, Any]:
        headers = {} if key is None else {"access_token": key}
        url = f"{self.standin.url}{path}"
        async with self.http.request(method, url, json=body, headers=headers) as answer:
            return answer.status, await answer.json(content_type=None)

    async def customer(self, **fields: object) -> str:
        status, body = await self.call(
            "POST", "/v3/customers", {"name": "Ana Souza", "cpfCnpj": CPF, **fields}
        )
        assert status == 200, body
        customer_id: str = body["id"]
        return customer_id

    async def payment(self, customer: str, **fields: object) -> dict[str, Any]:
        request = {"customer": customer, "value": 129.9, "dueDate": "2026-03-10", **fields}
        request.setdefault("billingType", "BOLETO")
        status, body = await self.call("POST", "/v3/payments", request)
        assert status == 200, body
        payment: dict[str, Any] = body
        return payment


@dataclass
class Hooks:
    url: str = ""
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    answer: int = 200


@pytest.fixture
async def api(asaas_standin: AsaasStandin) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as http:
        yield Api(http, asaas_standin)


@pytest.fixture
async def hooks(asaas_standin: AsaasStandin) -> AsyncIterator[Hooks]:
    state = Hooks()

    async def receive(request: web.Request) -> web.Response:
        state.received.append((dict(request.headers), await request.json()))
        return web.Response(status=state.answer)

    app = web.Application()
    app.router.add_post("/asaas", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/asaas"
    asaas_standin.webhook_url, asaas_standin.webhook_token = state.url, WEBHOOK_TOKEN
    yield state
    await runner.cleanup()


def codes(body: dict[str, Any]) -> list[str]:
    return [error["code"] for error in body["errors"]]


# --- auth ---------------------------------------------------------------------------------


async def test_a_missing_or_wrong_key_is_401_with_the_error_shape_and_is_recorded(
    api: Api,
) -> None:
    for key in (None, "$aact_someone_else"):
        status, body = await api.call("GET", "/v3/payments", key=key)
        assert status == 401
        assert codes(body) == ["invalid_access_token"]
        assert body["errors"][0]["description"]
    assert [r.headers.get("access_token") for r in api.standin.requests] == [
        None,
        "$aact_someone_else",
    ]


# --- customers ----------------------------------------------------------------------------


async def test_a_customer_is_created_and_read_back(api: Api) -> None:
    status, created = await api.call(
        "POST",
        "/v3/customers",
        {
            "name": "Escola Alfa",
            "cpfCnpj": CNPJ,
            "email": "fin@alfa.com.br",
            "externalReference": "c1",
        },
    )
    assert status == 200
    assert created["id"].startswith("cus_")
    assert (created["name"], created["cpfCnpj"], created["personType"]) == (
        "Escola Alfa",
        CNPJ,
        "JURIDICA",
    )
    status, read = await api.call("GET", f"/v3/customers/{created['id']}")
    assert (status, read) == (200, created)
    assert api.standin.requests_to("POST", "/v3/customers")[0].body["externalReference"] == "c1"


async def test_customer_fields_are_checked(api: Api) -> None:
    status, body = await api.call(
        "POST", "/v3/customers", {"cpfCnpj": "52998224724", "email": "nope", "nmae": "Ana"}
    )
    assert status == 400
    assert sorted(codes(body)) == sorted(
        ["standin_unknown_field", "invalid_name", "invalid_cpfCnpj", "invalid_email"]
    )
    status, _ = await api.call("GET", "/v3/customers/cus_000000000999")
    assert status == 404


# --- payments -----------------------------------------------------------------------------


async def test_a_boleto_payment_has_valid_febraban_numbers(api: Api) -> None:
    customer = await api.customer()
    payment = await api.payment(customer, externalReference="chg_1", description="Mensalidade")
    assert payment["id"].startswith("pay_")
    assert (payment["status"], payment["billingType"], payment["value"]) == (
        "PENDING",
        "BOLETO",
        129.9,
    )
    assert (payment["dueDate"], payment["externalReference"]) == ("2026-03-10", "chg_1")
    status, numbers = await api.call("GET", f"/v3/payments/{payment['id']}/identificationField")
    assert status == 200
    code = numbers["barCode"]
    boleto.check_barcode(code)
    assert boleto.barcode_from_line(numbers["identificationField"]) == code
    assert int(code[9:19]) == 12990  # the amount, in centavos
    assert boleto.due_date_from_factor(int(code[5:9]), near=TODAY) == date(2026, 3, 10)
    assert numbers["nossoNumero"] == payment["nossoNumero"]
    status, read = await api.call("GET", f"/v3/payments/{payment['id']}")
    assert (status, read) == (200, payment)


async def test_a_pix_payment_has_a_br_code_with_its_amount_and_a_png(api: Api) -> None:
    customer = await api.customer()
    payment = await api.payment(customer, billingType="PIX", value=45)
    status, qr = await api.call("GET", f"/v3/payments/{payment['id']}/pixQrCode")
    assert status == 200
    assert pix.crc_is_valid(qr["payload"])
    assert pix.parse_emv(qr["payload"])["54"] == "45.00"
    assert base64.b64decode(qr["encodedImage"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert qr["expirationDate"] == "2027-03-10 23:59:59"  # 12 months after the due date
    status, body = await api.call("GET", f"/v3/payments/{payment['id']}/identificationField")
    assert (status, codes(body)) == (400, ["invalid_billingType"])


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"value": None}, "invalid_value"),
        ({"value": "129.90"}, "invalid_value"),
        ({"value": 10.001}, "invalid_value"),
        ({"value": -5}, "invalid_value"),
        ({"dueDate": "10/03/2026"}, "invalid_dueDate"),
        ({"dueDate": "2026-02-30"}, "invalid_dueDate"),
        ({"dueDate": (TODAY - timedelta(days=1)).isoformat()}, "invalid_dueDate"),
        ({"billingType": "DEBIT_CARD"}, "invalid_billingType"),
        ({"customer": "cus_000000000999"}, "invalid_customer"),
        ({"description": "x" * 501}, "invalid_description"),
        ({"externalRef": "chg_1"}, "standin_unknown_field"),
        ({"split": []}, "standin_unsupported_field"),
        ({"creditCardToken": "tok"}, "invalid_billingType"),
    ],
)
async def test_payment_fields_are_checked(api: Api, change: dict[str, object], code: str) -> None:
    customer = await api.customer()
    request = {"customer": customer, "billingType": "BOLETO", "value": 10, "dueDate": "2026-03-10"}
    request.update(change)
    status, body = await api.call("POST", "/v3/payments", {k: v for k, v in request.items()})
    assert status == 400
    assert code in codes(body)
    assert all(set(error) == {"code", "description"} for error in body["errors"])
    assert api.standin.payments == {}


async def test_a_pending_payment_is_deleted_once(api: Api) -> None:
    payment = await api.payment(await api.customer())
    status, body = await api.call("DELETE", f"/v3/payments/{payment['id']}")
    assert (status, body) == (200, {"deleted": True, "id": payment["id"]})
    status, read = await api.call("GET", f"/v3/payments/{payment['id']}")
    assert (status, read["deleted"]) == (200, True)
    status, _ = await api.call("DELETE", f"/v3/payments/{payment['id']}")
    assert status == 404


async def test_the_list_pages_and_filters(api: Api) -> None:
    customer = await api.customer()
    ids = [(await api.payment(customer, value=10 + n))["id"] for n in range(3)]
    other = await api.payment(await api.customer(), billingType="PIX")
    await api.standin.receive_payment(ids[1], on=date(2026, 3, 5))
    status, page = await api.call("GET", f"/v3/payments?customer={customer}&limit=2&offset=0")
    assert status == 200
    assert (page["object"], page["totalCount"], page["hasMore"], page["limit"]) == (
        "list",
        3,
        True,
        2,
    )
    status, rest = await api.call("GET", f"/v3/payments?customer={customer}&limit=2&offset=2")
    assert [p["id"] for p in page["data"] + rest["data"]] == ids
    assert rest["hasMore"] is False
    status, paid = await api.call("GET", "/v3/payments?status=RECEIVED&paymentDate[ge]=2026-03-05")
    assert [p["id"] for p in paid["data"]] == [ids[1]]
    status, paid = await api.call("GET", "/v3/payments?paymentDate[ge]=2026-03-06")
    assert paid["data"] == []
    status, pix_only = await api.call("GET", "/v3/payments?billingType=PIX")
    assert [p["id"] for p in pix_only["data"]] == [other["id"]]
    for query in ("limit=101", "paymentDate[ge]=05/03/2026", "status=PAID", "user=a@b.c"):
        status, body = await api.call("GET", f"/v3/payments?{query}")
        assert (status, len(body["errors"])) == (400, 1), query


# --- cards --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v3/creditCard/tokenizeCreditCard", "/v3/creditCard/tokenize"])
async def test_a_card_is_tokenized_and_pays_by_its_token(api: Api, path: str) -> None:
    customer = await api.customer()
    request = {
        "customer": customer,
        "creditCard": card(APPROVED_VISA),
        "creditCardHolderInfo": HOLDER,
        "remoteIp": "203.0.113.7",
    }
    status, token = await api.call("POST", path, request)
    assert status == 200
    assert (token["creditCardNumber"], token["creditCardBrand"]) == ("4444", "VISA")
    assert token["creditCardToken"]
    paid = await api.payment(
        customer,
        billingType="CREDIT_CARD",
        creditCardToken=token["creditCardToken"],
        remoteIp="203.0.113.7",
    )
    assert paid["status"] == "CONFIRMED"
    assert paid["confirmedDate"] == TODAY.isoformat()
    assert paid["creditCard"] == token
    stranger = await api.customer(name="Bia")
    status, body = await api.call(
        "POST",
        "/v3/payments",
        {
            "customer": stranger,
            "billingType": "CREDIT_CARD",
            "value": 10,
            "dueDate": "2026-03-10",
            "creditCardToken": token["creditCardToken"],
            "remoteIp": "203.0.113.7",
        },
    )
    assert (status, codes(body)) == (400, ["invalid_creditCardToken"])


async def test_the_refused_sandbox_card_is_declined_and_no_payment_is_made(api: Api) -> None:
    customer = await api.customer()
    request = {
        "customer": customer,
        "billingType": "CREDIT_CARD",
        "value": 50,
        "dueDate": "2026-03-02",
        "creditCardHolderInfo": HOLDER,
        "remoteIp": "203.0.113.7",
    }
    for number in REFUSED_CARDS:
        refused = {**request, "creditCard": card(number)}
        status, body = await api.call("POST", "/v3/payments", refused)
        assert (status, codes(body)) == (400, ["invalid_creditCard"]), number
    expired = {**request, "creditCard": card(APPROVED_VISA, year="2025")}
    status, body = await api.call("POST", "/v3/payments", expired)
    assert (status, codes(body)) == (400, ["invalid_creditCard"])
    assert api.standin.payments == {}


async def test_card_and_holder_fields_are_checked(api: Api) -> None:
    customer = await api.customer()
    bad_card = {**card(APPROVED_VISA), "expiryMonth": "5", "cvv": "318"}
    del bad_card["ccv"]
    holder = {key: value for key, value in HOLDER.items() if key != "phone"}
    status, body = await api.call(
        "POST",
        "/v3/creditCard/tokenizeCreditCard",
        {"customer": customer, "creditCard": bad_card, "creditCardHolderInfo": holder},
    )
    assert status == 400
    assert set(codes(body)) == {
        "standin_unknown_field",  # cvv
        "invalid_creditCard",  # expiryMonth "5", ccv missing
        "invalid_creditCardHolderInfo",  # phone missing
        "invalid_remoteIp",
    }


# --- webhooks -----------------------------------------------------------------------------


async def test_a_received_boleto_sends_payment_received_with_the_token_header(
    api: Api, hooks: Hooks
) -> None:
    payment = await api.payment(await api.customer(), externalReference="chg_7")
    await api.standin.receive_payment(payment["id"], on=date(2026, 3, 9))
    events = [body["event"] for _, body in hooks.received]
    assert events == ["PAYMENT_CREATED", "PAYMENT_RECEIVED"]
    headers, body = hooks.received[-1]
    assert headers["asaas-access-token"] == WEBHOOK_TOKEN
    assert set(body) == {"id", "event", "dateCreated", "payment"}
    assert body["id"].startswith("evt_")
    assert body["dateCreated"] == "2026-03-02 10:00:00"  # STANDIN_NOW in São Paulo
    sent = body["payment"]
    assert (sent["id"], sent["status"], sent["externalReference"]) == (
        payment["id"],
        "RECEIVED",
        "chg_7",
    )
    assert (sent["paymentDate"], sent["value"]) == ("2026-03-09", 129.9)
    status, read = await api.call("GET", f"/v3/payments/{payment['id']}")
    assert (status, read) == (200, sent)


async def test_a_boleto_paid_late_carries_the_interest(api: Api, hooks: Hooks) -> None:
    payment = await api.payment(await api.customer(), value=100)
    received = await api.standin.receive_payment(payment["id"], value=10_250)
    assert (received["value"], received["originalValue"], received["interestValue"]) == (
        102.5,
        100.0,
        2.5,
    )


async def test_a_card_paid_on_the_invoice_is_confirmed_then_received(
    api: Api, hooks: Hooks
) -> None:
    payment = await api.payment(await api.customer(), billingType="CREDIT_CARD")
    confirmed = await api.standin.receive_payment(payment["id"])
    received = await api.standin.receive_payment(payment["id"], on=date(2026, 4, 1))
    assert (confirmed["status"], received["status"]) == ("CONFIRMED", "RECEIVED")
    assert [body["event"] for _, body in hooks.received] == [
        "PAYMENT_CREATED",
        "PAYMENT_CONFIRMED",
        "PAYMENT_RECEIVED",
    ]
    with pytest.raises(ValueError, match="nothing to receive"):
        await api.standin.receive_payment(payment["id"])


async def test_refunds_whole_and_partial_send_their_events(api: Api, hooks: Hooks) -> None:
    customer = await api.customer()
    whole = await api.payment(customer, billingType="PIX", value=80)
    part = await api.payment(customer, billingType="PIX", value=80)
    for payment in (whole, part):
        await api.standin.receive_payment(payment["id"])
    status, refunded = await api.call("POST", f"/v3/payments/{whole['id']}/refund")
    assert (status, refunded["status"]) == (200, "REFUNDED")
    status, partly = await api.call(
        "POST", f"/v3/payments/{part['id']}/refund", {"value": 30, "description": "Desconto"}
    )
    assert (status, partly["status"], partly["refunds"][0]["value"]) == (200, "RECEIVED", 30.0)
    status, body = await api.call("POST", f"/v3/payments/{part['id']}/refund", {"value": 50.01})
    assert (status, codes(body)) == (400, ["invalid_value"])
    await api.standin.webhooks_settled()
    events = [body["event"] for _, body in hooks.received]
    assert events[-2:] == ["PAYMENT_REFUNDED", "PAYMENT_PARTIALLY_REFUNDED"]


async def test_only_200_counts_as_delivered_and_an_event_can_come_twice(
    api: Api, hooks: Hooks
) -> None:
    hooks.answer = 204
    payment = await api.payment(await api.customer())
    await api.standin.webhooks_settled()
    first = api.standin.deliveries[0]
    assert (first.status, first.delivered) == (204, False)
    hooks.answer = 200
    await api.standin.redeliver(first.event["id"])
    assert api.standin.deliveries[-1].delivered
    ids = [body["id"] for _, body in hooks.received]
    assert ids == [first.event["id"], first.event["id"]]
    assert hooks.received[0][1]["payment"]["id"] == payment["id"]
