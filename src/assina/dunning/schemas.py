"""The dunning policy as the API reads and writes it (`GET/PUT /v1/dunning-policy`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from assina.core.inputs import InputModel
from assina.rules.dunning import DEFAULT_POLICY, DunningPolicy, DunningScope, LateIssueGrace

MAX_DAYS = 365
MAX_NOTICES = 10

Days = Annotated[int, Field(strict=True, ge=0, le=MAX_DAYS)]
NoticeDays = Annotated[
    list[Annotated[int, Field(strict=True, ge=0, le=MAX_DAYS)]],
    Field(max_length=MAX_NOTICES),
]


class DunningPolicyIn(InputModel):
    """The whole policy: a field left out takes its default."""

    grace_days: Days = Field(
        default=DEFAULT_POLICY.grace_days,
        description="Days after the due date before an open charge makes its customer delinquent.",
    )
    suspend_after_days: Days = Field(
        default=DEFAULT_POLICY.suspend_after_days,
        description="Days overdue at which the customer and the contracts in scope are "
        "suspended; more than grace_days.",
    )
    cancel_after_days: Days = Field(
        default=DEFAULT_POLICY.cancel_after_days,
        description="Days overdue at which the contracts in scope are cancelled (reason "
        "`dunning`); more than suspend_after_days.",
    )
    reminder_days_before_due: NoticeDays = Field(
        default=list(DEFAULT_POLICY.reminder_days_before_due),
        description="A `reminder` e-mail this many days before an open charge's due date.",
    )
    overdue_notice_days: NoticeDays = Field(
        default=list(DEFAULT_POLICY.overdue_notice_days),
        description="An `overdue` e-mail this many days after an unpaid charge's due date.",
    )
    resume_on_payment: bool = Field(
        default=DEFAULT_POLICY.resume_on_payment,
        strict=True,
        description="Resume suspended contracts once every overdue charge is settled (else "
        "`POST /v1/contracts/{id}/resume` does it).",
    )
    scope: DunningScope = Field(
        default=DEFAULT_POLICY.scope,
        description="`contract`: only contracts with an overdue charge of their own are "
        "suspended and cancelled; `customer`: all of a debtor's contracts, one-off charges "
        "counting too.",
    )
    late_issue_grace: LateIssueGrace = Field(
        default=DEFAULT_POLICY.late_issue_grace,
        description="A charge issued after its due date (a catch-up, a contract started in "
        "the past): `from_issue` counts its days overdue from the day it was issued, "
        "`from_due_date` from its due date like any other.",
    )

    def policy(self) -> DunningPolicy:
        return DunningPolicy(
            grace_days=self.grace_days,
            suspend_after_days=self.suspend_after_days,
            cancel_after_days=self.cancel_after_days,
            reminder_days_before_due=tuple(sorted(set(self.reminder_days_before_due))),
            overdue_notice_days=tuple(sorted(set(self.overdue_notice_days))),
            resume_on_payment=self.resume_on_payment,
            scope=self.scope,
            late_issue_grace=self.late_issue_grace,
        )


class DunningPolicyOut(BaseModel):
    grace_days: int
    suspend_after_days: int
    cancel_after_days: int
    reminder_days_before_due: list[int]
    overdue_notice_days: list[int]
    resume_on_payment: bool
    scope: DunningScope
    late_issue_grace: LateIssueGrace
    updated_at: datetime | None = Field(description="null while the defaults were never changed")

    @classmethod
    def of(cls, policy: DunningPolicy, updated_at: datetime | None) -> DunningPolicyOut:
        return cls(
            grace_days=policy.grace_days,
            suspend_after_days=policy.suspend_after_days,
            cancel_after_days=policy.cancel_after_days,
            reminder_days_before_due=list(policy.reminder_days_before_due),
            overdue_notice_days=list(policy.overdue_notice_days),
            resume_on_payment=policy.resume_on_payment,
            scope=policy.scope,
            late_issue_grace=policy.late_issue_grace,
            updated_at=updated_at,
        )
