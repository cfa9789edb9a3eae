"""What the orders and checkout API take and answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assina.charges.schemas import DueDate
from assina.contracts.models import PaymentMethod
from assina.core.documents import Document
from assina.core.inputs import InputModel, Reference
from assina.core.metadata import Metadata
from assina.customers.schemas import CustomerCreate
from assina.orders.models import Order, OrderStatus
from assina.payments.card_schemas import TOKEN_PATTERN, CardIn
from assina.payments.schemas import CardAttemptOut

MAX_ITEMS = 100
MAX_QUANTITY = 1_000_000


class OrderItemIn(InputModel):
    """A product and how many: its name, price and terms are the product's."""

    model_config = ConfigDict(extra="forbid")

    product_id: Reference
    quantity: int = Field(default=1, strict=True, ge=1, le=MAX_QUANTITY)


OrderItems = Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_ITEMS)]


class OrderTerms(InputModel):
    """What an order and a checkout share: the items and how they are paid."""

    model_config = ConfigDict(extra="forbid")

    items: OrderItems
    payment_method: PaymentMethod = PaymentMethod.BOLETO
    due_date: DueDate | None = Field(
        default=None,
        description="The order's charge's due date. Default: today in the tenant's time zone.",
    )
    metadata: Metadata = Field(default_factory=dict)


class OrderCreate(OrderTerms):
    customer_id: Reference
    card_id: Reference | None = Field(
        default=None,
        description="A saved card of the customer (payment_method `card`): the card the "
        "order is paid with (POST /v1/charges/{charge_id}/pay with it).",
    )


class CheckoutCustomer(CustomerCreate):
    """The buyer: found by `document` (its digits) among the tenant's customers, else
    created with these fields. A customer found is not changed."""

    document: Document


class CheckoutIn(OrderTerms):
    customer: CheckoutCustomer
    card_token: str | None = Field(
        default=None,
        pattern=TOKEN_PATTERN,
        description="A card provider's token made in the payer's browser (the sandbox's "
        "`tok_sbx_…`): the card is saved for the customer and charged at once.",
    )
    card: CardIn | None = Field(
        default=None,
        description="The card as POST /v1/customers/{id}/cards takes it (the number form on "
        "sandbox tenants only; a token with brand, last4 and expiry for Asaas): saved and "
        "charged at once.",
    )

    @model_validator(mode="after")
    def _one_card(self) -> CheckoutIn:
        if self.card_token is not None and self.card is not None:
            raise ValueError("send card_token or card, not both")
        if self.card_to_save() is not None and self.payment_method != PaymentMethod.CARD:
            raise ValueError("a card is sent with payment_method card")
        return self

    def card_to_save(self) -> CardIn | None:
        if self.card_token is not None:
            return CardIn(token=self.card_token)
        return self.card


class OrderItemOut(BaseModel):
    product_id: str
    description: str
    quantity: int
    amount: int = Field(description="Unit amount in minor units.")
    interval: str = Field(description="The product's interval when ordered; `once`: one-off.")
    interval_count: int


class OrderOut(BaseModel):
    id: str
    number: int
    customer_id: str
    items: list[OrderItemOut]
    amount: int = Field(description="Σ quantity * amount: what the order's charge asks.")
    currency: str
    status: OrderStatus
    payment_method: PaymentMethod
    card_id: str | None
    charge_id: str | None = Field(description="The order's charge.")
    contract_ids: list[str] = Field(
        description="The contracts its payment started, one per interval of its recurring "
        "items (empty until paid, and for an order of one-off items)."
    )
    expires_on: date = Field(
        description="From this day (the tenant's calendar) a still pending order is expired."
    )
    paid_at: datetime | None
    fulfilled_at: datetime | None
    cancelled_at: datetime | None
    expired_at: datetime | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            id=order.id,
            number=order.number,
            customer_id=order.customer_id,
            items=[OrderItemOut.model_validate(item) for item in order.items],
            amount=order.amount,
            currency=order.currency,
            status=order.status,
            payment_method=order.payment_method,
            card_id=order.card_id,
            charge_id=order.charge_id,
            contract_ids=list(order.contract_ids),
            expires_on=order.expires_on,
            paid_at=order.paid_at,
            fulfilled_at=order.fulfilled_at,
            cancelled_at=order.cancelled_at,
            expired_at=order.expired_at,
            metadata=order.metadata_,
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class OrderStatusChangedOut(OrderOut):
    """`order.status_changed`'s data: the order after the move, and the move (`from` null
    when the order was created)."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    from_status: OrderStatus | None = Field(alias="from", description="Before the move.")
    to_status: OrderStatus = Field(alias="to", description="After the move.")

    @classmethod
    def moved(cls, order: Order, was: OrderStatus | None) -> OrderStatusChangedOut:
        shown: dict[str, Any] = dict(OrderOut.of(order))
        return cls(**shown, from_status=was, to_status=order.status)


class CheckoutOut(BaseModel):
    """The checkout's answer: the order, its customer, and the card's outcome if one was
    sent."""

    order: OrderOut
    customer_id: str
    customer_created: bool = Field(description="false: a customer with the document existed.")
    card_id: str | None = Field(description="The card saved, when one was sent and kept.")
    card_attempt: CardAttemptOut | None = Field(
        description="The attempt on the card, when one was made: `approved` paid the order."
    )
    card_error: dict[str, Any] | None = Field(
        description="Why the card sent was not saved or not charged (a problem+json body): "
        "the order stays pending, to be paid another way."
    )
