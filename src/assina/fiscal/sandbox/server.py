"""The sandbox fiscal issuer: a small remote issuer on loopback, so that assina's calls cross
real HTTP (timeouts, retries, idempotency keys) as they do with a real one. Started on
demand beside the payments sandbox, reached with the same per-tenant account key
(payments/sandbox/signing.py).

Its API (JSON; `Authorization: Bearer <account key>`):

- `POST /v1/invoices {reference, idempotency_key, emitter_cnpj, municipality_code, amount,
  service_description, requested_at}`: an invoice received, `pending` (201; the same key
  again answers the same invoice, 200).
- `GET /v1/invoices/{id}`: where it stands. The first look-up decides a pending invoice:
  `issued` with the tenant's next number (gap-free, per tenant), a verification code and the
  50-digit access key (homologação environment), at the DPS's time; or `rejected` when its
  service description holds `REJEITAR` (any case) or its amount is 666 centavos (R$ 6,66),
  the documented way for tests to see a rejection.
- `POST /v1/invoices/{id}/cancel {reason}`: an issued invoice cancelled at once (again:
  the same answer); any other is refused (409).
"""

from __future__ import annotations

import asyncio
import secrets
import string
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from assina.core.clock import Clock
from assina.core.money import MAX_AMOUNT
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.db.dialect import insert_on_conflict
from assina.fiscal.sandbox.models import SandboxFiscalInvoice
from assina.payments.sandbox.refusals import Refusal, json_object, refusal_response
from assina.payments.sandbox.signing import tenant_of_account_key
from assina.rules.fiscal import HOMOLOGATION, access_key, is_valid_municipality_code
from assina.tenants.counters import Counter, next_value

REJECTING_WORD = "rejeitar"
REJECTED_AMOUNT = 666
VERIFICATION_ALPHABET = string.ascii_uppercase + string.digits
PENDING, ISSUED, REJECTED, CANCELLED = "pending", "issued", "rejected", "cancelled"


