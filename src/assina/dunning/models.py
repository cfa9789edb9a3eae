from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from assina.db.base import Base


class DunningPolicyRow(Base):
    """A tenant's dunning policy; a tenant without a row has the defaults (rules/dunning.py)."""

    __tablename__ = "dunning_policies"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    grace_days: Mapped[int]
    suspend_after_days: Mapped[int]
    cancel_after_days: Mapped[int]
    reminder_days_before_due: Mapped[list[int]]
    overdue_notice_days: Mapped[list[int]]
    resume_on_payment: Mapped[bool]
    scope: Mapped[str] = mapped_column(String(16))
    late_issue_grace: Mapped[str] = mapped_column(String(16), server_default="from_issue")
    updated_at: Mapped[datetime]
