from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import to_jsonable_python

from assina.charges.links import payment_url
from assina.charges.models import Charge, ChargeLine, ChargeStatus
from assina.contracts.models import PaymentMethod
from assina.core.inputs import BillingDate, InputModel, Reference, UtcDatetime, sent
from assina.core.metadata import Metadata
from assina.core.money import DEFAULT_CURRENCY, MAX_AMOUNT, Amount, Currency
from assina.core.patching import reject_null

MAX_ITEMS = 100
MAX_QUANTITY = 1_000_000
MAX_DESCRIPTION = 500
DueDate = BillingDate
LineAmount = Annotated[
    int,
    Field(
        strict=True,
        ge=-MAX_AMOUNT,
        le=MAX_AMOUNT,
        description="Unit amount in minor units; negative for a discount or credit line.",
        examples=[45000],
    ),
]


class SettlementMethod(StrEnum):
    """How a charge was paid, as recorded by `POST /v1/charges/{id}/settle`."""

    PIX = "pix"
    BOLETO = "boleto"
    CARD = "card"
    CASH = "cash"
    TRANSFER = "transfer"
    OTHER = "other"


class ChargeItemIn(InputModel):
    """A line: a product (its name and price unless given) or a free description and amount."""

    model_config = ConfigDict(extra="forbid")

    product_id: Reference | None = None
    description: str | None = Field(default=None, min_length=1, max_length=MAX_DESCRIPTION)
    quantity: int = Field(default=1, strict=True, ge=1, le=MAX_QUANTITY)
    amount: LineAmount | None = None

    @classmethod
    def document_rules(cls, schema: dict[str, Any]) -> None:
        schema["anyOf"] = [sent("product_id"), sent("description", "amount")]

    @model_validator(mode="after")
    def _described(self) -> ChargeItemIn:
        if self.product_id is None and (self.description is None or self.amount is None):
            raise ValueError("a line without product_id needs description and amount")
        return self


class ChargeCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Reference
    items: list[ChargeItemIn] = Field(min_length=1, max_length=MAX_ITEMS)
    due_date: DueDate
    payment_method: PaymentMethod = PaymentMethod.BOLETO
    currency: Currency = DEFAULT_CURRENCY
    metadata: Metadata = Field(default_factory=dict)
    dunning_exempt: bool = Field(
        default=False, strict=True, description="Never counts towards the customer's dunning."
    )


class ChargeUpdate(InputModel):
    """Only the fields sent change; only an open charge can be changed."""

    model_config = ConfigDict(extra="forbid")

    items: list[ChargeItemIn] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    due_date: DueDate | None = None
    payment_method: PaymentMethod | None = None
    metadata: Metadata | None = None
    dunning_exempt: bool | None = Field(default=None, strict=True)

    _not_null = field_validator(
        "items", "due_date", "payment_method", "metadata", "dunning_exempt"
    )(reject_null)

    def without_items(self) -> ChargeUpdate:
        """The same changes but the items (which the service resolves itself)."""
        sent = {name: getattr(self, name) for name in self.model_fields_set if name != "items"}
        return ChargeUpdate.model_construct(_fields_set=set(sent), **sent)


