"""Dunning on both backends: the policy's API, and customers walked day by day through the
calendar from due to delinquent, suspended and cancelled, or back to active once they pay,
with every event and e-mail checked. Dates are written out by hand for the default policy
(delinquent the day after the due date, suspended 15 days after it, cancelled after 60)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from assina.calendar.run import run_calendar
from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.dunning.run import DunningDays
from assina.dunning.steps import DunningStep
from tests.assertions import assert_problem
from tests.conftest import TenantClient
from tests.integration.contract_support import new_product, post_contract, read_contract
from tests.integration.email_support import put
from tests.integration.fuzz_support import event_log
from tests.integration.test_calendar import at_noon, charges_of, pass_on

DUE = date(2026, 1, 15)  # the first charge's due date: the contract starts today


async def customer_with_contract(api: TenantClient, name: str, email: str) -> dict[str, Any]:
    response = await api.post("/v1/customers", {"name": name, "email": email})
    assert response.status_code == 201, response.text
    product = await new_product(api, name="Plano Mensal", amount=10000)
    contract = await post_contract(api, response.json()["id"], [product])
    return {"customer": response.json(), "contract": contract}


async def days(database: Database, clock: FrozenClock, first: date, last: date) -> None:
    """A pass on every day, each run twice: the second does nothing."""
    day = first
    while day <= last:
        await pass_on(database, clock, day)
        again = await pass_on(database, clock, day)
        assert (again.charges_issued, again.dunning) == (0, DunningStep(again.dunning.customers))
        day += timedelta(days=1)


async def emails_of(api: TenantClient, customer_id: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/emails", params={"customer_id": customer_id, "limit": 100})
    assert response.status_code == 200, response.text
    return sorted(response.json()["data"], key=lambda email: email["id"])


async def email_body(api: TenantClient, email_id: str) -> str:
    response = await api.get(f"/v1/emails/{email_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["text"])


def dunning_events(events: list[dict[str, Any]], customer_id: str) -> list[tuple[Any, ...]]:
    """(type, what moved) for the customer's status moves and its contracts' moves."""
    moves: list[tuple[Any, ...]] = []
    for event in sorted(events, key=lambda event: event["sequence"]):
        data = event["data"]
        if customer_id not in (data.get("customer_id"), data.get("id")):
            continue
        if event["type"] == "customer.status_changed":
            moves.append((event["type"], data["from"], data["to"], data["reason"]))
        elif event["type"] == "contract.updated" and "status" in (event["previous"] or {}):
            moves.append((event["type"], event["previous"]["status"], data["status"]))
        elif event["type"] == "contract.cancelled":
            moves.append((event["type"], data["cancel_reason"]))
    return moves


async def test_an_unpaid_customer_goes_delinquent_suspended_then_cancelled(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    ana = await customer_with_contract(api, "Ana Souza", "ana@example.com")
    customer_id, contract_id = ana["customer"]["id"], ana["contract"]["id"]

    await days(database, clock, DUE, DUE)
    [charge] = await charges_of(api, contract_id)
    assert (charge["due_date"], charge["status"]) == ("2026-01-15", "open")
    assert (await api.get(f"/v1/customers/{customer_id}")).json()["status"] == "active"

    await days(database, clock, DUE + timedelta(days=1), DUE + timedelta(days=1))
    assert (await api.get(f"/v1/customers/{customer_id}")).json()["status"] == "delinquent"
    assert (await read_contract(api, contract_id))["status"] == "active"

    await days(database, clock, DUE + timedelta(days=2), DUE + timedelta(days=14))
    assert (await read_contract(api, contract_id))["status"] == "active"
    await days(database, clock, DUE + timedelta(days=15), DUE + timedelta(days=15))
    assert (await api.get(f"/v1/customers/{customer_id}")).json()["status"] == "suspended"
    assert (await read_contract(api, contract_id))["status"] == "suspended"

    await days(database, clock, DUE + timedelta(days=16), DUE + timedelta(days=59))
    assert (await read_contract(api, contract_id))["status"] == "suspended"
    # Suspended contracts are not charged: February's and March's charges were never issued.
    assert len(await charges_of(api, contract_id)) == 1
    await days(database, clock, DUE + timedelta(days=60), DUE + timedelta(days=62))
    contract = await read_contract(api, contract_id)
    assert (contract["status"], contract["cancel_reason"]) == ("cancelled", "dunning")
    assert (await api.get(f"/v1/customers/{customer_id}")).json()["status"] == "suspended"

    assert dunning_events(await event_log(api), customer_id) == [
        ("customer.status_changed", "active", "delinquent", "overdue"),
        ("customer.status_changed", "delinquent", "suspended", "suspended"),
        ("contract.updated", "active", "suspended"),
        ("contract.cancelled", "dunning"),
    ]
    emails = await emails_of(api, customer_id)
    # No reminder: the charge was issued on its due date, its own reminder day, and its
    # charge_created e-mail said it already.
    assert [(email["kind"], email["created_at"][:10]) for email in emails] == [
        ("charge_created", "2026-01-15"),
        ("overdue", "2026-01-16"),
        ("overdue", "2026-01-22"),
        ("suspension", "2026-01-30"),
        ("cancellation", "2026-03-16"),
    ]
    number, amount = charge["number"], charge["amount"]
    shown = f"R$ {amount // 100},{amount % 100:02d}"
    assert emails[0]["subject"] == f"Nova cobrança de {shown} com vencimento em 15/01/2026"
    assert f"cobrança nº {number}, no valor de {shown}" in await email_body(api, emails[0]["id"])
    assert emails[1]["subject"] == f"Cobrança em atraso: nº {number}, vencida em 15/01/2026"
    assert "1 dia em atraso" in await email_body(api, emails[1]["id"])
    assert "7 dias em atraso" in await email_body(api, emails[2]["id"])
    contract_number = ana["contract"]["number"]
    assert emails[3]["subject"] == f"Serviço suspenso: contrato nº {contract_number}"
    assert "suspenso por falta de pagamento" in await email_body(api, emails[3]["id"])
    assert str(contract_number) in emails[4]["subject"]
    assert {email["to"] for email in emails} == {"ana@example.com"}

    # Later days change nothing more.
    before = len(await event_log(api))
    await days(database, clock, DUE + timedelta(days=63), DUE + timedelta(days=70))
    assert len(await event_log(api)) == before
    assert len(await emails_of(api, customer_id)) == len(emails)


async def test_a_customer_who_pays_on_day_20_comes_back_with_its_contract(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    bia = await customer_with_contract(api, "Bia Lima", "bia@example.com")
    customer_id, contract_id = bia["customer"]["id"], bia["contract"]["id"]
    await days(database, clock, DUE, DUE + timedelta(days=19))
    assert (await read_contract(api, contract_id))["status"] == "suspended"

    [charge] = await charges_of(api, contract_id)
    clock.set(at_noon(DUE + timedelta(days=20)))
    settled = await api.post(f"/v1/charges/{charge['id']}/settle", {})
    assert settled.status_code == 200, settled.text
    assert settled.json()["fine_amount"] > 0  # paid late: fine and interest
    # Back at once, in the settlement's own transaction: no pass has run since.
    assert (await api.get(f"/v1/customers/{customer_id}")).json()["status"] == "active"
    assert (await read_contract(api, contract_id))["status"] == "active"
    await days(database, clock, DUE + timedelta(days=20), DUE + timedelta(days=21))

    assert (await api.get(f"/v1/customers/{customer_id}")).json()["status"] == "active"
    contract = await read_contract(api, contract_id)
    assert contract["status"] == "active"
    assert contract["next_charge_date"] == "2026-03-15"
    assert [c["due_date"] for c in await charges_of(api, contract_id)] == [
        "2026-01-15",
        "2026-02-15",  # issued 10 days ahead, on February 5, once resumed
    ]
    receipts = [e for e in await emails_of(api, customer_id) if e["kind"] == "receipt"]
    assert [(e["charge_id"], e["to"]) for e in receipts] == [(charge["id"], "bia@example.com")]
    assert dunning_events(await event_log(api), customer_id) == [
        ("customer.status_changed", "active", "delinquent", "overdue"),
        ("customer.status_changed", "delinquent", "suspended", "suspended"),
        ("contract.updated", "active", "suspended"),
        ("customer.status_changed", "suspended", "active", "paid"),
        ("contract.updated", "suspended", "active"),
    ]


async def test_debts_changed_by_hand_move_the_customer_at_once(
    api: TenantClient, clock: FrozenClock
) -> None:
    """Between the daily passes, whatever changes a customer's debts decides its standing in
    the same request: a charge created already overdue, dropped, reopened, paid. Each move
    back names what made it (not `paid` for a charge invalidated)."""
    clock.set(at_noon(DUE))
    # Dunned from its due date even though it is issued after it (the default counts from
    # the issue day: test_a_charge_issued_late_is_dunned_from_its_issue_day).
    assert (await put(api, "/v1/dunning-policy", {"late_issue_grace": "from_due_date"})).is_success
    created = await api.post("/v1/customers", {"name": "Duda", "email": "duda@example.com"})
    customer_id = created.json()["id"]
    late = {"customer_id": customer_id, "items": [{"description": "Avulso", "amount": 5000}]}
    charge = await api.post("/v1/charges", {**late, "due_date": "2026-01-10"})
    assert charge.status_code == 201, charge.text
    path = f"/v1/charges/{charge.json()['id']}"

    async def standing() -> str:
        status: str = (await api.get(f"/v1/customers/{customer_id}")).json()["status"]
        return status

    assert await standing() == "delinquent"
    assert (await api.post(f"{path}/invalidate", {})).status_code == 200
    assert await standing() == "active"
    assert (await api.post(f"{path}/reactivate", {})).status_code == 200
    assert await standing() == "delinquent"
    assert (await api.post(f"{path}/settle", {})).status_code == 200
    assert await standing() == "active"
    moves = [move[1:] for move in dunning_events(await event_log(api), customer_id)]
    assert moves == [
        ("active", "delinquent", "overdue"),
        ("delinquent", "active", "invalidated"),
        ("active", "delinquent", "overdue"),
        ("delinquent", "active", "paid"),
    ]
    # A charge due in the future leaves a good customer alone.
    assert (await api.post("/v1/charges", {**late, "due_date": "2026-02-10"})).status_code == 201
    assert await standing() == "active"


async def test_exempt_customers_and_contracts_paid_ahead_are_left_alone(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    exempt = await api.post(
        "/v1/customers", {"name": "Caio", "email": "caio@example.com", "dunning_exempt": True}
    )
    assert exempt.status_code == 201, exempt.text
    product = await new_product(api)
    await post_contract(api, exempt.json()["id"], [product])
    # A charge of its own due on the 20th: reminded on the 17th, overdue from the 21st.
    one_off = {"customer_id": exempt.json()["id"], "due_date": "2026-01-20"}
    one_off["items"] = [{"description": "Taxa", "amount": 5000}]
    assert (await api.post("/v1/charges", one_off)).status_code == 201
    owing = await customer_with_contract(api, "Duda", "duda@example.com")
    paid_ahead = await post_contract(api, owing["customer"]["id"], [product])
    await days(database, clock, DUE, DUE)
    [ahead_charge] = await charges_of(api, paid_ahead["id"])
    assert (await api.post(f"/v1/charges/{ahead_charge['id']}/settle", {})).status_code == 200
    await days(database, clock, DUE + timedelta(days=1), DUE + timedelta(days=16))

    assert (await api.get(f"/v1/customers/{exempt.json()['id']}")).json()["status"] == "active"
    assert (await api.get(f"/v1/customers/{owing['customer']['id']}")).json()["status"] == (
        "suspended"
    )
    assert (await read_contract(api, owing["contract"]["id"]))["status"] == "suspended"
    assert (await read_contract(api, paid_ahead["id"]))["status"] == "active"
    exempt_kinds = {email["kind"] for email in await emails_of(api, exempt.json()["id"])}
    assert exempt_kinds == {"charge_created", "reminder"}  # never an overdue notice


async def test_the_policy_is_read_replaced_and_validated(
    api: TenantClient, other_api: TenantClient
) -> None:
    default = await api.get("/v1/dunning-policy")
    assert default.status_code == 200
    assert default.json() == {
        "grace_days": 0,
        "suspend_after_days": 15,
        "cancel_after_days": 60,
        "reminder_days_before_due": [3],
        "overdue_notice_days": [1, 7],
        "resume_on_payment": True,
        "scope": "contract",
        "late_issue_grace": "from_issue",
        "updated_at": None,
    }
    body = {"grace_days": 2, "suspend_after_days": 10, "overdue_notice_days": [7, 1, 1]}
    changed = await put(api, "/v1/dunning-policy", body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["overdue_notice_days"] == [1, 7]
    assert changed.json()["cancel_after_days"] == 60
    assert (await api.get("/v1/dunning-policy")).json() == changed.json()
    assert (await other_api.get("/v1/dunning-policy")).json()["grace_days"] == 0
    for bad, field in [
        ({"suspend_after_days": 70}, "cancel_after_days"),
        ({"grace_days": 15}, "suspend_after_days"),
        ({"grace_days": -1}, "grace_days"),
        ({"scope": "tenant"}, "scope"),
        ({"late_issue_grace": "never"}, "late_issue_grace"),
        ({"resume_on_payment": "yes"}, "resume_on_payment"),
        ({"reminder_days_before_due": [400]}, "reminder_days_before_due"),
        ({"grace": 1}, "grace"),
    ]:
        problem = assert_problem(await put(api, "/v1/dunning-policy", bad), 422)
        assert any(e["field"].startswith(field) for e in problem["errors"]), (bad, problem)
    assert (await api.get("/v1/dunning-policy")).json() == changed.json()


async def test_small_batches_skip_no_customer(
    api: TenantClient, database: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Customers with several charges and candidates of every kind, taken two at a time."""
    monkeypatch.setattr("assina.dunning.run.BATCH", 2)
    customers = []
    for n in range(5):
        response = await api.post("/v1/customers", {"name": f"Cliente {n}"})
        customers.append(response.json()["id"])
        for _ in range(2 if n < 2 else 1):
            charge = {
                "customer_id": customers[-1],
                "due_date": "2026-01-15",
                "items": [{"description": "Avulso", "amount": 1000}],
            }
            assert (await api.post("/v1/charges", charge)).status_code == 201
    await days(database, clock, DUE + timedelta(days=1), DUE + timedelta(days=1))
    statuses = [(await api.get(f"/v1/customers/{c}")).json()["status"] for c in customers]
    assert statuses == ["delinquent"] * 5


