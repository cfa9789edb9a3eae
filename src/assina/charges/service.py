"""Charge use cases: issuing, reading and changing open charges. The moves between states
(settle, reverse, invalidate, reactivate) are in settlement.py.

Amounts: a line's `amount` is its unit amount and its total is quantity * amount; a charge's
`amount` is the sum of its line totals. Lines may be negative (a discount, a proration credit),
the charge never: 0 to MAX_AMOUNT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings.schemas import BillingRules
from assina.billing_settings.service import billing_rules
from assina.charges.boleto import number_boletos, renumber_boleto
from assina.charges.models import Charge, ChargeLine, ChargeRow, ChargeStatus, SettledColumns
from assina.charges.schemas import (
    ChargeCreate,
    ChargeItemIn,
    ChargeOut,
    ChargeUpdate,
    charge_json,
    stored_line,
)
from assina.contracts.models import Contract, PaymentMethod
from assina.core.clock import Clock
from assina.core.errors import conflict, invalid, not_found
from assina.core.ids import new_id
from assina.core.money import MAX_AMOUNT
from assina.core.paging import PageParams, fetch_page, in_range
from assina.core.patching import METADATA_COLUMN, apply_patch
from assina.customers.models import Customer
from assina.db.shapes import insert_rows
from assina.events.catalog import EventType
from assina.events.service import (
    Change,
    changed_fields,
    emit_event,
    emit_typed_events,
    snapshot,
)
from assina.products.models import Product, ProductStatus
from assina.rules.pix import pix_code
from assina.tenants.counters import Counter, reserve_values

PIX_CURRENCY = "BRL"  # a BR Code is in reais (field 53 = 986)
MAX_PIX_AMOUNT = 999_999_999_999  # "9999999999.99", the longest amount field 54 holds
PIX_TXID_PREFIX = "ASSINA"


@dataclass(frozen=True)
class ChargeDraft:
    """Everything needed to issue a charge. `items` are lines with `product_id` (or None),
    `description`, `quantity` and `amount` (the unit amount, in minor units): a contract's
    stored items, or charge lines."""

    customer_id: str
    items: Sequence[Mapping[str, Any]]
    due_date: date
    payment_method: PaymentMethod | str  # a PaymentMethod value
    currency: str
    contract_id: str | None = None
    order_id: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    dunning_exempt: bool = False


# --- issuing -----------------------------------------------------------------------------------


async def issue_charge(
    session: AsyncSession, clock: Clock, tenant_id: str, draft: ChargeDraft
) -> ChargeOut:
    """Issue one charge (POST /v1/charges, a contract's step of the billing calendar): the
    customer checked, then `issue_charges` with a batch of one. What the session still holds
    unwritten (the contract the calendar moved past its period) is written first, so that
    what reacts reads it.

    422 when the customer is not the tenant's or the lines add up to less than zero or more
    than MAX_AMOUNT.
    """
    await _require_customer(session, tenant_id, draft.customer_id)
    rules = await billing_rules(session, tenant_id)
    await session.flush()
    [issued] = await issue_charges(
        session, clock, tenant_id, [draft], rules, now=clock.now(), due_at=clock.real_now()
    )
    return ChargeOut.of_row(issued)


async def issue_charges(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    drafts: Sequence[ChargeDraft],
    rules: BillingRules,
    *,
    now: datetime,
    due_at: datetime,
) -> list[ChargeRow]:
    """Issue open charges and emit their `charge.created`; a charge of 0 is settled at once
    (`charge.settled`, after its creation). One statement for their numbers and one
    multi-row INSERT each for the charges and their events, reacted to as one batch (their
    messages and e-mails, what dunning makes of them: reactions/); one more for the nosso
    números of those that take a boleto (charges/boleto.py). The customers are not
    checked here: `issue_charge` checks its one, the calendar's contracts name theirs and the
    foreign key holds. Returns the charges' rows as written, in order. The events' JSON is
    made from the rows (`charge_json`), with no model per charge."""
    if not drafts:
        return []
    first = await reserve_values(session, tenant_id, Counter.CHARGE_NUMBER, len(drafts))
    rows = [
        charge_row(tenant_id, draft, first + offset, rules, now)
        for offset, draft in enumerate(drafts)
    ]
    await number_boletos(session, tenant_id, rows)
    events: list[tuple[EventType, Change]] = []
    for offset, row in enumerate(rows):
        shown = charge_json(row)
        events.append((EventType.CHARGE_CREATED, Change(shown, row["customer_id"], subject=row)))
        if row["amount"] == 0:  # nothing to pay: settled as it is issued
            rows[offset] = row = {**row, **settled_at_issue(now)}
            settled = Change(charge_json(row), row["customer_id"], dict(_WAS_OPEN), subject=row)
            events.append((EventType.CHARGE_SETTLED, settled))
    await insert_rows(session, insert(Charge), rows)
    await emit_typed_events(session, clock, tenant_id, events, now=now, due_at=due_at)
    return rows


# How a charge of 0 (a credit covered it) is recorded as settled when it is issued.
ZERO_SETTLEMENT_METHOD = "credit"
_WAS_OPEN = {"status": ChargeStatus.OPEN}


def settled_at_issue(now: datetime) -> SettledColumns:
    """The columns of a charge of 0 settled as it is issued: nothing to pay, so nothing to
    remind or dun. No receipt either: nothing was received."""
    return {
        "status": ChargeStatus.SETTLED,
        "settled_at": now,
        "settled_amount": 0,
        "settlement_method": ZERO_SETTLEMENT_METHOD,
    }


def charge_row(
    tenant_id: str, draft: ChargeDraft, number: int, rules: BillingRules, now: datetime
) -> ChargeRow:
    """A new open charge's `charges` row, by attribute name: lines normalised, amount summed
    (422 outside 0 to MAX_AMOUNT), PIX code when the tenant has a receiver. The boleto's
    numbers come after, for the whole batch (`number_boletos`)."""
    lines = [_normalised_line(item) for item in draft.items]
    amount = charge_total(lines)
    return {
        "id": new_id("chg"),
        "tenant_id": tenant_id,
        "number": number,
        "customer_id": draft.customer_id,
        "contract_id": draft.contract_id,
        "order_id": draft.order_id,
        "period_start": draft.period_start,
        "period_end": draft.period_end,
        "items": lines,
        "amount": amount,
        "currency": draft.currency,
        "due_date": draft.due_date,
        "status": ChargeStatus.OPEN,
        "payment_method": PaymentMethod(draft.payment_method),
        "settled_at": None,
        "settled_amount": None,
        "settlement_method": None,
        "fine_amount": 0,
        "interest_amount": 0,
        "pix_code": pix_code_for(rules, number, amount, draft.currency),
        "boleto_our_number": None,
        "boleto_line": None,
        "boleto_barcode": None,
        "dunning_exempt": draft.dunning_exempt,
        "metadata_": dict(draft.metadata),
        "created_at": now,
        "updated_at": now,
    }


async def create_charge(
    session: AsyncSession, clock: Clock, tenant_id: str, params: ChargeCreate
) -> ChargeOut:
    """POST /v1/charges: resolve the lines' products, then issue."""
    draft = ChargeDraft(
        customer_id=params.customer_id,
        items=await resolve_items(session, tenant_id, params.items, params.currency),
        due_date=params.due_date,
        payment_method=params.payment_method,
        currency=params.currency,
        metadata=params.metadata,
        dunning_exempt=params.dunning_exempt,
    )
    return await issue_charge(session, clock, tenant_id, draft)


def charge_total(lines: Sequence[Mapping[str, Any]]) -> int:
    """Sum of quantity * unit amount; 422 (field `items`) outside 0 to MAX_AMOUNT."""
    total = sum(int(line["quantity"]) * int(line["amount"]) for line in lines)
    if total < 0:
        raise invalid("items", "the lines add up to less than zero")
    if total > MAX_AMOUNT:
        raise invalid("items", f"the lines add up to more than {MAX_AMOUNT}")
    return total


def pix_code_for(rules: BillingRules, number: int, amount: int, currency: str) -> str | None:
    """The charge's PIX code: when the tenant set a PIX receiver and the charge is a positive
    amount of reais that fits a BR Code; txid `ASSINA<number>`."""
    receiver = rules.pix_receiver
    if receiver is None or currency != PIX_CURRENCY or not 0 < amount <= MAX_PIX_AMOUNT:
        return None
    key, name, city = receiver
    return pix_code(
        key=key,
        merchant_name=name,
        merchant_city=city,
        amount=amount,
        txid=f"{PIX_TXID_PREFIX}{number}",
    )


async def resolve_items(
    session: AsyncSession, tenant_id: str, items: Sequence[ChargeItemIn], currency: str
) -> list[ChargeLine]:
    """Lines as stored: a product's line takes the product's name and price unless given."""
    products = await _products_by_id(session, tenant_id, items)
    return [
        _resolved_line(index, item, products.get(item.product_id or ""), currency)
        for index, item in enumerate(items)
    ]


def _resolved_line(
    index: int, item: ChargeItemIn, product: Product | None, currency: str
) -> ChargeLine:
    if item.product_id is None:
        return stored_line(None, item.description, item.quantity, item.amount or 0)
    where = f"items.{index}"
    if product is None:
        raise invalid(f"{where}.product_id", f"no product with id {item.product_id!r}")
    if product.status != ProductStatus.ACTIVE:
        raise invalid(f"{where}.product_id", "the product is inactive and cannot be sold")
    amount = item.amount
    if amount is None:
        if product.currency != currency:
            raise invalid(
                f"{where}.amount", f"the product is priced in {product.currency}; send amount"
            )
        amount = product.amount
    return stored_line(product.id, item.description or product.name, item.quantity, amount)


async def _products_by_id(
    session: AsyncSession, tenant_id: str, items: Sequence[ChargeItemIn]
) -> dict[str, Product]:
    wanted = {item.product_id for item in items if item.product_id is not None}
    if not wanted:
        return {}
    found = await session.scalars(
        select(Product).where(
            Product.tenant_id == tenant_id,
            Product.id.in_(wanted),
            Product.deleted_at.is_(None),
        )
    )
    return {product.id: product for product in found}


def _normalised_line(item: Mapping[str, Any]) -> ChargeLine:
    return stored_line(
        item.get("product_id"), item.get("description"), int(item["quantity"]), int(item["amount"])
    )


async def _require_customer(session: AsyncSession, tenant_id: str, customer_id: str) -> Customer:
    found = await session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
    )
    if found is None:
        raise invalid("customer_id", f"no customer with id {customer_id!r}")
    return found