class SandboxFiscalIssuer:
    """The issuer's server on 127.0.0.1 (an ephemeral port), started on first use."""

    def __init__(self, database: Database, box: SecretBox, clock: Clock) -> None:
        self._database = database
        self._box = box
        self._clock = clock
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._starting = asyncio.Lock()

    async def url(self) -> str:
        async with self._starting:
            if self._url is None:
                app = web.Application(client_max_size=64 * 1024)
                app.router.add_post("/v1/invoices", self._receive)
                app.router.add_get("/v1/invoices/{invoice_id}", self._look_up)
                app.router.add_post("/v1/invoices/{invoice_id}/cancel", self._cancel)
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                self._runner = runner
                self._url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            return self._url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._url = None

    def _account(self, request: web.Request) -> str:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        tenant_id = tenant_of_account_key(self._box, key.strip()) if scheme == "Bearer" else None
        if tenant_id is None:
            raise Refusal(401, "unauthorized", "unknown account key")
        return tenant_id

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
            fields = _invoice_fields(await json_object(request))
        except Refusal as refusal:
            return refusal_response(refusal)
        values = {
            "id": f"nfsx_{secrets.token_hex(10)}",
            "tenant_id": tenant_id,
            "status": PENDING,
            "looked_up": 0,
            **fields,
        }
        async with self._database.write() as session:
            made = await session.scalar(
                insert_on_conflict(session, SandboxFiscalInvoice)
                .values(**values)
                .on_conflict_do_nothing(
                    index_elements=[
                        SandboxFiscalInvoice.tenant_id,
                        SandboxFiscalInvoice.idempotency_key,
                    ]
                )
                .returning(SandboxFiscalInvoice.id)
            )
            row = await session.scalar(
                select(SandboxFiscalInvoice).where(
                    SandboxFiscalInvoice.tenant_id == tenant_id,
                    SandboxFiscalInvoice.idempotency_key == fields["idempotency_key"],
                )
            )
            assert row is not None  # noqa: S101 (made now or before, under this key)
            return web.json_response(_shown(row), status=201 if made else 200)

    async def _look_up(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
        except Refusal as refusal:
            return refusal_response(refusal)
        async with self._database.write() as session:
            row = await _locked(session, tenant_id, request.match_info["invoice_id"])
            if row is None:
                return refusal_response(Refusal(404, "not_found", "no such invoice"))
            row.looked_up += 1
            if row.status == PENDING:
                await _decide(session, row)
            return web.json_response(_shown(row))

    async def _cancel(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
            reason = (await json_object(request)).get("reason")
            if not isinstance(reason, str) or not 15 <= len(reason) <= 255:
                raise Refusal(400, "invalid_request", "reason must be 15 to 255 characters")
        except Refusal as refusal:
            return refusal_response(refusal)
        async with self._database.write() as session:
            row = await _locked(session, tenant_id, request.match_info["invoice_id"])
            if row is None:
                return refusal_response(Refusal(404, "not_found", "no such invoice"))
            if row.status not in (ISSUED, CANCELLED):
                not_issued = Refusal(409, "not_issued", f"the invoice is {row.status}")
                return refusal_response(not_issued)
            if row.status == ISSUED:
                row.status, row.reason = CANCELLED, reason
                row.cancelled_at = self._clock.real_now()
            return web.json_response(_shown(row))


async def _locked(session: Any, tenant_id: str, invoice_id: str) -> SandboxFiscalInvoice | None:
    found: SandboxFiscalInvoice | None = await session.scalar(
        select(SandboxFiscalInvoice)
        .where(SandboxFiscalInvoice.tenant_id == tenant_id, SandboxFiscalInvoice.id == invoice_id)
        .with_for_update()
    )
    return found


async def _decide(session: Any, row: SandboxFiscalInvoice) -> None:
    """The pending invoice issued (the tenant's next number, in the look-up's transaction:
    no gap) or rejected."""
    if REJECTING_WORD in row.service_description.lower() or row.amount == REJECTED_AMOUNT:
        row.status = REJECTED
        row.reason = "E0001: rejeitada pelo emissor de testes (sandbox), como pedido"
        return
    number = await next_value(session, row.tenant_id, Counter.SANDBOX_NFSE_NUMBER)
    issued_at = row.created_at
    row.status = ISSUED
    row.number = number
    row.issued_at = issued_at
    row.verification_code = "".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(8))
    row.access_key = access_key(
        row.municipality_code,
        HOMOLOGATION,
        row.emitter_cnpj,
        number,
        issued_at.year,
        issued_at.month,
        secrets.randbelow(10**9),
    )


def _invoice_fields(body: dict[str, Any]) -> dict[str, Any]:
    texts = {}
    for name, longest in (("reference", 64), ("idempotency_key", 128)):
        value = body.get(name)
        if not isinstance(value, str) or not 0 < len(value) <= longest:
            raise Refusal(400, "invalid_request", f"{name} must be a string")
        texts[name] = value
    cnpj, municipality = body.get("emitter_cnpj"), body.get("municipality_code")
    if not (isinstance(cnpj, str) and len(cnpj) == 14 and cnpj.isdigit()):
        raise Refusal(400, "invalid_request", "emitter_cnpj must be 14 digits")
    if not (isinstance(municipality, str) and is_valid_municipality_code(municipality)):
        raise Refusal(400, "invalid_request", "municipality_code must be an IBGE code")
    amount = body.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise Refusal(400, "invalid_request", "amount must be a positive integer")
    description = body.get("service_description")
    if not isinstance(description, str) or not 0 < len(description) <= 2000:
        raise Refusal(400, "invalid_request", "service_description must be 1 to 2000 characters")
    try:
        requested_at = datetime.fromisoformat(str(body.get("requested_at")))
    except ValueError as error:
        raise Refusal(400, "invalid_request", "requested_at must be RFC 3339") from error
    if requested_at.tzinfo is None:
        raise Refusal(400, "invalid_request", "requested_at needs a time zone")
    return {
        **texts,
        "emitter_cnpj": cnpj,
        "municipality_code": municipality,
        "amount": amount,
        "service_description": description,
        "created_at": requested_at,
    }


def _shown(row: SandboxFiscalInvoice) -> dict[str, Any]:
    return {
        "id": row.id,
        "reference": row.reference,
        "status": row.status,
        "number": row.number,
        "verification_code": row.verification_code,
        "access_key": row.access_key,
        "issued_at": row.issued_at.isoformat() if row.issued_at else None,
        "reason": row.reason,
        "cancelled_at": row.cancelled_at.isoformat() if row.cancelled_at else None,
    }
