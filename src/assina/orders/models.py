from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TypedDict

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.contracts.models import PaymentMethod
from assina.db.base import Base, EnumText, JSONType, id_column


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class OrderLine(TypedDict):
    """An item as the `items` column keeps it: the product's terms when the order was made
    (`interval` `once` for a one-off item), so that what the order's payment starts does not
    change with the product afterwards. `amount` is the unit amount."""

    product_id: str
    description: str
    quantity: int
    amount: int
    interval: str
    interval_count: int


class Order(Base):
    """A sale of products paid by its first charge: one-off items, and the first period of
    the recurring ones, whose contracts start when it is paid."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_orders_tenant_id_id", "tenant_id", "id"),
        Index("ix_orders_tenant_id_customer_id", "tenant_id", "customer_id"),
        # The calendar's expiry step: pending orders whose day has come.
        Index("ix_orders_tenant_id_status_expires_on", "tenant_id", "status", "expires_on"),
        Index("ix_orders_tenant_id_charge_id", "tenant_id", "charge_id"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    items: Mapped[list[OrderLine]] = mapped_column(JSONType)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[OrderStatus] = mapped_column(EnumText(OrderStatus, 16))
    payment_method: Mapped[PaymentMethod] = mapped_column(EnumText(PaymentMethod, 8))
    # The card named when the order was made (a card order), if any.
    card_id: Mapped[str | None] = mapped_column(ForeignKey("customer_cards.id"))
    # The order's charge; charges.order_id holds the foreign key (one direction only, so
    # that an order and its charge are inserted one after the other with no cycle).
    charge_id: Mapped[str | None] = mapped_column(String(40))
    contract_ids: Mapped[list[str]]
    # The tenant's local day from which a still pending order is expired by the calendar.
    expires_on: Mapped[date]
    paid_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
