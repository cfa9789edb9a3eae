"""A contract's items: which products may be in one contract, and the stored form.

Rules:

- Every product exists in the tenant (another tenant's product is as missing as an unknown
  one), is `active` and recurring (not `once`).
- All items bill on one schedule and in one currency: the same `interval`, `interval_count`
  and `currency`. A new contract takes them from its products; a changed one keeps its own, and
  new products must match it. Products already in the contract stay allowed as they are, even
  if since deactivated or changed: the contract keeps the terms it was made with.
- An item's `amount` is the unit amount (default: the product's price, or for a product already
  in the contract, the unit amount it has there); its `description` defaults likewise to the
  product's name. The contract's amount is Σ quantity * amount, at most `MAX_AMOUNT`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.contracts.schemas import ContractItemIn
from assina.core.errors import invalid
from assina.core.money import MAX_AMOUNT
from assina.products.models import BillingInterval, Product, ProductStatus
from assina.rules.periods import Interval


@dataclass(frozen=True)
class Terms:
    """What every item of one contract shares."""

    interval: Interval
    interval_count: int
    currency: str

    @classmethod
    def of(cls, product: Product) -> Terms:
        return cls(Interval(product.interval), product.interval_count, product.currency)

    def describe(self) -> str:
        return f"every {self.interval_count} {self.interval} in {self.currency}"


@dataclass(frozen=True)
class ResolvedItems:
    items: list[dict[str, Any]]
    amount: int
    terms: Terms
    trial_days: int  # the largest of the products' trial days


async def resolve_items(
    session: AsyncSession,
    tenant_id: str,
    requested: Sequence[ContractItemIn],
    current: Sequence[dict[str, Any]] = (),
    terms: Terms | None = None,
) -> ResolvedItems:
    """Check `requested` and give the stored items. `current` and `terms` are those of the
    contract being changed (none for a new contract)."""
    products = await _products(session, tenant_id, [item.product_id for item in requested])
    known = {item["product_id"]: item for item in reversed(current)}  # the first one wins
    items: list[dict[str, Any]] = []
    for position, item in enumerate(requested):
        field = f"items.{position}.product_id"
        product = products.get(item.product_id)
        if product is None:
            raise invalid(field, f"no product with id {item.product_id!r}")
        if item.product_id not in known:
            _check_sellable(product, field)
            terms = terms or Terms.of(product)
            _check_terms(product, terms, field)
        items.append(_stored(item, product, known.get(item.product_id)))
    if terms is None:  # only when no item was given, which the schema refuses
        raise invalid("items", "a contract needs at least one item")
    amount = sum(item["quantity"] * item["amount"] for item in items)
    if amount > MAX_AMOUNT:
        raise invalid("items", f"the contract's amount would be over {MAX_AMOUNT}")
    trial_days = max(product.trial_days for product in products.values())
    return ResolvedItems(items, amount, terms, trial_days)


async def _products(
    session: AsyncSession, tenant_id: str, product_ids: list[str]
) -> dict[str, Product]:
    # FOR SHARE: a concurrent DELETE of one of them (which locks it FOR UPDATE) waits for this
    # contract to commit, then sees it and refuses; or this sees the product deleted.
    rows = await session.scalars(
        select(Product)
        .where(
            Product.tenant_id == tenant_id,
            Product.id.in_(set(product_ids)),
            Product.deleted_at.is_(None),
        )
        .with_for_update(read=True)
    )
    return {product.id: product for product in rows}


def _check_sellable(product: Product, field: str) -> None:
    if product.status != ProductStatus.ACTIVE:
        raise invalid(field, f"product {product.id} is inactive")
    if product.interval == BillingInterval.ONCE:
        raise invalid(
            field, f"product {product.id} is billed once; a contract takes recurring products"
        )


def _check_terms(product: Product, terms: Terms, field: str) -> None:
    if Terms.of(product) != terms:
        raise invalid(
            field,
            f"product {product.id} bills {Terms.of(product).describe()}, but the contract's "
            f"items bill {terms.describe()}: one contract has one interval and one currency",
        )


def _stored(item: ContractItemIn, product: Product, known: dict[str, Any] | None) -> dict[str, Any]:
    default_amount = known["amount"] if known else product.amount
    default_description = known["description"] if known else product.name
    return {
        "product_id": product.id,
        "description": item.description or default_description,
        "quantity": item.quantity,
        "amount": default_amount if item.amount is None else item.amount,
    }