async def test_the_worker_dunns_a_tenant_once_a_day_and_again_when_the_policy_changes(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    ana = await customer_with_contract(api, "Ana Souza", "ana@example.com")
    customer_id = ana["customer"]["id"]
    await days(database, clock, DUE, DUE + timedelta(days=1))
    worker_days = DunningDays()

    async def worker_pass(day: date) -> int:
        clock.set(at_noon(day))
        report = await run_calendar(database, clock, dunning_days=worker_days)
        return report.dunning.customers

    assert await worker_pass(DUE + timedelta(days=2)) == 1
    assert await worker_pass(DUE + timedelta(days=2)) == 0  # the same day: not again
    policy = (await api.get("/v1/dunning-policy")).json()
    policy = {name: value for name, value in policy.items() if name != "updated_at"}
    assert (await put(api, "/v1/dunning-policy", {**policy, "suspend_after_days": 2})).is_success
    assert await worker_pass(DUE + timedelta(days=2)) == 1  # a new policy: again, at once
    assert (await api.get(f"/v1/customers/{customer_id}")).json()["status"] == "suspended"
    assert await worker_pass(DUE + timedelta(days=2)) == 0
    assert await worker_pass(DUE + timedelta(days=3)) == 1  # a new day


async def test_a_trial_ending_soon_is_told_three_days_before_then_released(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    clock.set(at_noon(DUE))
    created = await api.post("/v1/customers", {"name": "Teo", "email": "teo@example.com"})
    customer_id = created.json()["id"]
    product = await new_product(api, name="Plano Mensal", amount=10000)
    contract = await post_contract(api, customer_id, [product], trial_days=14)
    trial_end = date.fromisoformat(contract["trial_end"])

    await days(database, clock, DUE, trial_end - timedelta(days=4))
    assert "trial_ending" not in [e["kind"] for e in await emails_of(api, customer_id)]
    await days(database, clock, trial_end - timedelta(days=3), trial_end + timedelta(days=1))

    notices = [e for e in await emails_of(api, customer_id) if e["kind"] == "trial_ending"]
    assert [e["created_at"][:10] for e in notices] == [str(trial_end - timedelta(days=3))]
    shown = trial_end.strftime("%d/%m/%Y")
    assert notices[0]["subject"] == f"Seu período de teste termina em {shown}"
    assert "em 3 dias" in await email_body(api, notices[0]["id"])
    assert (await read_contract(api, contract["id"]))["status"] == "active"
    released = [
        event
        for event in await event_log(api)
        if event["type"] == "contract.updated"
        and (event["previous"] or {}).get("status") == "trialing"
    ]
    assert [event["data"]["status"] for event in released] == ["active"]
