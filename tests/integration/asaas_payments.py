"""The Asaas stand-in's payment routes (tests/integration/asaas_standin.py): create, read,
list, update, delete and refund a payment, and read its boleto line and PIX QR code, as
docs/payments.md, "Asaas API v3: the contract assina relies on", describes them."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from datetime import date
from typing import Any

import segno
from aiohttp import web

from assina.core.clock import FrozenClock
from assina.rules import boleto, pix
from tests.integration import asaas_fields as check
from tests.integration.asaas_fields import FieldErrors
from tests.integration.asaas_model import (
    BILLING_TYPES,
    BOLETO_AGREEMENT,
    BOLETO_BANK,
    BOLETO_WALLET,
    LIST_FILTERS,
    LIST_UNSUPPORTED,
    PAYMENT_FIELDS,
    PAYMENT_UNSUPPORTED,
    PIX_CITY,
    PIX_MERCHANT,
    STATUSES,
    Payment,
    SavedCard,
    a_year_after,
    asaas_error,
    invalid,
    json_object,
    list_page,
    matches,
    not_found,
    query_int,
    random_slug,
    reais,
)

# What an update may make of a payment awaiting payment (a card one needs its card data).
UPDATABLE_TYPES = tuple(kind for kind in BILLING_TYPES if kind != "CREDIT_CARD")


class PaymentRoutes:
    """The payment routes of the stand-in (AsaasStandin inherits them); what they use of it
    is declared here."""

    url: str
    clock: FrozenClock
    pix_key: str
    customers: dict[str, dict[str, Any]]
    payments: dict[str, Payment]
    _sequence: int

    def today(self) -> date:
        raise NotImplementedError

    def _emit(self, event: str, payment: Payment) -> None:
        raise NotImplementedError

    def _now_text(self) -> str:
        raise NotImplementedError

    def _hold_or_confirm(self, payment: Payment) -> None:
        raise NotImplementedError

    def _card_for_payment(
        self, body: Mapping[str, Any], customer: str
    ) -> tuple[SavedCard | None, web.Response | None]:
        raise NotImplementedError

    def add_payment_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v3/payments", self._create_payment)
        router.add_get("/v3/payments", self._list_payments)
        router.add_get("/v3/payments/{id}", self._get_payment)
        router.add_put("/v3/payments/{id}", self._update_payment)
        router.add_delete("/v3/payments/{id}", self._delete_payment)
        router.add_post("/v3/payments/{id}/refund", self._refund_payment)
        router.add_get("/v3/payments/{id}/identificationField", self._identification_field)
        router.add_get("/v3/payments/{id}/pixQrCode", self._pix_qr_code)

    async def _create_payment(self, request: web.Request) -> web.Response:
        body, errors = await json_object(request)
        if body is None:
            return invalid(errors)
        check.only_known_fields(body, errors, known=PAYMENT_FIELDS, unsupported=PAYMENT_UNSUPPORTED)
        customer = body.get("customer")
        if not isinstance(customer, str) or customer not in self.customers:
            errors.add("invalid_customer", "Customer inválido ou não informado.")
        billing_type = check.one_of(body, "billingType", BILLING_TYPES, errors)
        value, due, description, reference = self._payment_terms(body, errors)
        card_fields = ("creditCard", "creditCardHolderInfo", "creditCardToken", "remoteIp")
        pays_now = any(body.get(name) is not None for name in card_fields)
        if pays_now and billing_type not in (None, "CREDIT_CARD"):
            errors.add("invalid_billingType", "Dados de cartão só com billingType CREDIT_CARD.")
        if errors:
            return invalid(errors)
        assert isinstance(customer, str) and billing_type and value and due
        card: SavedCard | None = None
        if pays_now:
            card, refusal = self._card_for_payment(body, customer)
            if refusal is not None:
                return refusal
        self._sequence += 1
        payment = Payment(
            id=f"pay_{random_slug()}",
            customer=customer,
            billing_type=billing_type,
            value=value,
            due_date=due,
            date_created=self.today(),
            sequence=self._sequence,
            description=description,
            external_reference=reference,
        )
        self.payments[payment.id] = payment
        self._emit("PAYMENT_CREATED", payment)
        if card is not None:
            payment.card = card
            self._hold_or_confirm(payment)
        return web.json_response(payment.to_json(self.url))

    async def _get_payment(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["id"])
        if payment is None:
            return not_found("Cobrança")
        return web.json_response(payment.to_json(self.url))

    def _payment_terms(
        self, body: Mapping[str, Any], errors: FieldErrors
    ) -> tuple[int | None, date | None, str | None, str | None]:
        """What a creation and an update check alike: value, due date (not past),
        description, external reference and the boleto's optional fields."""
        value = check.money(body, "value", errors, required=True)
        due = check.calendar_date(body, "dueDate", errors, required=True)
        if due is not None and due < self.today():
            errors.add("invalid_dueDate", "Não é permitido data de vencimento inferior a hoje.")
        description = check.optional_text(body, "description", errors, max_length=500)
        reference = check.optional_text(body, "externalReference", errors)
        check.optional_int(body, "daysAfterDueDateToRegistrationCancellation", errors)
        check.optional_bool(body, "postalService", errors)
        return value, due, description, reference

    async def _update_payment(self, request: web.Request) -> web.Response:
        """PUT /v3/payments/{id} (ref "Update existing payment"): `billingType`, `value` and
        `dueDate` required, the others of a creation optional; only a payment awaiting
        payment or overdue, and never into a card payment (that takes card data)."""
        payment = self.payments.get(request.match_info["id"])
        if payment is None or payment.deleted:
            return not_found("Cobrança")
        body, errors = await json_object(request)
        if body is None:
            return invalid(errors)
        known = ("billingType", "value", "dueDate", "description", "externalReference")
        check.only_known_fields(
            body,
            errors,
            known=(*known, "daysAfterDueDateToRegistrationCancellation", "postalService"),
            unsupported=PAYMENT_UNSUPPORTED,
        )
        billing_type = check.one_of(body, "billingType", UPDATABLE_TYPES, errors)
        value, due, description, reference = self._payment_terms(body, errors)
        if errors:
            return invalid(errors)
        if payment.status not in ("PENDING", "OVERDUE"):
            return asaas_error(
                400, "invalid_action", f"Uma cobrança {payment.status} não pode ser alterada."
            )
        assert billing_type and value and due
        payment.billing_type, payment.value, payment.due_date = billing_type, value, due
        if "description" in body:
            payment.description = description
        if "externalReference" in body:
            payment.external_reference = reference
        self._emit("PAYMENT_UPDATED", payment)
        return web.json_response(payment.to_json(self.url))

    async def _delete_payment(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["id"])
        if payment is None or payment.deleted:
            return not_found("Cobrança")
        if payment.status not in ("PENDING", "OVERDUE"):
            return asaas_error(
                400, "invalid_action", f"Uma cobrança {payment.status} não pode ser removida."
            )
        payment.deleted = True
        self._emit("PAYMENT_DELETED", payment)
        return web.json_response({"deleted": True, "id": payment.id})

    async def _refund_payment(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["id"])
        if payment is None or payment.deleted:
            return not_found("Cobrança")
        body: Mapping[str, Any] = {}
        errors = FieldErrors()
        if await request.text():
            parsed, errors = await json_object(request)
            if parsed is None:
                return invalid(errors)
            body = parsed
        check.only_known_fields(body, errors, known=("value", "description"))
        value = check.money(body, "value", errors, required=False)
        description = check.optional_text(body, "description", errors)
        if errors:
            return invalid(errors)
        if payment.status not in ("RECEIVED", "CONFIRMED"):
            return asaas_error(
                400, "invalid_action", f"Uma cobrança {payment.status} não pode ser estornada."
            )
        if payment.billing_type == "BOLETO":
            # Asaas refunds a boleto through a bank-details flow the stand-in does not model.
            return asaas_error(
                400, "standin_unsupported_refund", "O stand-in não simula estorno de boleto."
            )
        remaining = payment.value - payment.refunded
        amount = remaining if value is None else value
        if amount > remaining:
            return asaas_error(400, "invalid_value", "Valor do estorno maior que o disponível.")
        payment.refunds.append(
            {
                "dateCreated": self._now_text(),
                "status": "DONE",
                "value": reais(amount),
                "description": description,
            }
        )
        full = amount == remaining
        if full:
            payment.status = "REFUNDED"
        self._emit("PAYMENT_REFUNDED" if full else "PAYMENT_PARTIALLY_REFUNDED", payment)
        return web.json_response(payment.to_json(self.url))

    async def _identification_field(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["id"])
        if payment is None or payment.deleted:
            return not_found("Cobrança")
        if payment.billing_type not in ("BOLETO", "UNDEFINED"):
            return asaas_error(400, "invalid_billingType", "A cobrança não é um boleto.")
        free = boleto.banco_do_brasil_free_field(
            agreement=BOLETO_AGREEMENT, our_number=payment.nosso_numero, wallet=BOLETO_WALLET
        )
        code = boleto.barcode(
            bank_code=BOLETO_BANK, amount=payment.value, due=payment.due_date, free_field=free
        )
        return web.json_response(
            {
                "identificationField": boleto.digitable_line(code, formatted=False),
                "nossoNumero": payment.nosso_numero,
                "barCode": code,
            }
        )

    async def _pix_qr_code(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["id"])
        if payment is None or payment.deleted:
            return not_found("Cobrança")
        if payment.billing_type not in ("PIX", "BOLETO", "UNDEFINED"):
            return asaas_error(400, "invalid_billingType", "A cobrança não aceita Pix.")
        payload = pix.pix_code(
            key=self.pix_key,
            merchant_name=PIX_MERCHANT,
            merchant_city=PIX_CITY,
            amount=payment.value,
            txid=payment.id,
        )
        image = io.BytesIO()
        segno.make_qr(payload, error="m", boost_error=False).save(image, kind="png", scale=4)
        return web.json_response(
            {
                "encodedImage": base64.b64encode(image.getvalue()).decode("ascii"),
                "payload": payload,
                # "The QR Code expires 12 months after the due date."
                "expirationDate": f"{a_year_after(payment.due_date).isoformat()} 23:59:59",
                "description": payment.description or "",
            }
        )

    async def _list_payments(self, request: web.Request) -> web.Response:
        query = request.query
        errors = FieldErrors()
        check.only_known_fields(
            query, errors, known=(*LIST_FILTERS, "offset", "limit"), unsupported=LIST_UNSUPPORTED
        )
        offset = query_int(query, "offset", 0, errors, maximum=None)
        limit = query_int(query, "limit", 10, errors, maximum=100)
        for name in ("billingType", "status"):
            allowed = BILLING_TYPES if name == "billingType" else STATUSES
            if name in query:
                check.one_of(query, name, allowed, errors)
        bounds = {
            name: check.parse_date(query[name])
            for name in LIST_FILTERS
            if "[" in name and name in query
        }
        for name, parsed in bounds.items():
            if parsed is None:
                errors.add(f"invalid_{name}", f"O filtro {name} deve ser AAAA-MM-DD.")
        if errors:
            return invalid(errors)
        matching = [
            p.to_json(self.url) for p in self.payments.values() if matches(p, query, bounds)
        ]
        return web.json_response(list_page(matching, offset, limit))