# --- reading -----------------------------------------------------------------------------------


async def get_charge(
    session: AsyncSession, tenant_id: str, charge_id: str, *, for_update: bool = False
) -> Charge:
    """The tenant's charge (404 otherwise); `for_update` locks its row until the transaction
    ends, so that two concurrent moves of one charge run one after the other."""
    statement = select(Charge).where(Charge.tenant_id == tenant_id, Charge.id == charge_id)
    if for_update:
        statement = statement.with_for_update()
    charge = await session.scalar(statement)
    if charge is None:
        raise not_found("charge", charge_id)
    return charge


@dataclass(frozen=True)
class ChargeFilters:
    customer_id: str | None = None
    contract_id: str | None = None
    status: ChargeStatus | None = None
    due_gte: date | None = None
    due_lt: date | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def list_charges(
    session: AsyncSession, tenant_id: str, filters: ChargeFilters, page: PageParams
) -> tuple[Sequence[Charge], bool]:
    statement = select(Charge).where(Charge.tenant_id == tenant_id)
    if filters.customer_id is not None:
        statement = statement.where(Charge.customer_id == filters.customer_id)
    if filters.contract_id is not None:
        statement = statement.where(Charge.contract_id == filters.contract_id)
    if filters.status is not None:
        statement = statement.where(Charge.status == filters.status)
    statement = in_range(statement, Charge.due_date, filters.due_gte, filters.due_lt)
    statement = in_range(statement, Charge.created_at, filters.created_gte, filters.created_lt)
    return await fetch_page(session, statement, Charge.id, page)


