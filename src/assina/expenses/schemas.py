from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from assina.core.inputs import (
    NAME_PATTERN,
    BillingDate,
    InputModel,
    Reference,
    UtcDatetime,
    clean_name,
    sent,
)
from assina.core.metadata import Metadata
from assina.core.money import DEFAULT_CURRENCY, Amount, Currency
from assina.core.patching import reject_null
from assina.expenses.models import Expense, ExpenseMethod, ExpenseStatus
from assina.suppliers.schemas import SupplierLabel

# One line of text people read: trimmed, no control characters (core/inputs.py's Name rule).
_OneLine = AfterValidator(clean_name)

Description = Annotated[
    str,
    Field(min_length=1, max_length=500, pattern=NAME_PATTERN, examples=["Aluguel de março"]),
    _OneLine,
]
Category = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=NAME_PATTERN,
        description="The expense's category, as the cash-flow report groups it (kept as sent).",
        examples=["aluguel"],
    ),
    _OneLine,
]
CostCenter = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=NAME_PATTERN, examples=["administrativo"]),
    _OneLine,
]
DocumentNumber = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=NAME_PATTERN,
        description="The supplier's document number (nota fiscal, fatura).",
        examples=["NF 1234"],
    ),
    _OneLine,
]
BoletoLine = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="The boleto's linha digitável (47 digits; dots and spaces ignored), "
        "check digits checked. It fills `amount` and `due_date` when they are not sent; sent "
        "too, they must agree with it.",
        examples=["00190.00009 01238.798977 77700.168188 3 37690000013500"],
    ),
]


class ExpenseCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    supplier_id: Reference
    description: Description
    category: Category
    cost_center: CostCenter | None = None
    competence_date: BillingDate | None = Field(
        default=None, description="The date the expense belongs to; default: the due date."
    )
    due_date: BillingDate | None = Field(
        default=None, description="Required unless `boleto_line` carries one."
    )
    amount: Amount | None = Field(
        default=None, description="Required unless `boleto_line` carries one."
    )
    currency: Currency = DEFAULT_CURRENCY
    document_number: DocumentNumber | None = None
    boleto_line: BoletoLine | None = None
    metadata: Metadata = Field(default_factory=dict)

    @classmethod
    def document_rules(cls, schema: dict[str, Any]) -> None:
        schema["anyOf"] = [sent("boleto_line"), sent("amount", "due_date")]


class ExpenseUpdate(InputModel):
    """Only the fields sent change (`null` clears an optional one); only an open expense can
    be changed."""

    model_config = ConfigDict(extra="forbid")

    supplier_id: Reference | None = None
    description: Description | None = None
    category: Category | None = None
    cost_center: CostCenter | None = None
    competence_date: BillingDate | None = None
    due_date: BillingDate | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    document_number: DocumentNumber | None = None
    boleto_line: BoletoLine | None = None
    metadata: Metadata | None = None

    _not_null = field_validator(
        "supplier_id",
        "description",
        "category",
        "competence_date",
        "due_date",
        "amount",
        "currency",
        "metadata",
    )(reject_null)


class ExpenseSettle(InputModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount | None = Field(
        default=None, description="What was paid; default: amount + fine + interest - discount."
    )
    paid_at: UtcDatetime | None = Field(
        default=None, description="When it was paid (not in the future); default: now."
    )
    fine: Amount = Field(default=0, description="Fine (multa) paid, minor units.")
    interest: Amount = Field(default=0, description="Interest (juros) paid, minor units.")
    discount: Amount = Field(default=0, description="Discount (desconto) taken, minor units.")
    method: ExpenseMethod | None = Field(default=None, description="How it was paid.")


class ExpenseOut(BaseModel):
    id: str
    number: int
    supplier_id: str
    supplier: str = Field(description="The supplier's name.")
    supplier_number: int = Field(description="The supplier's `number`.")
    description: str
    category: str
    cost_center: str | None
    competence_date: date
    amount: int
    currency: str
    due_date: date
    document_number: str | None
    boleto_line: str | None = Field(description="The linha digitável, formatted.")
    status: ExpenseStatus
    paid_at: datetime | None
    paid_amount: int | None
    fine: int | None
    interest: int | None
    discount: int | None
    method: ExpenseMethod | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, expense: Expense, supplier: SupplierLabel) -> ExpenseOut:
        return cls(
            id=expense.id,
            number=expense.number,
            supplier_id=expense.supplier_id,
            supplier=supplier.name,
            supplier_number=supplier.number,
            description=expense.description,
            category=expense.category,
            cost_center=expense.cost_center,
            competence_date=expense.competence_date,
            amount=expense.amount,
            currency=expense.currency,
            due_date=expense.due_date,
            document_number=expense.document_number,
            boleto_line=expense.boleto_line,
            status=expense.status,
            paid_at=expense.paid_at,
            paid_amount=expense.paid_amount,
            fine=expense.fine,
            interest=expense.interest,
            discount=expense.discount,
            method=expense.method,
            metadata=expense.metadata_,
            created_at=expense.created_at,
            updated_at=expense.updated_at,
        )
