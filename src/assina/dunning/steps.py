"""Applying the dunning policy to a batch of customers, in the caller's transaction: each
customer's status brought to where its oldest overdue charge puts it (`customer.status_changed`),
the contracts in scope suspended, resumed or cancelled (reason `dunning`), and the e-mails the
day calls for queued in the outbox: reminders before a due date, overdue notices after it,
suspension and cancellation notices, and "trial ends soon".

Everything is a function of stored facts and the day (billing/dunning.py): applying it again
the same day finds nothing to do. A notice is sent once: its `notice_key` (kind, object and
notice day) is unique per tenant in the outbox, and keys already there are skipped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing.dunning import (
    TRIAL_ENDING_NOTICE_DAYS,
    DunningPlan,
    DunningPolicy,
    days_overdue,
    overdue_notice_day,
    plan_dunning,
    reminder_day,
)
from assina.charges.models import Charge
from assina.contracts.lifecycle import cancel_contract_now, move_contract, resume_contract
from assina.contracts.models import Contract, ContractStatus
from assina.core.clock import Clock
from assina.customers.models import Customer, CustomerStatus
from assina.customers.schemas import CustomerOut
from assina.dunning.facts import CustomerFile, load_files
from assina.events.catalog import EventType
from assina.events.service import Change, emit_events
from assina.notifications.models import Email, EmailKind
from assina.notifications.outbox import EmailContext, email_context, queue_email
from assina.webhooks.fanout import enabled_endpoints

DUNNING_REASON = "dunning"


class CustomerStatusChangedOut(CustomerOut):
    """`customer.status_changed`'s data: the customer after the move, and the move."""

    model_config = ConfigDict(serialize_by_alias=True)

    from_status: str = Field(serialization_alias="from")
    to_status: str = Field(serialization_alias="to")
    reason: str


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


@dataclass
class _Mail:
    kind: EmailKind
    customer: Customer
    key: str
    charge: Charge | None = None
    contract: Contract | None = None
    extra: dict[str, int] = field(default_factory=dict)


async def apply_dunning(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    customer_ids: Sequence[str],
    day: date,
    policy: DunningPolicy,
) -> DunningStep:
    lock = session.get_bind().dialect.name == "postgresql"
    files = await load_files(session, tenant_id, customer_ids, day, policy, lock)
    plans = [(file, plan_dunning(file.facts(day), day, policy)) for file in files]
    step = DunningStep(customers=len(files))
    await _move_customers(session, clock, tenant_id, plans, step)
    mails: list[_Mail] = []
    for file, plan in plans:
        await _move_contracts(session, clock, day, file, plan, step, mails)
        mails.extend(_notices(file, plan, day, policy))
    step.emails = await _queue(session, clock, tenant_id, customer_ids, mails)
    return step


async def _move_customers(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    plans: Sequence[tuple[CustomerFile, DunningPlan]],
    step: DunningStep,
) -> None:
    now = clock.now()
    changes = []
    for file, plan in plans:
        if plan.customer_status is None or plan.reason is None:
            continue
        customer = file.customer
        before = customer.status
        customer.status = plan.customer_status
        customer.updated_at = now
        shown = CustomerOut.of(customer).model_dump()
        data = CustomerStatusChangedOut(
            **shown, from_status=before, to_status=customer.status, reason=plan.reason.value
        )
        changes.append(Change(data, customer.id, previous={"status": before}))
    if not changes:
        return
    await session.flush()
    listeners = await enabled_endpoints(session, tenant_id)
    await emit_events(
        session, tenant_id, EventType.CUSTOMER_STATUS_CHANGED, changes, now, listeners
    )
    step.status_changes += len(changes)


async def _move_contracts(
    session: AsyncSession,
    clock: Clock,
    day: date,
    file: CustomerFile,
    plan: DunningPlan,
    step: DunningStep,
    mails: list[_Mail],
) -> None:
    contracts = {contract.id: contract for contract in file.contracts}
    for contract_id in plan.suspend:
        contract = contracts[contract_id]
        await move_contract(session, clock, contract, ContractStatus.SUSPENDED)
        key = f"suspension:{contract.id}:{day}"  # suspended again later: another notice
        mails.append(_Mail(EmailKind.SUSPENSION, file.customer, key, contract=contract))
        step.suspended += 1
    for contract_id in plan.resume:
        await resume_contract(session, clock, contracts[contract_id])
        step.resumed += 1
    for contract_id in plan.cancel:
        contract = contracts[contract_id]
        await cancel_contract_now(session, clock, contract, DUNNING_REASON)
        key = f"cancellation:{contract.id}"
        mails.append(_Mail(EmailKind.CANCELLATION, file.customer, key, contract=contract))
        step.cancelled += 1


def _notices(
    file: CustomerFile, plan: DunningPlan, day: date, policy: DunningPolicy
) -> list[_Mail]:
    """Reminders, overdue notices and "trial ends soon" due today for this customer. A
    customer left alone by dunning (exempt, inactive) still gets reminders and trial notices,
    never overdue notices; neither does an exempt charge."""
    customer, mails = file.customer, []
    dunned = not customer.dunning_exempt and customer.status != CustomerStatus.INACTIVE
    for charge in file.charges:
        if charge.due_date >= day:
            before = reminder_day(charge.due_date, day, policy)
            if before is not None:
                key = f"reminder:{charge.id}:{before}"
                left = {"days_until_due": (charge.due_date - day).days}
                mails.append(_Mail(EmailKind.REMINDER, customer, key, charge, extra=left))
            continue
        after = overdue_notice_day(charge.due_date, day, policy)
        if after is None or not dunned or charge.dunning_exempt:
            continue
        late = {"days_overdue": days_overdue(charge.due_date, day)}
        key = f"overdue:{charge.id}:{after}"
        mails.append(_Mail(EmailKind.OVERDUE, customer, key, charge, extra=late))
    for contract in file.contracts:
        if contract.status != ContractStatus.TRIALING or contract.trial_end is None:
            continue
        days_left = (contract.trial_end - day).days
        if 0 <= days_left <= TRIAL_ENDING_NOTICE_DAYS and contract.id not in plan.cancel:
            key = f"trial_ending:{contract.id}:{contract.trial_end}"
            mail = _Mail(EmailKind.TRIAL_ENDING, customer, key, contract=contract)
            mail.extra["days_left"] = days_left
            mails.append(mail)
    return mails


async def _queue(
    session: AsyncSession,
    clock: Clock,
    tenant_id: str,
    customer_ids: Sequence[str],
    mails: Sequence[_Mail],
) -> int:
    """Queue the e-mails whose notice key is not in the outbox yet; one template lookup per
    kind for the whole batch."""
    if not mails:
        return 0
    sent = set(
        await session.scalars(
            select(Email.notice_key).where(
                Email.tenant_id == tenant_id,
                Email.customer_id.in_(customer_ids),
                Email.notice_key.in_([mail.key for mail in mails]),
            )
        )
    )
    contexts: dict[EmailKind, EmailContext] = {}
    queued = 0
    for mail in mails:
        if mail.key in sent:
            continue
        sent.add(mail.key)
        if mail.kind not in contexts:
            contexts[mail.kind] = await email_context(session, tenant_id, mail.kind)
        await queue_email(
            session,
            clock,
            tenant_id,
            mail.kind,
            mail.customer,
            charge=mail.charge,
            contract=mail.contract,
            extra=mail.extra,
            context=contexts[mail.kind],
            notice_key=mail.key,
        )
        queued += 1
    return queued
