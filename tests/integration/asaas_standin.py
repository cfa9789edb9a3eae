"""A local stand-in for the Asaas API v3, answering as its documentation shows.

An aiohttp application on 127.0.0.1 (port 0) with its state in memory: customers, payments
(BOLETO, PIX, CREDIT_CARD, UNDEFINED), card tokens, the webhook Asaas sends when a payment
changes, and invoices (notas fiscais, tests/integration/asaas_invoices.py, with the municipality
played by the stand-in). It checks every field of every request as the reference defines it
(tests/integration/asaas_fields.py) and answers a violation with 400 and Asaas's error shape; it
records every request it got (`requests`), so a test can assert what the adapter sent.

Test controls, not part of Asaas: `receive_payment` (the payer pays, the webhook goes out),
`webhooks_settled` (wait until every queued webhook was sent), `redeliver` (Asaas delivers "at
least once": the same event again), `analysing_cards` (card payments held for risk analysis)
and `decide_analysis` (one approved or refused, by webhook). docs/payments.md, "Asaas API v3:
the contract assina relies on", lists the source of each behaviour and what only a real
account can confirm.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from assina.core.clock import FrozenClock
from assina.rules.cards import card_brand, card_expired
from tests.integration import asaas_fields as check
from tests.integration.asaas_faults import Faults
from tests.integration.asaas_fields import FieldErrors
from tests.integration.asaas_invoices import DEFAULT_MUNICIPAL_SERVICES, Invoice, InvoiceRoutes
from tests.integration.asaas_model import (
    ANALYSIS_OUTCOMES,
    CARD_CREDIT_DAYS,
    CUSTOMER_FILTERS,
    CUSTOMER_TEXT_FIELDS,
    DEFAULT_EVENTS,
    REFUSED_CARDS,
    REFUSED_DESCRIPTION,
    SAO_PAULO,
    WEBHOOK_TOKEN_HEADER,
    Delivery,
    Payment,
    RecordedRequest,
    SavedCard,
    asaas_error,
    invalid,
    json_object,
    list_page,
    not_found,
    query_int,
)
from tests.integration.asaas_payments import PaymentRoutes


class AsaasStandin(PaymentRoutes, InvoiceRoutes):
    """The stand-in's state and its aiohttp application; `start()` before use."""

    def __init__(self, *, api_key: str, clock: FrozenClock) -> None:
        self.api_key = api_key
        self.clock = clock
        self.url = ""  # http://127.0.0.1:<port>, where https://api.asaas.com would be
        self.webhook_url: str | None = None
        self.webhook_token: str | None = None  # the webhook's "authToken"
        self.webhook_events: frozenset[str] = DEFAULT_EVENTS
        self.requests: list[RecordedRequest] = []
        self.faults = Faults()  # fail_next / hold_next: a test control, not Asaas's
        # Test control: while True, a card payment is AWAITING_RISK_ANALYSIS, not CONFIRMED.
        self.analysing_cards = False
        self.deliveries: list[Delivery] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, Payment] = {}
        self.cards: dict[str, SavedCard] = {}
        self.pix_key = str(uuid.UUID(int=0x5A5A))  # the account's PIX key, a random (EVP) one
        self.invoices: dict[str, Invoice] = {}
        # The account's municipality's service list (GET /v3/invoices/municipalServices).
        self.municipal_services = dict(DEFAULT_MUNICIPAL_SERVICES)
        # The municipality (test controls, asaas_invoices.py): when and how it decides.
        self.decide_invoices_on_read = True
        self.invoice_refusal: str | None = None
        self.cancellation_denial: str | None = None
        self._invoice_sequence = 0
        self._sequence = 0
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self._sender: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(
            middlewares=[self._record, self.faults.middleware, self._authenticate]
        )
        app.router.add_post("/v3/customers", self._create_customer)
        app.router.add_get("/v3/customers", self._list_customers)
        app.router.add_get("/v3/customers/{id}", self._get_customer)
        self.add_payment_routes(app.router)
        self.add_invoice_routes(app.router)
        # The reference's path, and the older one many clients still call.
        app.router.add_post("/v3/creditCard/tokenizeCreditCard", self._tokenize)
        app.router.add_post("/v3/creditCard/tokenize", self._tokenize)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        self._sender = asyncio.create_task(self._send_webhooks())

    async def stop(self) -> None:
        self.faults.release()
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def today(self) -> date:
        return self.clock.now().astimezone(SAO_PAULO).date()

    # --- test controls (not part of Asaas) ------------------------------------------------

    async def receive_payment(
        self,
        payment_id: str,
        *,
        value: int | None = None,
        on: date | None = None,
        billing_type: str = "BOLETO",
    ) -> dict[str, Any]:
        """The payer pays (`value` centavos, by default the payment's; more is interest paid
        after the due date) on `on` (by default today); the webhook goes out and this returns
        once it was sent. A boleto or PIX payment becomes RECEIVED (PAYMENT_RECEIVED); a card
        payment still PENDING is paid on the invoice and becomes CONFIRMED
        (PAYMENT_CONFIRMED), and a CONFIRMED one has its money credited: RECEIVED
        (PAYMENT_RECEIVED). An UNDEFINED payment takes `billing_type`, the way it was paid."""
        payment = self.payments[payment_id]
        day = on or self.today()
        open_statuses = ("PENDING", "OVERDUE")
        if payment.deleted:
            raise ValueError(f"{payment_id} was deleted")
        if payment.billing_type == "CREDIT_CARD" and payment.status in open_statuses:
            self._confirm_card(payment, day)
            event = "PAYMENT_CONFIRMED"
        elif payment.billing_type == "CREDIT_CARD" and payment.status == "CONFIRMED":
            payment.status, payment.payment_date, payment.credit_date = "RECEIVED", day, day
            event = "PAYMENT_RECEIVED"
        elif payment.status in open_statuses:
            if payment.billing_type == "UNDEFINED":
                payment.billing_type = billing_type
            if value is not None and value != payment.value:
                if value < payment.value:
                    raise ValueError("a boleto or PIX payment is paid in full, or with interest")
                payment.original_value, payment.value = payment.value, value
            payment.status = "RECEIVED"
            payment.confirmed_date = payment.payment_date = day
            payment.credit_date = payment.estimated_credit_date = day
            event = "PAYMENT_RECEIVED"
        else:
            raise ValueError(f"{payment_id} is {payment.status}: there is nothing to receive")
        self._emit(event, payment)
        await self.webhooks_settled()
        return payment.to_json(self.url)

    async def webhooks_settled(self) -> None:
        """Until every webhook queued so far was sent (and answered, or failed)."""
        await self._queue.join()

    async def redeliver(self, event_id: str) -> None:
        """Send an event already sent once again, as Asaas's "at least once" delivery may."""
        event = next(d.event for d in self.deliveries if d.event["id"] == event_id)
        self._queue.put_nowait(event)
        await self.webhooks_settled()

    async def decide_analysis(self, payment_id: str, *, event: str) -> None:
        """A card payment held for risk analysis decided by `event` (ANALYSIS_OUTCOMES), its
        webhooks sent; a refused one is left PENDING (a real account must confirm that)."""
        payment = self.payments[payment_id]
        if payment.status != "AWAITING_RISK_ANALYSIS" or event not in ANALYSIS_OUTCOMES:
            raise ValueError(f"{payment_id} is {payment.status}: nothing to decide by {event}")
        if event == "PAYMENT_CONFIRMED":
            self._confirm_card(payment, self.today())
            self._emit("PAYMENT_APPROVED_BY_RISK_ANALYSIS", payment)
        else:
            payment.status = "PENDING"
        self._emit(event, payment)
        await self.webhooks_settled()

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # --- middlewares ----------------------------------------------------------------------

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        text = await request.text()
        body: Any = None
        if text:
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=body,
            )
        )
        response: web.StreamResponse = await handler(request)
        return response

    @web.middleware
    async def _authenticate(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        # Only the API asks for the key, not the links it hands out (an NFS-e's PDF).
        key = request.headers.get("access_token")
        if request.path.startswith("/v3/") and key is None:
            return asaas_error(
                401, "invalid_access_token", "O cabeçalho access_token não foi informado."
            )
        if request.path.startswith("/v3/") and not secrets.compare_digest(
            (key or "").encode(), self.api_key.encode()
        ):
            return asaas_error(401, "invalid_access_token", "A chave de API fornecida é inválida")
        response: web.StreamResponse = await handler(request)
        return response

    # --- customers ------------------------------------------------------------------------

    async def _create_customer(self, request: web.Request) -> web.Response:
        body, errors = await json_object(request)
        if body is None:
            return invalid(errors)
        check.only_known_fields(
            body,
            errors,
            known=("name", "cpfCnpj", "email", "notificationDisabled", *CUSTOMER_TEXT_FIELDS),
        )
        name = check.required_text(body, "name", errors)
        document = check.cpf_cnpj(body, "cpfCnpj", errors)
        email = check.email(body, "email", errors, required=False, code="invalid_email")
        texts = {key: check.optional_text(body, key, errors) for key in CUSTOMER_TEXT_FIELDS}
        notifications_off = check.optional_bool(body, "notificationDisabled", errors)
        if errors:
            return invalid(errors)
        assert document is not None
        self._sequence += 1
        customer_id = f"cus_{self._sequence:012d}"
        customer = {
            "object": "customer",
            "id": customer_id,
            "dateCreated": self.today().isoformat(),
            "name": name,
            "email": email,
            **texts,
            "cpfCnpj": document,
            "personType": "FISICA" if len(document) == 11 else "JURIDICA",
            "deleted": False,
            "notificationDisabled": bool(notifications_off),
            "country": "Brasil",
        }
        self.customers[customer_id] = customer
        return web.json_response(customer)

    async def _list_customers(self, request: web.Request) -> web.Response:
        """GET /v3/customers: the reference's filters, exact matches, in creation order."""
        query, errors = request.query, FieldErrors()
        check.only_known_fields(query, errors, known=(*CUSTOMER_FILTERS, "offset", "limit"))
        offset = query_int(query, "offset", 0, errors, maximum=None)
        limit = query_int(query, "limit", 10, errors, maximum=100)
        if errors:
            return invalid(errors)
        matching = [
            customer
            for customer in self.customers.values()
            if all(customer.get(name) == query[name] for name in CUSTOMER_FILTERS if name in query)
        ]
        return web.json_response(list_page(matching, offset, limit))

    async def _get_customer(self, request: web.Request) -> web.Response:
        customer = self.customers.get(request.match_info["id"])
        return not_found("Cliente") if customer is None else web.json_response(customer)

    # --- cards ----------------------------------------------------------------------------

    async def _tokenize(self, request: web.Request) -> web.Response:
        body, errors = await json_object(request)
        if body is None:
            return invalid(errors)
        check.only_known_fields(
            body, errors, known=("customer", "creditCard", "creditCardHolderInfo", "remoteIp")
        )
        customer = body.get("customer")
        if not isinstance(customer, str) or customer not in self.customers:
            errors.add("invalid_customer", "Customer inválido ou não informado.")
        card = check.credit_card(body, errors)
        check.card_holder_info(body, errors)
        check.remote_ip(body, errors)
        if errors:
            return invalid(errors)
        assert isinstance(customer, str) and card is not None
        refusal = self._unusable_card(card)
        if refusal is not None:
            return refusal
        saved = self._save_card(customer, card)
        return web.json_response(saved.summary())

    def _card_for_payment(
        self, body: Mapping[str, Any], customer: str
    ) -> tuple[SavedCard | None, web.Response | None]:
        """The card a CREDIT_CARD payment is paid with now: a token of this customer's, or
        card and holder data (saved as a token too, which the payment's `creditCard`
        returns); the refusal to answer otherwise."""
        errors = FieldErrors()
        check.remote_ip(body, errors)
        token = body.get("creditCardToken")
        if token is not None:
            if body.get("creditCard") is not None or body.get("creditCardHolderInfo") is not None:
                errors.add("invalid_creditCard", "Informe creditCardToken ou os dados do cartão.")
            saved = self.cards.get(token) if isinstance(token, str) else None
            if saved is None or saved.customer != customer:
                errors.add("invalid_creditCardToken", "Token de cartão inválido para o cliente.")
            if errors or saved is None:
                return None, invalid(errors)
            return saved, self._unusable_card(saved)
        card = check.credit_card(body, errors)
        check.card_holder_info(body, errors)
        if errors or card is None:
            return None, invalid(errors)
        refusal = self._unusable_card(card)
        if refusal is not None:
            return None, refusal
        return self._save_card(customer, card), None

    def _unusable_card(self, card: check.CardData | SavedCard) -> web.Response | None:
        # No Luhn check: the sandbox guide's own approved example, 4444 4444 4444 4444, fails it.
        expired = card_expired(card.expiry_month, card.expiry_year, self.today())
        if expired or card.number in REFUSED_CARDS:
            return asaas_error(400, "invalid_creditCard", REFUSED_DESCRIPTION)
        return None

    def _save_card(self, customer: str, card: check.CardData) -> SavedCard:
        saved = SavedCard(
            customer=customer,
            token=str(uuid.uuid4()),
            number=card.number,
            brand=card_brand(card.number).value.upper(),
            expiry_month=card.expiry_month,
            expiry_year=card.expiry_year,
        )
        self.cards[saved.token] = saved
        return saved

    def _hold_or_confirm(self, payment: Payment) -> None:
        if self.analysing_cards:
            payment.status = "AWAITING_RISK_ANALYSIS"
            self._emit("PAYMENT_AWAITING_RISK_ANALYSIS", payment)
            return
        self._confirm_card(payment, self.today())
        self._emit("PAYMENT_CONFIRMED", payment)

    def _confirm_card(self, payment: Payment, day: date) -> None:
        payment.status, payment.confirmed_date = "CONFIRMED", day
        payment.estimated_credit_date = day + timedelta(days=CARD_CREDIT_DAYS)

    # --- webhooks -------------------------------------------------------------------------

    def _now_text(self) -> str:
        return self.clock.now().astimezone(SAO_PAULO).strftime("%Y-%m-%d %H:%M:%S")

    def _emit(self, event: str, payment: Payment) -> None:
        if self.webhook_url is None or event not in self.webhook_events:
            return
        self._queue.put_nowait(
            {
                "id": f"evt_{uuid.uuid4().hex}&{len(self.deliveries) + self._queue.qsize() + 1}",
                "event": event,
                "dateCreated": self._now_text(),
                "payment": payment.to_json(self.url),
            }
        )

    async def _send_webhooks(self) -> None:
        """One event at a time, in order: Asaas's "sequential" webhook mode."""
        assert self._http is not None
        while True:
            event = await self._queue.get()
            headers = {"Content-Type": "application/json"}
            if self.webhook_token is not None:
                headers[WEBHOOK_TOKEN_HEADER] = self.webhook_token
            status: int | None = None
            try:
                if self.webhook_url is not None:  # a test may have taken it away since
                    async with self._http.post(
                        self.webhook_url, data=json.dumps(event), headers=headers
                    ) as answer:
                        status = answer.status
            except (aiohttp.ClientError, TimeoutError):
                status = None
            finally:
                self.deliveries.append(Delivery(event=event, headers=headers, status=status))
                self._queue.task_done()


# --- the fixture --------------------------------------------------------------------------

STANDIN_API_KEY = "$aact_standin_0000000000000000"
STANDIN_NOW = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo


@pytest.fixture
async def asaas_standin() -> AsyncIterator[AsaasStandin]:
    """The stand-in, started, with the key STANDIN_API_KEY and its clock at STANDIN_NOW; set
    `webhook_url` (and `webhook_token`) to receive its webhooks."""
    standin = AsaasStandin(api_key=STANDIN_API_KEY, clock=FrozenClock(STANDIN_NOW))
    await standin.start()
    yield standin
    await standin.stop()