# A first charge the trial's e-mail may mention: one still to pay, or paid ahead.
FIRST_CHARGE_STATUSES = (ChargeStatus.OPEN, ChargeStatus.SETTLED)


async def first_paid_charges(
    session: AsyncSession, tenant_id: str, contracts: Sequence[Contract]
) -> dict[str, Charge]:
    """The charge already issued (open or settled) for the first paid period of each contract
    with a trial that has one, by contract id: the period starting on `trial_end`. One query."""
    trialing = [contract.id for contract in contracts if contract.trial_end is not None]
    if not trialing:
        return {}
    charges = await session.scalars(
        select(Charge)
        .join(
            Contract,
            and_(Contract.tenant_id == Charge.tenant_id, Contract.id == Charge.contract_id),
        )
        .where(
            Charge.tenant_id == tenant_id,
            Charge.contract_id.in_(trialing),
            Charge.period_start == Contract.trial_end,
            or_(*(Charge.status == status for status in FIRST_CHARGE_STATUSES)),
        )
    )
    return {charge.contract_id: charge for charge in charges if charge.contract_id}


# --- changing an open charge -------------------------------------------------------------------


async def update_charge(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    charge_id: str,
    changes: ChargeUpdate,
) -> Charge:
    """PATCH: items, due date, payment method, metadata, dunning_exempt, while the charge is
    open (409 otherwise). New items recompute the amount, and a new amount a new PIX code; a
    new amount, due date or payment method new boleto numbers (charges/boleto.py)."""
    charge = await get_charge(session, tenant_id, charge_id, for_update=True)
    if charge.status != ChargeStatus.OPEN:
        raise conflict(
            f"Charge {charge_id} is {charge.status}; only an open charge can be changed.",
            "invalid-transition",
        )
    before = snapshot(ChargeOut.of(charge))
    was_exempt = charge.dunning_exempt
    boleto_inputs_were = _boleto_inputs(charge)
    if changes.items is not None:
        await _replace_items(session, tenant_id, charge, changes.items)
    apply_patch(charge, changes.without_items(), METADATA_COLUMN)
    if _boleto_inputs(charge) != boleto_inputs_were:
        await renumber_boleto(session, tenant_id, charge)
    previous = changed_fields(before, snapshot(ChargeOut.of(charge)))
    if charge.dunning_exempt != was_exempt:  # stored, though not part of the charge's JSON
        previous["dunning_exempt"] = was_exempt
    if not previous:
        return charge
    charge.updated_at = clock.now()
    await emit_event(
        session,
        clock,
        tenant_id,
        EventType.CHARGE_UPDATED,
        ChargeOut.of(charge),
        previous=previous,
        customer_id=charge.customer_id,
    )
    return charge


async def _replace_items(
    session: AsyncSession, tenant_id: str, charge: Charge, items: Sequence[ChargeItemIn]
) -> None:
    lines = await resolve_items(session, tenant_id, items, charge.currency)
    amount = charge_total(lines)
    charge.items = lines
    if amount != charge.amount:
        charge.amount = amount
        rules = await billing_rules(session, tenant_id)
        charge.pix_code = pix_code_for(rules, charge.number, amount, charge.currency)


def _boleto_inputs(charge: Charge) -> tuple[object, ...]:
    # What a boleto's numbers are made of, besides the nosso número and the bank agreement.
    return (charge.payment_method, charge.amount, charge.currency, charge.due_date)
