"""Applying the dunning policy to a batch of customers, in the caller's transaction: each
customer's status brought to where its oldest overdue charge puts it (`customer.status_changed`),
the contracts in scope suspended, resumed or cancelled (reason `dunning`), and the e-mails the
day calls for queued in the outbox: reminders before a due date, overdue notices after it,
suspension and cancellation notices, and "trial ends soon".

Everything is a function of stored facts and the day (rules/dunning.py): applying it again
the same day finds nothing to do. A notice is sent once: its `notice_key` (kind, object and
notice day) is unique per tenant in the outbox, and keys already there are skipped. A reminder
whose day had come by the day its charge was issued is not sent: the `charge_created` e-mail
said the same (unless the tenant does not send those)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge
from assina.charges.service import first_paid_charges
from assina.contracts.lifecycle import cancel_contract_now, move_contract, resume_contract
from assina.contracts.models import Contract, ContractStatus, StatusReason
from assina.core.clock import local_date
from assina.customers.models import CustomerStatus
from assina.customers.schemas import CustomerOut, CustomerStatusChangedOut
from assina.db.dialect import runs_concurrent_writers
from assina.db.scope import TenantScope
from assina.dunning.facts import CustomerFile, load_files
from assina.dunning.policy import dunning_policy
from assina.events.catalog import EventType
from assina.events.service import Change, emit_events
from assina.notifications.models import EmailKind
from assina.notifications.outbox import Notice, email_context, queue_emails
from assina.rules.dunning import (
    TRIAL_ENDING_NOTICE_DAYS,
    DunningCause,
    DunningPlan,
    DunningPolicy,
    better_reason,
    days_overdue,
    overdue_notice_day,
    plan_dunning,
    reminder_day,
    reminder_said_at_issue,
)
from assina.tenants.clock import tenant_today
from assina.tenants.models import Tenant

DUNNING_REASON = "dunning"


@dataclass
class DunningStep:
    """What a batch did."""

    customers: int = 0
    status_changes: int = 0
    suspended: int = 0
    resumed: int = 0
    cancelled: int = 0
    emails: int = 0

    def add(self, other: DunningStep) -> None:
        for name in ("customers", "status_changes", "suspended", "resumed", "cancelled", "emails"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class _Mail:
    kind: EmailKind
    notice: Notice


@dataclass(frozen=True)
class _Issued:
    """What the batch's customers were told already when their charges were issued, so that
    no notice says it again or leaves it out: whether the tenant sends `charge_created`
    e-mails, its time zone (a charge's issue day is its creation's date there), and the
    charges issued for the first paid period of trials, by contract id."""

    sent: bool
    time_zone: str
    first_charges: dict[str, Charge]

    def said(self, charge: Charge, before: int) -> bool:
        """Whether the charge's `charge_created` e-mail already said what the reminder
        `before` days before its due date would say."""
        if not self.sent or charge.amount <= 0:  # no charge_created e-mail went out
            return False
        issued_on = local_date(charge.created_at, self.time_zone)
        return reminder_said_at_issue(charge.due_date, before, issued_on)


async def _issued(
    session: AsyncSession, tenant_id: str, files: Sequence[CustomerFile], day: date
) -> _Issued:
    context = await email_context(session, tenant_id, EmailKind.CHARGE_CREATED)
    trials = [c for file in files for c in file.contracts if _trial_notice_days(c, day) is not None]
    first = await first_paid_charges(session, tenant_id, trials)  # no query without trials
    return _Issued(not context.disabled, context.setting.time_zone, first)


def _trial_notice_days(contract: Contract, day: date) -> int | None:
    """The days left of a trial whose "trial ends soon" notice is due by `day`, else None."""
    if contract.status != ContractStatus.TRIALING or contract.trial_end is None:
        return None
    days_left = (contract.trial_end - day).days
    return days_left if 0 <= days_left <= TRIAL_ENDING_NOTICE_DAYS else None


async def reconsider_customers(
    scope: TenantScope, customer_ids: Sequence[str], cause: DunningCause
) -> DunningStep:
    """Apply the tenant's policy to customers at once, in the caller's transaction: after
    a change to their debts (`cause`: a charge paid, invalidated or reopened, an exempt flag),
    so that a customer who pays is active again, its contracts resumed, in the same request,
    not at the next day's pass. Decided for today, or for the day of the tenant's last pass
    when that is later (a pass for a later day ran): a decision never goes back in time.
    One batch of the policy for all of them (a batch of card payments settles hundreds).
    Its pending ORM changes must be flushed."""
    session, tenant_id = scope.session, scope.tenant_id
    policy = await dunning_policy(session, tenant_id)
    today = await tenant_today(session, scope.clock, tenant_id)
    day = max(today, await last_dunning_day(session, tenant_id) or today)
    return await apply_dunning(scope, customer_ids, day, policy, cause)


async def last_dunning_day(session: AsyncSession, tenant_id: str) -> date | None:
    """The latest day a dunning pass ran for the tenant (None before the first)."""
    return await session.scalar(select(Tenant.dunning_day).where(Tenant.id == tenant_id))


async def apply_dunning(
    scope: TenantScope,
    customer_ids: Sequence[str],
    day: date,
    policy: DunningPolicy,
    cause: DunningCause = DunningCause.DAY_PASSED,
) -> DunningStep:
    session, tenant_id = scope.session, scope.tenant_id
    lock = runs_concurrent_writers(session)
    files = await load_files(session, tenant_id, customer_ids, day, policy, lock)
    plans = [(file, plan_dunning(file.facts(day, policy), day, policy, cause)) for file in files]
    step = DunningStep(customers=len(files))
    await _move_customers(scope, plans, step)
    mails: list[_Mail] = []
    issued = await _issued(session, tenant_id, files, day)
    for file, plan in plans:
        await _move_contracts(scope, day, file, plan, cause, step, mails)
        mails.extend(_notices(file, plan, day, policy, issued))
    step.emails = await _queue(scope, mails)
    return step


async def _move_customers(
    scope: TenantScope,
    plans: Sequence[tuple[CustomerFile, DunningPlan]],
    step: DunningStep,
) -> None:
    now = scope.clock.now()
    changes = []
    for file, plan in plans:
        if plan.customer_status is None or plan.reason is None:
            continue
        customer = file.customer
        before = customer.status
        customer.status = CustomerStatus(plan.customer_status)
        customer.updated_at = now
        # The customer as CustomerOut shows it, and the move: built from that model's values,
        # not validated a second time from its dump (an address stored before a rule changed
        # is shown as stored, by CustomerOut.of, and must not fail the move).
        data = CustomerStatusChangedOut.model_construct(
            **dict(CustomerOut.of(customer)),
            from_status=CustomerStatus(before),
            to_status=customer.status,
            reason=plan.reason.value,
        )
        changes.append(Change(data, customer.id, previous={"status": before}))
    if not changes:
        return
    await scope.session.flush()
    await emit_events(
        scope.session,
        scope.clock,
        scope.tenant_id,
        EventType.CUSTOMER_STATUS_CHANGED,
        changes,
        now=now,
        due_at=scope.clock.real_now(),
    )
    step.status_changes += len(changes)


async def _move_contracts(
    scope: TenantScope,
    day: date,
    file: CustomerFile,
    plan: DunningPlan,
    cause: DunningCause,
    step: DunningStep,
    mails: list[_Mail],
) -> None:
    session, clock = scope.session, scope.clock
    contracts = {contract.id: contract for contract in file.contracts}
    resumed_because = better_reason(cause)
    for contract_id in plan.suspend:
        contract = contracts[contract_id]
        await move_contract(
            session, clock, contract, ContractStatus.SUSPENDED, StatusReason.OVERDUE
        )
        key = f"suspension:{contract.id}:{day}"  # suspended again later: another notice
        notice = Notice.of(file.customer, contract=contract, notice_key=key)
        mails.append(_Mail(EmailKind.SUSPENSION, notice))
        step.suspended += 1
    for contract_id in plan.resume:
        await resume_contract(session, clock, contracts[contract_id], resumed_because.value)
        step.resumed += 1
    for contract_id in plan.cancel:
        contract = contracts[contract_id]
        await cancel_contract_now(session, clock, contract, DUNNING_REASON, StatusReason.DUNNING)
        key = f"cancellation:{contract.id}"
        notice = Notice.of(file.customer, contract=contract, notice_key=key)
        mails.append(_Mail(EmailKind.CANCELLATION, notice))
        step.cancelled += 1


def _notices(
    file: CustomerFile,
    plan: DunningPlan,
    day: date,
    policy: DunningPolicy,
    issued: _Issued,
) -> list[_Mail]:
    """Reminders, overdue notices and "trial ends soon" due today for this customer. A
    customer left alone by dunning (exempt, inactive) still gets reminders and trial notices,
    never overdue notices; neither does an exempt charge."""
    customer, mails = file.customer, []
    dunned = not customer.dunning_exempt and customer.status != CustomerStatus.INACTIVE
    for charge in file.charges:
        if charge.due_date >= day:
            before = reminder_day(charge.due_date, day, policy)
            if before is not None and not issued.said(charge, before):
                key = f"reminder:{charge.id}:{before}"
                left = {"days_until_due": (charge.due_date - day).days}
                mails.append(
                    _Mail(EmailKind.REMINDER, Notice.of(customer, charge, None, left, key))
                )
            continue
        # Counted from where dunning counts (a charge issued late: its issue day, by policy).
        after = overdue_notice_day(file.dunned_from(charge, policy), day, policy)
        if after is None or not dunned or charge.dunning_exempt:
            continue
        late = {"days_overdue": days_overdue(charge.due_date, day)}
        key = f"overdue:{charge.id}:{after}"
        mails.append(_Mail(EmailKind.OVERDUE, Notice.of(customer, charge, None, late, key)))
    for contract in file.contracts:
        days_left = _trial_notice_days(contract, day)
        if days_left is not None and contract.id not in plan.cancel:
            key = f"trial_ending:{contract.id}:{contract.trial_end}"
            left = {"days_left": days_left}
            first = issued.first_charges.get(contract.id)  # its e-mail says when and how much
            notice = Notice.of(customer, first, contract, left, key)
            mails.append(_Mail(EmailKind.TRIAL_ENDING, notice))
    return mails


async def _queue(scope: TenantScope, mails: Sequence[_Mail]) -> int:
    """Queue the batch's e-mails, a multi-row INSERT per kind; those whose notice key is in
    the outbox already (a day run twice) are skipped by the database."""
    by_kind: dict[EmailKind, list[Notice]] = {}
    for mail in mails:
        by_kind.setdefault(mail.kind, []).append(mail.notice)
    queued = 0
    for kind, notices in by_kind.items():
        now, due_at = scope.clock.now(), scope.clock.real_now()
        queued += await queue_emails(
            scope.session, scope.tenant_id, kind, notices, now, due_at=due_at
        )
    return queued
