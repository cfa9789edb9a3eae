"""The sandbox payment provider: a small remote provider that listens on loopback, so that
assina's calls to it cross real HTTP (timeouts, retries, idempotency keys) and its payment
notifications come back to assina's inbound route signed, as a real provider's do.

Its API (JSON; `Authorization: Bearer <account key>`, signing.py):

- `POST /v1/payments {charge_id, method, amount, paid_at, notification_url, idempotency_key}`:
  the payer paid (boleto or PIX). Recorded once per idempotency key, then notified.
- `GET /v1/payments?received_since=<RFC 3339>`: the payments received since then, for
  reconciliation.
- `POST /v1/cards {number, exp_month, exp_year, cvc, holder_name}`: a card token, or 402 with
  the decline code of a test card the sandbox refuses to keep. The token names how the card
  behaves (like Stripe's `tok_chargeDeclined`) and what may be shown of it, so the sandbox
  keeps no card at all: `tok_sbx_<behaviour>_<brand>.<last4>.<MMYYYY>.<random>`.
- `GET /v1/cards/{token}`: what a token says of its card `{token, brand, last4, exp_month,
  exp_year}` (404 for a token the sandbox did not make), so that assina can save a card from a
  token made in the payer's browser without ever seeing its number.
- `POST /v1/card-payments {card_token, charge_id, amount, paid_at, notification_url,
  idempotency_key}`: one charge of a card: approved, declined, or processing (approved a few
  seconds later by a notification).
- PIX charges and registered boletos: charges.py (`/v1/pix-charges`, `/v1/boletos`).

A received PIX payment's notification is keyed on its end-to-end id (`notification_event_id`).
Notifications (`payment.received`, `payment.declined`) go to the payment's notification URL at
once, then again after each of `notify_delays` while the answer is not a 2xx; one that is
never delivered is found by reconciliation. Its state is its own tables
(`sandbox_provider_payments`, `sandbox_provider_charges`), which assina's side never reads.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from assina.core.clock import Clock
from assina.core.money import MAX_AMOUNT
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.db.dialect import insert_on_conflict
from assina.payments.sandbox import charges
from assina.payments.sandbox.models import SandboxCharge, SandboxPayment
from assina.payments.sandbox.refusals import Refusal, json_object, refusal_response
from assina.payments.sandbox.signing import (
    SIGNATURE_HEADER,
    notification_event_id,
    notification_secret,
    sign,
    tenant_of_account_key,
)
from assina.rules.cards import (
    DECLINE_MESSAGES,
    CardBrand,
    ChargeOutcome,
    DeclineCode,
    card_brand,
    card_expired,
    card_number_digits,
    last4,
    sandbox_card,
)

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web

DEFAULT_NOTIFY_DELAYS = (1.0, 5.0, 30.0)
DEFAULT_PROCESSING_SECONDS = 3.0
NOTIFY_TIMEOUT_SECONDS = 10.0
TOKEN_PREFIX = "tok_sbx_"  # noqa: S105 (a prefix, not a secret)
MAX_LISTED = 1000


class SandboxProvider:
    """The provider's server, started on demand on 127.0.0.1 (an ephemeral port unless
    `port` is given) and stopped with `stop`."""

    def __init__(
        self,
        database: Database,
        box: SecretBox,
        clock: Clock,
        *,
        port: int = 0,
        notify_delays: Sequence[float] = DEFAULT_NOTIFY_DELAYS,
        processing_seconds: float = DEFAULT_PROCESSING_SECONDS,
    ) -> None:
        self._database = database
        self._box = box
        self._clock = clock
        self._port = port
        self._notify_delays = tuple(notify_delays)
        self.processing_seconds = processing_seconds  # how long "processing" takes (tests: 0)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._starting = asyncio.Lock()
        # Test control: while False, notifications are not sent (a lost notification).
        self.notifying = True
        # Test control: the next this many card charges are made, but their answer is lost
        # (a 502 after the payment is recorded, as a timeout would lose it).
        self.losing_card_answers = 0

    async def url(self) -> str:
        """The base URL it answers on, starting it the first time."""
        async with self._starting:
            if self._url is None:
                await self._start()
            assert self._url is not None  # noqa: S101 (set by _start)
            return self._url

    async def _start(self) -> None:
        # aiohttp (~0.3 s to import) once the sandbox is first called, not by every process
        # that holds a ProviderConnections (`assina billing run`).
        import aiohttp
        from aiohttp import web

        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/v1/payments", self._record_payment)
        app.router.add_get("/v1/payments", self._list_payments)
        app.router.add_post("/v1/cards", self._tokenize_card)
        app.router.add_get("/v1/cards/{token}", self._describe_card)
        app.router.add_post("/v1/card-payments", self._charge_card)
        app.router.add_post("/v1/payments/{payment_id}/refund", self._refund)
        app.router.add_post("/v1/pix-charges", self._create_pix_charge)
        app.router.add_get("/v1/pix-charges/{charge_id}", self._look_up_pix_charge)
        app.router.add_post("/v1/boletos", self._register_boleto)
        app.router.add_post("/v1/boletos/{charge_id}/cancel", self._cancel_boleto)
        app.router.add_post("/v1/pix-charges/{charge_id}/cancel", self._cancel_pix_charge)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        await site.start()
        port = runner.addresses[0][1]
        self._runner = runner
        self._url = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=NOTIFY_TIMEOUT_SECONDS)
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._http = self._url = None

    async def notifications_settled(self) -> None:
        """Wait until every notification under way was delivered or gave up (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- requests -----------------------------------------------------------------------------

    def _account(self, request: web.Request) -> str:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        tenant_id = tenant_of_account_key(self._box, key.strip()) if scheme == "Bearer" else None
        if tenant_id is None:
            raise Refusal(401, "unauthorized", "unknown account key")
        return tenant_id

    async def _json(self, request: web.Request) -> dict[str, Any]:
        return await json_object(request)

    async def _record_payment(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
            body = await self._json(request)
            fields = _payment_fields(body, methods={"boleto", "pix"})
        except Refusal as refusal:
            return refusal_response(refusal)
        end_to_end = _end_to_end_id(self._clock) if fields["method"] == "pix" else None
        row = await self._insert_once(tenant_id, fields, status="received", e2e=end_to_end)
        if end_to_end is not None and row.end_to_end_id == end_to_end:  # made now
            async with self._database.write() as session:
                await charges.pay_pix_charge(session, tenant_id, row.charge_id, row.id)
        self._notify_later(row.id)
        return _answer(_shown(row), status=201)

    async def _create_pix_charge(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
            fields = charges.charge_fields(await self._json(request))
        except Refusal as refusal:
            return refusal_response(refusal)
        shown, made = await charges.create_pix_charge(
            self._database, self._clock, tenant_id, fields
        )
        return _answer(shown, status=201 if made else 200)

    async def _look_up_pix_charge(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
            shown = await charges.find_charge(
                self._database, tenant_id, request.match_info["charge_id"], "pix"
            )
        except Refusal as refusal:
            return refusal_response(refusal)
        if shown["payment_id"] is not None:
            async with self._database.read() as session:
                payment = await session.get(SandboxPayment, shown["payment_id"])
                shown["payment"] = _shown(payment) if payment is not None else None
        return _answer(shown)

    async def _register_boleto(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
            fields = charges.charge_fields(await self._json(request))
            shown, made = await charges.register_boleto(
                self._database, self._clock, tenant_id, fields
            )
        except Refusal as refusal:
            return refusal_response(refusal)
        return _answer(shown, status=201 if made else 200)

    async def _cancel_boleto(self, request: web.Request) -> web.Response:
        return await self._cancel(request, "boleto")

    async def _cancel_pix_charge(self, request: web.Request) -> web.Response:
        return await self._cancel(request, "pix")

    async def _cancel(self, request: web.Request, kind: str) -> web.Response:
        try:
            tenant_id = self._account(request)
            shown = await charges.cancel_charge(
                self._database, tenant_id, request.match_info["charge_id"], kind
            )
        except Refusal as refusal:
            return refusal_response(refusal)
        return _answer(shown)

    async def _list_payments(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
            since = _datetime(request.query.get("received_since", ""), "received_since")
        except Refusal as refusal:
            return refusal_response(refusal)
        async with self._database.read() as session:
            rows = await session.scalars(
                select(SandboxPayment)
                .where(
                    SandboxPayment.tenant_id == tenant_id,
                    SandboxPayment.status == "received",
                    SandboxPayment.created_at >= since,
                )
                .order_by(SandboxPayment.created_at, SandboxPayment.id)
                .limit(MAX_LISTED)
            )
            shown = [_shown(row) for row in rows]
        return _answer({"data": shown})

    async def _tokenize_card(self, request: web.Request) -> web.Response:
        try:
            self._account(request)
            token = _card_token(await self._json(request), self._clock)
        except Refusal as refusal:
            return refusal_response(refusal)
        return _answer(token, status=201)

    async def _describe_card(self, request: web.Request) -> web.Response:
        try:
            self._account(request)
            card = _card_of_token(request.match_info["token"])
        except Refusal as refusal:
            return refusal_response(refusal)
        return _answer(card)

    async def _charge_card(self, request: web.Request) -> web.Response:
        try:
            tenant_id = self._account(request)
            body = await self._json(request)
            behaviour = _token_behaviour(body.get("card_token"))
            fields = _payment_fields({**body, "method": "card"}, methods={"card"})
        except Refusal as refusal:
            return refusal_response(refusal)
        if behaviour == ChargeOutcome.APPROVED.value:
            row = await self._insert_once(tenant_id, fields, status="received")
        elif behaviour == ChargeOutcome.PROCESSING.value:
            row = await self._insert_once(tenant_id, fields, status="processing")
            self._approve_later(row.id)
        else:
            row = await self._insert_once(tenant_id, fields, status="declined", decline=behaviour)
        if self.losing_card_answers > 0:
            self.losing_card_answers -= 1
            return refusal_response(Refusal(502, "answer_lost", "the answer was lost"))
        return _answer(_shown(row), status=201)

    async def _refund(self, request: web.Request) -> web.Response:
        """The whole payment given back (a refund of a refunded payment changes nothing)."""
        try:
            tenant_id = self._account(request)
        except Refusal as refusal:
            return refusal_response(refusal)
        async with self._database.write() as session:
            row = await session.scalar(
                select(SandboxPayment).where(
                    SandboxPayment.tenant_id == tenant_id,
                    SandboxPayment.id == request.match_info["payment_id"],
                )
            )
            if row is None or row.status not in {"received", "refunded"}:
                return refusal_response(Refusal(404, "not_found", "no received payment"))
            row.status = "refunded"
            shown = _shown(row)
        return _answer(shown)

    async def _insert_once(
        self,
        tenant_id: str,
        fields: dict[str, Any],
        *,
        status: str,
        e2e: str | None = None,
        decline: str | None = None,
    ) -> SandboxPayment:
        """The payment for this idempotency key: a new one, or the one recorded before (one
        INSERT … ON CONFLICT DO NOTHING RETURNING; a SELECT only for a repeated key)."""
        values = {
            "id": f"spay_{secrets.token_hex(10)}",
            "tenant_id": tenant_id,
            "status": status,
            "end_to_end_id": e2e,
            "decline_code": decline,
            "paid_at": fields["paid_at"] if status != "declined" else None,
            "notified_at": None,
            "created_at": self._clock.real_now(),
            **{key: fields[key] for key in _STORED_FIELDS},
        }
        async with self._database.write() as session:
            statement = (
                insert_on_conflict(session, SandboxPayment)
                .values(**values)
                .on_conflict_do_nothing(
                    index_elements=[SandboxPayment.tenant_id, SandboxPayment.idempotency_key]
                )
                .returning(SandboxPayment.id)
            )
            if (await session.execute(statement)).scalar_one_or_none() is not None:
                return SandboxPayment(**values)
            found = await session.scalar(
                select(SandboxPayment).where(
                    SandboxPayment.tenant_id == tenant_id,
                    SandboxPayment.idempotency_key == fields["idempotency_key"],
                )
            )
            assert found is not None  # noqa: S101 (the conflict was on this key)
            return found

    # --- notifications ------------------------------------------------------------------------

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify_later(self, payment_id: str) -> None:
        self._spawn(self._notify(payment_id))

    def _approve_later(self, payment_id: str) -> None:
        self._spawn(self._approve(payment_id))

    async def _approve(self, payment_id: str) -> None:
        await asyncio.sleep(self.processing_seconds)  # the issuer takes its time
        async with self._database.write() as session:
            row = await session.get(SandboxPayment, payment_id)
            if row is None or row.status != "processing":
                return
            row.status = "received"
            row.paid_at = _later(row.created_at, row.paid_at, self._clock.real_now())
            row.created_at = self._clock.real_now()  # received now: reconciliation sees it
        await self._notify(payment_id)

    async def _notify(self, payment_id: str) -> None:
        for delay in (0.0, *self._notify_delays):
            await asyncio.sleep(delay)
            if not self.notifying:
                return
            if await self._send_notification(payment_id):
                return

    async def _send_notification(self, payment_id: str) -> bool:
        async with self._database.read() as session:
            row = await session.get(SandboxPayment, payment_id)
            if row is None or row.notification_url is None or self._http is None:
                return True
            url, tenant_id = row.notification_url, row.tenant_id
            paid = await session.scalar(
                select(SandboxCharge).where(
                    SandboxCharge.tenant_id == tenant_id, SandboxCharge.payment_id == row.id
                )
            )
            body = json.dumps(_notification(row, paid), separators=(",", ":")).encode()
        stamp = int(self._clock.real_now().timestamp())
        secret = notification_secret(self._box, tenant_id)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, stamp, body)}
        import aiohttp

        try:
            async with self._http.post(url, data=body, headers=headers) as answer:
                delivered = 200 <= answer.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False
        if delivered:
            async with self._database.write() as session:
                await session.execute(
                    update(SandboxPayment)
                    .where(SandboxPayment.id == payment_id)
                    .values(notified_at=self._clock.real_now())
                )
        return delivered


def _answer(body: Any, status: int = 200) -> web.Response:
    from aiohttp import web  # imported by _start, before any request

    return web.json_response(body, status=status)


_STORED_FIELDS = ("idempotency_key", "charge_id", "method", "amount", "notification_url")


def _later(created_at: datetime, paid_at: datetime | None, now: datetime) -> datetime | None:
    # A processing payment is paid when it is approved: as much later as the approval took.
    if paid_at is None:
        return None
    return paid_at + max(now - created_at, timedelta(0))


def _shown(row: SandboxPayment) -> dict[str, Any]:
    return {
        "id": row.id,
        "charge_id": row.charge_id,
        "method": row.method,
        "status": row.status,
        "amount": row.amount,
        "paid_at": row.paid_at.isoformat() if row.paid_at else None,
        "end_to_end_id": row.end_to_end_id,
        "decline_code": row.decline_code,
        "message": DECLINE_MESSAGES[DeclineCode(row.decline_code)] if row.decline_code else None,
    }


def _notification(row: SandboxPayment, paid: SandboxCharge | None) -> dict[str, Any]:
    """A payment's notification. A PIX payment's id is its end-to-end id (one per transfer,
    what a PSP's notification is keyed on), with the PIX charge it paid, if any."""
    kind = "payment.received" if row.status == "received" else "payment.declined"
    data = _shown(row)
    if paid is not None:
        data |= {"pix_charge_id": paid.id, "txid": paid.txid}
    return {"id": notification_event_id(data), "type": kind, "data": data}


def _end_to_end_id(clock: Clock) -> str:
    # E + the payer's institution (8 digits) + yyyyMMddHHmm + 11 characters: 32 in all (BCB).
    stamp = clock.real_now().strftime("%Y%m%d%H%M")
    return f"E00000000{stamp}{secrets.token_hex(6)[:11]}"


def _datetime(text: object, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError as error:
        raise Refusal(400, "invalid_request", f"{name} is not an RFC 3339 time") from error
    if value.tzinfo is None:
        raise Refusal(400, "invalid_request", f"{name} needs a time zone")
    return value


def _payment_fields(body: dict[str, Any], *, methods: set[str]) -> dict[str, Any]:
    method = body.get("method")
    if method not in methods:
        raise Refusal(400, "invalid_request", f"method must be one of {sorted(methods)}")
    amount = body.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise Refusal(400, "invalid_request", f"amount must be an integer from 1 to {MAX_AMOUNT}")
    texts = {}
    for name in ("charge_id", "idempotency_key"):
        value = body.get(name)
        if not isinstance(value, str) or not 0 < len(value) <= 128:
            raise Refusal(400, "invalid_request", f"{name} must be a string")
        texts[name] = value
    url = body.get("notification_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise Refusal(400, "invalid_request", "notification_url must be an http(s) URL")
    return {
        **texts,
        "method": method,
        "amount": amount,
        "paid_at": _datetime(body.get("paid_at"), "paid_at"),
        "notification_url": url,
    }


def _card_token(body: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """A token for a card the sandbox keeps, or a Refusal: 400 for a malformed card, 402 for
    a test card the sandbox refuses to keep."""
    number = body.get("number")
    month, year = body.get("exp_month"), body.get("exp_year")
    if not isinstance(number, str) or not isinstance(month, int) or not isinstance(year, int):
        raise Refusal(400, "invalid_request", "number, exp_month and exp_year are required")
    try:
        behaviour = sandbox_card(number)
    except ValueError as error:
        raise Refusal(400, "invalid_number", str(error)) from error
    if not 1 <= month <= 12 or card_expired(month, year, clock.real_now().date()):
        raise Refusal(402, DeclineCode.EXPIRED_CARD.value, "the card is expired")
    if not behaviour.tokenizes:
        code = behaviour.decline_code or DeclineCode.GENERIC_DECLINE
        raise Refusal(402, code.value, DECLINE_MESSAGES[code])
    how = behaviour.decline_code.value if behaviour.decline_code else behaviour.charge.value
    digits = card_number_digits(number)
    brand, shown = card_brand(digits).value, last4(digits)
    # The behaviour, then the card's visible part after the last "_" (which `_token_behaviour`
    # splits on: brands, digits and hex hold none).
    token = f"{TOKEN_PREFIX}{how}_{brand}.{shown}.{month:02d}{year:04d}.{secrets.token_hex(8)}"
    return {"token": token, "brand": brand, "last4": shown, "exp_month": month, "exp_year": year}


def _card_of_token(token: str) -> dict[str, Any]:
    """What a token `_card_token` made says of its card; a Refusal (404) for any other."""
    unknown = Refusal(404, "unknown_token", "no card has this token")
    try:
        _token_behaviour(token)
    except Refusal:
        raise unknown from None
    parts = token.rpartition("_")[2].split(".")
    if len(parts) != 4 or not all(part.isascii() for part in parts):
        raise unknown
    brand, shown, expiry, random_part = parts
    digits = shown.isdigit() and expiry.isdigit() and len(shown) == 4 and len(expiry) == 6
    if brand not in _BRANDS or not digits or not random_part or not 1 <= int(expiry[:2]) <= 12:
        raise unknown
    month, year = int(expiry[:2]), int(expiry[2:])
    return {"token": token, "brand": brand, "last4": shown, "exp_month": month, "exp_year": year}


_BRANDS = frozenset(brand.value for brand in CardBrand)
_BEHAVIOURS = frozenset(
    {ChargeOutcome.APPROVED.value, ChargeOutcome.PROCESSING.value}
    | {code.value for code in DeclineCode}
)


def _token_behaviour(token: object) -> str:
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
        raise Refusal(400, "invalid_token", "unknown card token")
    behaviour = token[len(TOKEN_PREFIX) :].rpartition("_")[0]
    if behaviour not in _BEHAVIOURS:
        raise Refusal(400, "invalid_token", "unknown card token")
    return behaviour
