"""The sandbox provider's PIX charges and registered boletos, as a PSP keeps them:

- `POST /v1/pix-charges {charge_id, amount, due_date, idempotency_key}`: a PIX charge with a
  txid of 32 letters and digits made by the sandbox, and its dynamic BR Code: a location URL
  ending in the txid (where a real PSP serves the charge's payload) and the amount; the key
  the payload names is the tenant's PIX receiver (billing settings) if set, else the
  sandbox's own random key. Made once per idempotency key (201; the same again: 200).
- `GET /v1/pix-charges/{id}`: the charge, `paid` with its payment once paid.
- `POST /v1/boletos {charge_id, amount, due_date, idempotency_key}`: a registered boleto,
  numbered by `rules.boleto` under the tenant's bank agreement (payment settings) if set,
  else the sandbox's own (Banco do Brasil, convênio 1234567), with a nosso número of the
  sandbox's. Made once per idempotency key.
- `POST /v1/boletos/{id}/cancel`, `POST /v1/pix-charges/{id}/cancel`: no longer payable
  (cancelling it again changes nothing; a paid one is refused, 409). A PIX payment the
  sandbox receives afterwards pays no cancelled PIX charge.

A PIX payment the sandbox receives for a charge (`POST /v1/payments`, method pix) pays that
charge's active PIX charge, if it has one: `pay_pix_charge`.
"""

from __future__ import annotations

import secrets
import string
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.service import billing_rules
from assina.charges.boleto import boleto_numbers
from assina.core.clock import Clock
from assina.core.money import MAX_AMOUNT
from assina.db.database import Database
from assina.db.dialect import insert_on_conflict
from assina.payment_settings.schemas import SANDBOX_BANK
from assina.payment_settings.service import payment_choices
from assina.payments.sandbox.models import SandboxCharge
from assina.payments.sandbox.refusals import Refusal
from assina.rules.pix import dynamic_pix_code

# The sandbox's own random (EVP) key, for a tenant that set no PIX receiver.
SANDBOX_PIX_KEY = "7d9f0335-8dcc-4054-9bf9-0dbd61f0a6f1"
SANDBOX_MERCHANT = ("ASSINA SANDBOX", "SAO PAULO")
# Where a real PSP would serve the charge's payload; `.invalid` never resolves.
PIX_LOCATION = "pix.sandbox.assina.invalid/v2/cob/"
TXID_LENGTH = 32  # within the 26 to 35 letters and digits of a charge's txid
TXID_ALPHABET = string.ascii_letters + string.digits
# A nosso número of 9 digits fits most layouts; a bank with a narrower one gets 5.
OUR_NUMBER_WIDTHS = (9, 5)
ACTIVE, PAID, CANCELLED = "active", "paid", "cancelled"


def charge_fields(body: dict[str, Any]) -> dict[str, Any]:
    """What a PIX charge or a boleto is made of; a Refusal (400) when malformed."""
    texts: dict[str, Any] = {}
    for name, longest in (("charge_id", 64), ("idempotency_key", 128)):
        value = body.get(name)
        if not isinstance(value, str) or not 0 < len(value) <= longest:
            raise Refusal(400, "invalid_request", f"{name} must be a string")
        texts[name] = value
    amount = body.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise Refusal(400, "invalid_request", f"amount must be an integer from 1 to {MAX_AMOUNT}")
    try:
        due = date.fromisoformat(str(body.get("due_date")))
    except ValueError as error:
        raise Refusal(400, "invalid_request", "due_date must be a date (YYYY-MM-DD)") from error
    return {**texts, "amount": amount, "due_date": due}


def new_txid() -> str:
    return "".join(secrets.choice(TXID_ALPHABET) for _ in range(TXID_LENGTH))


