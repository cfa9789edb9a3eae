"""Reading and replacing a tenant's dunning policy."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import invalid
from assina.db.dialect import insert_on_conflict
from assina.dunning.models import DunningPolicyRow
from assina.dunning.schemas import DunningPolicyIn, DunningPolicyOut
from assina.rules.dunning import (
    DEFAULT_POLICY,
    DunningPolicy,
    DunningScope,
    LateIssueGrace,
    policy_problems,
)


def _policy_of(row: DunningPolicyRow | None) -> DunningPolicy:
    if row is None:
        return DEFAULT_POLICY
    return DunningPolicy(
        grace_days=row.grace_days,
        suspend_after_days=row.suspend_after_days,
        cancel_after_days=row.cancel_after_days,
        reminder_days_before_due=tuple(row.reminder_days_before_due),
        overdue_notice_days=tuple(row.overdue_notice_days),
        resume_on_payment=row.resume_on_payment,
        scope=DunningScope(row.scope),
        late_issue_grace=LateIssueGrace(row.late_issue_grace),
    )


async def dunning_policy(session: AsyncSession, tenant_id: str) -> DunningPolicy:
    """The tenant's policy (the defaults when it never saved one)."""
    return _policy_of(await session.get(DunningPolicyRow, tenant_id))


async def get_dunning_policy(session: AsyncSession, tenant_id: str) -> DunningPolicyOut:
    row = await session.get(DunningPolicyRow, tenant_id)
    return DunningPolicyOut.of(_policy_of(row), row.updated_at if row else None)


async def replace_dunning_policy(
    session: AsyncSession, clock: Clock, tenant_id: str, params: DunningPolicyIn
) -> DunningPolicyOut:
    """Store the whole policy (an upsert, so concurrent first writes cannot collide); 422
    when its days are out of order."""
    policy, now = params.policy(), clock.now()
    problems = policy_problems(policy)
    if problems:
        raise invalid(*problems[0])
    values = {
        "grace_days": policy.grace_days,
        "suspend_after_days": policy.suspend_after_days,
        "cancel_after_days": policy.cancel_after_days,
        "reminder_days_before_due": list(policy.reminder_days_before_due),
        "overdue_notice_days": list(policy.overdue_notice_days),
        "resume_on_payment": policy.resume_on_payment,
        "scope": policy.scope.value,
        "late_issue_grace": policy.late_issue_grace.value,
        "updated_at": now,
    }
    table = cast(Table, DunningPolicyRow.__table__)
    statement = (
        insert_on_conflict(session, table)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(index_elements=[table.c.tenant_id], set_=values)
    )
    await session.execute(statement)
    return DunningPolicyOut.of(policy, now)
