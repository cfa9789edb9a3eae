"""The dunning invariants of docs/dunning.md, checked after every step of random sequences of
calendar passes on increasing days (and passes for earlier days, which must change nothing),
settlements, invalidations, policy changes and contract cancellations, on both backends.

Each example is a new tenant in the test's database, driven over real HTTP with a frozen
clock; Hypothesis's state machine runs in an event loop of its own (its rules are plain
functions). The expected customer status is recomputed from the stored charges with the pure
rules (`dunned_from`, `debt_stage`), not read from the code that moves customers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from assina.app import create_app
from assina.calendar.run import run_calendar
from assina.charges.models import Charge, ChargeStatus
from assina.config import Settings
from assina.contracts.models import Contract, ContractStatus
from assina.contracts.schemas import ContractOut
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.db.database import Database
from assina.dunning.policy import dunning_policy
from assina.rules.dunning import (
    DebtStage,
    DunningPolicy,
    DunningScope,
    LateIssueGrace,
    debt_stage,
    dunned_from,
)
from assina.tenants.models import Tenant
from tests.conftest import START, TEST_SECRET_KEY, TenantClient, make_tenant
from tests.integration.test_calendar import at_noon

T = TypeVar("T")
ZONE = ZoneInfo("America/Sao_Paulo")
FIRST_DAY = date(2026, 1, 15)  # START in the tenant's zone
LIVE = (ContractStatus.TRIALING, ContractStatus.ACTIVE, ContractStatus.SUSPENDED)
STATUS_BY_STAGE = {
    DebtStage.CURRENT: "active",
    DebtStage.DELINQUENT: "delinquent",
    DebtStage.SUSPENDED: "suspended",
    DebtStage.CANCELLED: "suspended",
}
MACHINE_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

policies = st.builds(
    lambda grace, suspend, cancel, scope, resume, late: {
        "grace_days": grace,
        "suspend_after_days": grace + suspend,
        "cancel_after_days": grace + suspend + cancel,
        "resume_on_payment": resume,
        "scope": scope,
        "late_issue_grace": late,
    },
    st.integers(0, 5),
    st.integers(1, 20),
    st.integers(1, 40),
    st.sampled_from([scope.value for scope in DunningScope]),
    st.booleans(),
    st.sampled_from([late.value for late in LateIssueGrace]),
)


class DunningMachine(RuleBasedStateMachine):
    def __init__(self, loop: asyncio.AbstractEventLoop, database: Database, data_dir: Path):
        super().__init__()
        self.loop = loop
        self.database = database
        self.clock = FrozenClock(START)
        self.today = FIRST_DAY
        app_settings = Settings(
            database_url="sqlite+aiosqlite://",  # unused: the app takes `database`
            secret_key=TEST_SECRET_KEY,
            data_dir=data_dir,
            allow_private_targets=True,
        )
        app = create_app(app_settings, database=database, clock=self.clock)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://assina.test"
        )
        box = SecretBox(TEST_SECRET_KEY)
        tenant = self.run(make_tenant(database, self.clock, box, "Escola Invariante"))
        self.api = TenantClient(tenant, self.http)
        self.tenant_id = tenant.tenant_id

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.http.aclose())

    # --- the world ----------------------------------------------------------------------

    @initialize(
        trials=st.lists(st.sampled_from([0, 0, 3, 7]), min_size=2, max_size=4),
        backdated=st.booleans(),
        one_off_due=st.integers(-5, 10),
    )
    def customers(self, trials: list[int], backdated: bool, one_off_due: int) -> None:
        self.run(self._customers(trials, backdated, one_off_due))

    async def _customers(self, trials: list[int], backdated: bool, one_off_due: int) -> None:
        product = await self._created("/v1/products", {"name": "Plano", "amount": 10000})
        for number, trial in enumerate(trials):
            customer = await self._created("/v1/customers", {"name": f"Cliente {number}"})
            contract: dict[str, Any] = {
                "customer_id": customer["id"],
                "items": [{"product_id": product["id"]}],
                "trial_days": trial,
            }
            if backdated and number == 0:
                contract["start_date"] = (FIRST_DAY - timedelta(days=40)).isoformat()
            await self._created("/v1/contracts", contract)
            if number == 1:
                due = FIRST_DAY + timedelta(days=one_off_due)
                lines = [{"description": "Avulso", "amount": 3000}]
                charge = {"customer_id": customer["id"], "items": lines, "due_date": str(due)}
                await self._created("/v1/charges", charge)
        await self._pass()

    async def _created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.api.post(path, body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    # --- the steps ----------------------------------------------------------------------

    @rule(days=st.integers(1, 25))
    def days_pass(self, days: int) -> None:
        self.today += timedelta(days=days)
        self.clock.set(at_noon(self.today))
        self.run(self._pass())

    @rule(back=st.integers(1, 30))
    def a_pass_for_an_earlier_day_changes_nothing(self, back: int) -> None:
        before = self.run(self._state())
        self.run(self._pass(self.today - timedelta(days=back)))
        assert self.run(self._state()) == before

    @rule(pick=st.integers(0, 1000), settle=st.booleans())
    def a_charge_is_paid_or_dropped(self, pick: int, settle: bool) -> None:
        self.run(self._close(pick, "settle" if settle else "invalidate"))

    @rule(policy=policies)
    def the_policy_changes(self, policy: dict[str, Any]) -> None:
        self.run(self._new_policy(policy))

    @rule(pick=st.integers(0, 1000), at_period_end=st.booleans())
    def a_contract_is_cancelled(self, pick: int, at_period_end: bool) -> None:
        self.run(self._cancel(pick, at_period_end))

    async def _pass(self, day: date | None = None) -> None:
        report = await run_calendar(self.database, self.clock, day=day, tenant_id=self.tenant_id)
        assert report.failed == []

    async def _close(self, pick: int, move: str) -> None:
        charges = await self._rows(Charge, Charge.status == ChargeStatus.OPEN.value)
        if not charges:
            return
        charge = charges[pick % len(charges)]
        response = await self.api.post(f"/v1/charges/{charge.id}/{move}", {})
        assert response.status_code == 200, response.text

    async def _new_policy(self, policy: dict[str, Any]) -> None:
        response = await self.http.put("/v1/dunning-policy", json=policy, headers=self.api.headers)
        assert response.status_code == 200, response.text
        await self._pass()  # the worker runs the day's pass again after a policy change

    async def _cancel(self, pick: int, at_period_end: bool) -> None:
        live = await self._rows(Contract, Contract.status.in_([s.value for s in LIVE]))
        if not live:
            return
        contract = live[pick % len(live)]
        body = {"at_period_end": at_period_end}
        response = await self.api.post(f"/v1/contracts/{contract.id}/cancel", body)
        asked_twice = at_period_end and contract.cancel_at_period_end
        assert response.status_code == (409 if asked_twice else 200), response.text

    # --- reading ------------------------------------------------------------------------

    async def _rows(self, model: type[T], *where: Any) -> list[T]:
        async with self.database.read() as session:
            statement = select(model).where(
                model.tenant_id == self.tenant_id,  # type: ignore[attr-defined]
                *where,
            )
            rows = list((await session.scalars(statement.order_by(model.id))).all())  # type: ignore[attr-defined]
            session.expunge_all()
            return rows

    async def _state(self) -> list[tuple[str, ...]]:
        customers = await self._rows(Customer)
        contracts = await self._rows(Contract)
        charges = await self._rows(Charge)
        return (
            [(c.id, c.status) for c in customers]
            + [(c.id, c.status) for c in contracts]
            + [(c.id, c.status) for c in charges]
        )

    async def _policy_and_day(self) -> tuple[DunningPolicy, date]:
        async with self.database.read() as session:
            policy = await dunning_policy(session, self.tenant_id)
            tenant = await session.get(Tenant, self.tenant_id)
            assert tenant is not None
            return policy, max(self.today, tenant.dunning_day or self.today)

    # --- the invariants -----------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        policy, day = await self._policy_and_day()
        customers = {c.id: c for c in await self._rows(Customer)}
        contracts = await self._rows(Contract)
        open_charges = await self._rows(Charge, Charge.status == ChargeStatus.OPEN.value)
        for contract in contracts:
            shown = ContractOut.of(contract, self.today)
            if contract.status in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED):
                assert shown.current_period_start is not None, f"{contract.id} has no period"
                assert shown.current_period_end is not None
            customer = customers[contract.customer_id]
            if (
                policy.scope == DunningScope.CUSTOMER
                and customer.status == "suspended"
                and not contract.dunning_exempt
            ):
                assert contract.status in ("suspended", "cancelled"), (
                    f"{contract.id} is {contract.status}, its customer suspended"
                )
        for customer in customers.values():
            expected = _status_the_policy_gives(customer, open_charges, policy, day)
            assert customer.status == expected, (customer.id, customer.status, expected, day)


def _status_the_policy_gives(
    customer: Customer, open_charges: list[Charge], policy: DunningPolicy, day: date
) -> str:
    overdue = [
        dunned_from(charge.due_date, charge.created_at.astimezone(ZONE).date(), policy)
        for charge in open_charges
        if charge.customer_id == customer.id and charge.due_date < day and not charge.dunning_exempt
    ]
    return STATUS_BY_STAGE[debt_stage(min(overdue, default=None), day, policy)]


def test_the_dunning_invariants_hold_over_random_histories(db_url: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    database = Database.from_url(db_url, pool_size=2)
    try:
        run_state_machine_as_test(
            lambda: DunningMachine(loop, database, tmp_path), settings=MACHINE_SETTINGS
        )
    finally:
        loop.run_until_complete(database.dispose())
        loop.close()