async def create_pix_charge(
    database: Database, clock: Clock, tenant_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The PIX charge for this idempotency key, and whether it was made now."""
    async with database.read() as session:
        receiver = (await billing_rules(session, tenant_id)).pix_receiver
    key, name, city = receiver or (SANDBOX_PIX_KEY, *SANDBOX_MERCHANT)
    txid = new_txid()
    code = dynamic_pix_code(
        location=f"{PIX_LOCATION}{txid}",
        merchant_name=name,
        merchant_city=city,
        amount=fields["amount"],
    )
    values = {"kind": "pix", "txid": txid, "pix_key": key, "pix_code": code}
    return await _insert_once(database, clock, tenant_id, "spix", fields, values)


async def register_boleto(
    database: Database, clock: Clock, tenant_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The boleto for this idempotency key, and whether it was registered now; a Refusal
    (422) when the bank's layout cannot hold it (a due date before the first factor)."""
    async with database.read() as session:
        terms = (await payment_choices(session, tenant_id)).boleto_bank or SANDBOX_BANK
    for width in OUR_NUMBER_WIDTHS:
        our_number = str(secrets.randbelow(10**width - 1) + 1)
        numbers = boleto_numbers(terms, our_number, fields["amount"], fields["due_date"])
        if numbers is not None:
            break
    else:
        raise Refusal(422, "invalid_boleto", "the bank's layout cannot hold this boleto")
    values = {
        "kind": "boleto",
        "our_number": our_number,
        "boleto_line": numbers.line,
        "boleto_barcode": numbers.barcode,
    }
    return await _insert_once(database, clock, tenant_id, "sbol", fields, values)


async def _insert_once(
    database: Database,
    clock: Clock,
    tenant_id: str,
    prefix: str,
    fields: dict[str, Any],
    values: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    row = {
        "id": f"{prefix}_{secrets.token_hex(10)}",
        "tenant_id": tenant_id,
        "status": ACTIVE,
        "payment_id": None,
        "created_at": clock.real_now(),
        **{name: None for name in ("txid", "pix_key", "pix_code")},
        **{name: None for name in ("boleto_line", "boleto_barcode", "our_number")},
        **fields,
        **values,
    }
    async with database.write() as session:
        statement = (
            insert_on_conflict(session, SandboxCharge)
            .values(**row)
            .on_conflict_do_nothing(
                index_elements=[SandboxCharge.tenant_id, SandboxCharge.idempotency_key]
            )
            .returning(SandboxCharge.id)
        )
        if (await session.execute(statement)).scalar_one_or_none() is not None:
            return shown_charge(SandboxCharge(**row)), True
        found = await session.scalar(
            select(SandboxCharge).where(
                SandboxCharge.tenant_id == tenant_id,
                SandboxCharge.idempotency_key == fields["idempotency_key"],
            )
        )
        assert found is not None  # noqa: S101 (the conflict was on this key)
        return shown_charge(found), False


async def find_charge(
    database: Database, tenant_id: str, charge_id: str, kind: str
) -> dict[str, Any]:
    """The tenant's PIX charge or boleto as shown; a Refusal (404) for any other id."""
    async with database.read() as session:
        found = await session.scalar(
            select(SandboxCharge).where(
                SandboxCharge.tenant_id == tenant_id,
                SandboxCharge.id == charge_id,
                SandboxCharge.kind == kind,
            )
        )
        if found is None:
            raise Refusal(404, "not_found", f"no such {kind} charge")
        return shown_charge(found)


async def cancel_charge(
    database: Database, tenant_id: str, charge_id: str, kind: str
) -> dict[str, Any]:
    """The PIX charge or boleto cancelled unless paid (a paid one is refused: 409)."""
    shown = await find_charge(database, tenant_id, charge_id, kind)
    if shown["status"] == PAID:
        raise Refusal(409, "already_paid", f"a paid {kind} charge cannot be cancelled")
    async with database.write() as session:
        await session.execute(
            update(SandboxCharge)
            .where(SandboxCharge.id == charge_id, SandboxCharge.status == ACTIVE)
            .values(status=CANCELLED)
        )
    return {**shown, "status": CANCELLED}


async def pay_pix_charge(
    session: AsyncSession, tenant_id: str, charge_id: str, payment_id: str
) -> SandboxCharge | None:
    """The charge's newest active PIX charge, now paid by `payment_id`; None when it has none
    (a payment of a static code)."""
    found = await session.scalar(
        select(SandboxCharge)
        .where(
            SandboxCharge.tenant_id == tenant_id,
            SandboxCharge.charge_id == charge_id,
            SandboxCharge.kind == "pix",
            SandboxCharge.status == ACTIVE,
        )
        .order_by(SandboxCharge.created_at.desc(), SandboxCharge.id.desc())
        .limit(1)
    )
    if found is None:
        return None
    found.status, found.payment_id = PAID, payment_id
    return found


def shown_charge(row: SandboxCharge) -> dict[str, Any]:
    shown = {
        "id": row.id,
        "charge_id": row.charge_id,
        "kind": row.kind,
        "status": row.status,
        "amount": row.amount,
        "due_date": row.due_date.isoformat(),
        "payment_id": row.payment_id,
    }
    if row.kind == "pix":
        return {**shown, "txid": row.txid, "key": row.pix_key, "pix_code": row.pix_code}
    return {
        **shown,
        "boleto_line": row.boleto_line,
        "boleto_barcode": row.boleto_barcode,
        "our_number": row.our_number,
    }
