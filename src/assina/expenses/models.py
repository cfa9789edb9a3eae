from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base, EnumText, id_column


class ExpenseStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    REVERSED = "reversed"


class ExpenseMethod(StrEnum):
    """How an expense was paid, as `POST /v1/expenses/{id}/settle` records it."""

    BOLETO = "boleto"
    PIX = "pix"
    TRANSFER = "transfer"
    CARD = "card"
    DEBIT = "debit"  # débito automático
    CASH = "cash"
    OTHER = "other"


class Expense(Base):
    """A bill the tenant owes a supplier (conta a pagar)."""

    __tablename__ = "expenses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_expenses_tenant_id_id", "tenant_id", "id"),
        Index("ix_expenses_tenant_id_status_due_date", "tenant_id", "status", "due_date"),
        Index("ix_expenses_tenant_id_supplier_id", "tenant_id", "supplier_id"),
    )

    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id"), nullable=False)
    description: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(64))
    cost_center: Mapped[str | None] = mapped_column(String(64))
    competence_date: Mapped[date]
    due_date: Mapped[date]
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    document_number: Mapped[str | None] = mapped_column(String(64))
    # The linha digitável as assina formats it (47 digits, dots and spaces), checked.
    boleto_line: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ExpenseStatus] = mapped_column(EnumText(ExpenseStatus, 16))
    # What the settlement recorded; kept on a reversal, null while open.
    paid_at: Mapped[datetime | None]
    paid_amount: Mapped[int | None] = mapped_column(BigInteger)
    fine: Mapped[int | None] = mapped_column(BigInteger)
    interest: Mapped[int | None] = mapped_column(BigInteger)
    discount: Mapped[int | None] = mapped_column(BigInteger)
    method: Mapped[ExpenseMethod | None] = mapped_column(EnumText(ExpenseMethod, 16))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