class ChargeSettle(InputModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount | None = Field(
        default=None, description="What was received; default: amount + fine + interest."
    )
    settled_at: UtcDatetime | None = Field(
        default=None, description="When it was paid (not in the future); default: now."
    )
    method: SettlementMethod | None = Field(
        default=None, description="How it was paid; default: the charge's payment_method."
    )


class ChargeLineOut(BaseModel):
    product_id: str | None
    description: str | None
    quantity: int
    amount: int = Field(description="Unit amount; the line's total is quantity * amount.")


class PaymentInstructions(BaseModel):
    pix_code: str | None = Field(description="PIX copia e cola (BR Code), when PIX is set up.")
    boleto_line: str | None = Field(
        description="Boleto linha digitável, formatted (47 digits): while the payment method is "
        "boleto and assina numbers the tenant's boletos (its boleto provider is the sandbox).",
        examples=["00190.00009 01234.567004 00000.001172 2 13530000010000"],
    )
    boleto_barcode: str | None = Field(
        description="The same boleto's barcode (código de barras, 44 digits); null with "
        "`boleto_line`. The printable boleto: GET /v1/charges/{id}/boleto.pdf.",
        examples=["00192135300000100000000001234567000000000117"],
    )


class ChargeOut(BaseModel):
    id: str
    number: int
    customer_id: str
    contract_id: str | None
    order_id: str | None = Field(
        default=None, description="The order this charge is the first charge of, if any."
    )
    period_start: date | None = Field(
        description="First day of the contract period the charge covers (contract charges)."
    )
    period_end: date | None = Field(
        description="The day after the period's last day: the next period's start."
    )
    items: list[ChargeLineOut]
    amount: int
    currency: str
    due_date: date
    status: ChargeStatus
    payment_method: PaymentMethod
    settled_at: datetime | None
    settled_amount: int | None
    fine_amount: int
    interest_amount: int
    payment_instructions: PaymentInstructions
    payment_url: str | None = Field(
        description="The customer's payment page (no login; amount, fees due today, PIX, "
        "boleto, and a card form on sandbox tenants), while the charge is open; null once "
        "it is settled, reversed or invalidated.",
        examples=[
            "https://assina.example.com.br/pay/chg_01JQ8X7E8F9G0H1J2K3M4N5P6Q.Xq3v9KfT0bLmWz7RcYp2Aw"
        ],
    )
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, charge: Charge) -> ChargeOut:
        return cls.of_row({name: getattr(charge, name) for name in _SHOWN_COLUMNS})

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> ChargeOut:
        """From a `charges` row by attribute name: the calendar's batches build their
        `charge.created` events from the rows they insert, with no ORM object in between."""
        return cls(
            id=row["id"],
            number=row["number"],
            customer_id=row["customer_id"],
            contract_id=row["contract_id"],
            order_id=row["order_id"],
            period_start=row["period_start"],
            period_end=row["period_end"],
            items=[ChargeLineOut.model_validate(line) for line in row["items"]],
            amount=row["amount"],
            currency=row["currency"],
            due_date=row["due_date"],
            status=row["status"],
            payment_method=row["payment_method"],
            settled_at=row["settled_at"],
            settled_amount=row["settled_amount"],
            fine_amount=row["fine_amount"],
            interest_amount=row["interest_amount"],
            payment_instructions=PaymentInstructions(
                pix_code=row["pix_code"],
                boleto_line=row["boleto_line"],
                boleto_barcode=row["boleto_barcode"],
            ),
            payment_url=payment_url(row["id"], row["status"]),
            metadata=row["metadata_"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def charge_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """`snapshot(ChargeOut.of_row(row))` without building the model: the JSON of a charge the
    calendar's batches write by the thousand (a `charge.created` event's `data`), its values
    turned into JSON by pydantic's own rules (`to_jsonable_python`). A test keeps the two
    equal."""
    shown: dict[str, Any] = to_jsonable_python(
        {
            "id": row["id"],
            "number": row["number"],
            "customer_id": row["customer_id"],
            "contract_id": row["contract_id"],
            "order_id": row["order_id"],
            "period_start": row["period_start"],
            "period_end": row["period_end"],
            "items": [
                {
                    "product_id": line["product_id"],
                    "description": line["description"],
                    "quantity": line["quantity"],
                    "amount": line["amount"],
                }
                for line in row["items"]
            ],
            "amount": row["amount"],
            "currency": row["currency"],
            "due_date": row["due_date"],
            "status": row["status"],
            "payment_method": row["payment_method"],
            "settled_at": row["settled_at"],
            "settled_amount": row["settled_amount"],
            "fine_amount": row["fine_amount"],
            "interest_amount": row["interest_amount"],
            "payment_instructions": {
                "pix_code": row["pix_code"],
                "boleto_line": row["boleto_line"],
                "boleto_barcode": row["boleto_barcode"],
            },
            "payment_url": payment_url(row["id"], row["status"]),
            "metadata": row["metadata_"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
    )
    return shown


# The Charge attributes ChargeOut shows.
_SHOWN_COLUMNS = (
    "id",
    "number",
    "customer_id",
    "contract_id",
    "order_id",
    "period_start",
    "period_end",
    "items",
    "amount",
    "currency",
    "due_date",
    "status",
    "payment_method",
    "settled_at",
    "settled_amount",
    "fine_amount",
    "interest_amount",
    "pix_code",
    "boleto_line",
    "boleto_barcode",
    "metadata_",
    "created_at",
    "updated_at",
)


def stored_line(
    product_id: str | None, description: str | None, quantity: int, amount: int
) -> ChargeLine:
    """A line as the `items` column keeps it (the JSON of ChargeLineOut)."""
    return {
        "product_id": product_id,
        "description": description,
        "quantity": quantity,
        "amount": amount,
    }
