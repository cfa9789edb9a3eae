"""Suppliers and expenses (contas a pagar): the documents checked, the boleto line read, the
moves open → settled → reversed with their events in the same transaction, every forbidden
move a 409, other tenants' objects 404."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.events.models import Event
from assina.expenses.schemas import ExpenseCreate
from assina.expenses.service import create_expense as create
from tests.assertions import assert_invalid, assert_problem, iso
from tests.conftest import START, TenantClient
from tests.integration.charge_support import state
from tests.integration.expense_support import (
    CNPJ,
    boleto_line,
    create_expense,
    expense_body,
    new_supplier,
)
from tests.integration.fuzz_support import event_log

# test-vectors.md: Banco do Brasil, convênio 12387989, due 2008-02-01, R$ 135,00.
VECTOR_LINE = "00190.00009 01238.798977 77700.168188 3 37690000013500"


async def expense_events(api: TenantClient) -> list[dict[str, Any]]:
    return [e for e in await event_log(api) if e["type"].startswith("expense.")]


# --- suppliers ----------------------------------------------------------------------------


async def test_a_supplier_is_created_numbered_and_its_document_stored_as_digits(
    api: TenantClient,
) -> None:
    first = await api.post(
        "/v1/suppliers",
        {"name": "Papelaria Central", "document": CNPJ, "email": "nf@papelaria.com.br"},
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["id"].startswith("sup_")
    assert (body["document"], body["document_type"]) == ("11222333000181", "cnpj")
    second = await api.post("/v1/suppliers", {"name": "Ana", "document": "529.982.247-25"})
    assert (second.json()["number"], second.json()["document_type"]) == (2, "cpf")
    assert body["number"] == 1
    found = await api.get("/v1/suppliers", params={"document": CNPJ})
    assert [s["id"] for s in found.json()["data"]] == [body["id"]]


@pytest.mark.parametrize("document", ["11.222.333/0001-80", "123.456.789-00", "111.111.111-11"])
async def test_a_supplier_document_with_wrong_check_digits_is_refused(
    api: TenantClient, database: Database, document: str
) -> None:
    before = await state(api, database)
    assert_invalid(await api.post("/v1/suppliers", {"name": "X", "document": document}), "document")
    supplier = await new_supplier(api)
    refused = await api.patch(f"/v1/suppliers/{supplier}", {"document": document})
    assert_invalid(refused, "document")
    assert (await api.get(f"/v1/suppliers/{supplier}")).json()["document"] is None
    assert before[1] == (await state(api, database))[1]  # suppliers raise no events


async def test_a_supplier_is_patched_and_expenses_show_its_new_name(api: TenantClient) -> None:
    supplier = await new_supplier(api, document=CNPJ)
    expense = await create_expense(api, supplier)
    assert expense["supplier"] == "Papelaria Central"
    patched = await api.patch(
        f"/v1/suppliers/{supplier}", {"name": "Papelaria Sul", "document": None}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["document"]) == ("Papelaria Sul", None)
    assert (await api.get(f"/v1/expenses/{expense['id']}")).json()["supplier"] == "Papelaria Sul"


# --- expenses -----------------------------------------------------------------------------


async def test_an_expense_is_created_with_its_event_in_the_same_transaction(
    api: TenantClient,
) -> None:
    supplier = await new_supplier(api)
    expense = await create_expense(
        api, supplier, cost_center="adm", document_number="NF 12", metadata={"k": "v"}
    )
    assert expense["id"].startswith("exp_")
    assert (expense["number"], expense["status"], expense["supplier"]) == (
        1,
        "open",
        "Papelaria Central",
    )
    assert expense["competence_date"] == expense["due_date"] == "2026-01-20"
    assert expense["paid_at"] is None and expense["paid_amount"] is None
    [event] = await expense_events(api)
    assert event["type"] == "expense.created"
    assert event["data"] == expense
    listed = await api.get("/v1/expenses", params={"supplier_id": supplier, "status": "open"})
    assert listed.json()["data"] == [expense]


async def test_expense_lists_filter_by_status_category_and_due_date(api: TenantClient) -> None:
    supplier = await new_supplier(api)
    rent = await create_expense(api, supplier, category="aluguel", due_date="2026-02-05")
    paper = await create_expense(api, supplier, due_date="2026-01-05")
    await api.post(f"/v1/expenses/{paper['id']}/settle")

    async def ids(**params: str) -> list[str]:
        response = await api.get("/v1/expenses", params=params)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["data"]]

    assert await ids(category="aluguel") == [rent["id"]]
    assert await ids(status="settled") == [paper["id"]]
    assert await ids(due_gte="2026-02-01") == [rent["id"]]
    assert await ids(due_lt="2026-02-01") == [paper["id"]]
    assert await ids(limit="1") == [rent["id"]]


async def test_an_expense_names_a_supplier_of_its_own_tenant(
    api: TenantClient, other_api: TenantClient, database: Database
) -> None:
    foreign = await new_supplier(other_api)
    before = await state(api, database)
    assert_invalid(await api.post("/v1/expenses", expense_body(foreign)), "supplier_id")
    missing = expense_body(await new_supplier(api))
    del missing["amount"]
    assert_invalid(await api.post("/v1/expenses", missing), "amount")
    assert (await state(api, database))[1] == before[1]


async def test_patch_carries_the_old_values_in_previous(api: TenantClient) -> None:
    expense = await create_expense(api)
    other = await new_supplier(api, name="Aluguéis Ltda")
    patched = await api.patch(
        f"/v1/expenses/{expense['id']}",
        {"amount": 15000, "category": "aluguel", "supplier_id": other, "cost_center": "ops"},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["supplier"], patched.json()["supplier_number"]) == ("Aluguéis Ltda", 2)
    [_, updated] = await expense_events(api)
    assert updated["type"] == "expense.updated"
    assert updated["data"] == patched.json()
    assert updated["previous"] == {
        "amount": 12990,
        "category": "suprimentos",
        "supplier_id": expense["supplier_id"],
        "supplier": "Papelaria Central",
        "supplier_number": 1,
        "cost_center": None,
    }
    same = await api.patch(f"/v1/expenses/{expense['id']}", {"amount": 15000})
    assert same.status_code == 200
    assert len(await expense_events(api)) == 2  # nothing changed, no event


async def test_settle_then_reverse_with_their_events(api: TenantClient, clock: FrozenClock) -> None:
    expense = await create_expense(api)
    paid_at = START - timedelta(days=1)
    settled = await api.post(
        f"/v1/expenses/{expense['id']}/settle",
        {"paid_at": iso(paid_at), "fine": 260, "interest": 40, "discount": 100, "method": "pix"},
    )
    assert settled.status_code == 200, settled.text
    body = settled.json()
    assert body["status"] == "settled"
    assert body["paid_amount"] == 12990 + 260 + 40 - 100
    assert (body["fine"], body["interest"], body["discount"], body["method"]) == (
        260,
        40,
        100,
        "pix",
    )
    assert body["paid_at"] == iso(paid_at)
    clock.advance(timedelta(hours=1))
    reversed_ = await api.post(f"/v1/expenses/{expense['id']}/reverse")
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["status"] == "reversed"
    assert reversed_.json()["paid_amount"] == body["paid_amount"]  # kept on record
    events = await expense_events(api)
    assert [e["type"] for e in events] == ["expense.created", "expense.settled", "expense.reversed"]
    assert [e["previous"] for e in events[1:]] == [{"status": "open"}, {"status": "settled"}]
    assert events[1]["data"] == body and events[2]["data"] == reversed_.json()


async def test_settle_defaults_to_now_and_the_amount_owed(api: TenantClient) -> None:
    expense = await create_expense(api)
    settled = (await api.post(f"/v1/expenses/{expense['id']}/settle", {"amount": 5})).json()
    assert (settled["paid_amount"], settled["paid_at"], settled["method"]) == (5, iso(START), None)
    other = await create_expense(api)
    settled = (await api.post(f"/v1/expenses/{other['id']}/settle")).json()
    assert settled["paid_amount"] == 12990 and settled["fine"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"paid_at": iso(START + timedelta(seconds=1))}, "paid_at"),
        ({"paid_at": "1999-12-31T23:59:59Z"}, "paid_at"),
        ({"discount": 12991}, "discount"),
        ({"fine": -1}, "fine"),
        ({"method": "cheque"}, "method"),
    ],
)
async def test_a_bad_settlement_is_refused_and_changes_nothing(
    api: TenantClient, database: Database, body: dict[str, Any], field: str
) -> None:
    expense = await create_expense(api)
    before = await state(api, database)
    assert_invalid(await api.post(f"/v1/expenses/{expense['id']}/settle", body), field)
    assert await state(api, database) == before


async def test_every_forbidden_move_is_a_409_that_changes_nothing(
    api: TenantClient, database: Database
) -> None:
    opened = await create_expense(api)
    settled = await create_expense(api)
    await api.post(f"/v1/expenses/{settled['id']}/settle")
    reversed_ = await create_expense(api)
    await api.post(f"/v1/expenses/{reversed_['id']}/settle")
    await api.post(f"/v1/expenses/{reversed_['id']}/reverse")
    before = await state(api, database)
    forbidden = [
        ("post", f"/v1/expenses/{opened['id']}/reverse", None),
        ("post", f"/v1/expenses/{settled['id']}/settle", None),
        ("patch", f"/v1/expenses/{settled['id']}", {"amount": 1}),
        ("post", f"/v1/expenses/{reversed_['id']}/settle", None),
        ("post", f"/v1/expenses/{reversed_['id']}/reverse", None),
        ("patch", f"/v1/expenses/{reversed_['id']}", {"description": "x"}),
    ]
    for method, url, body in forbidden:
        response = await getattr(api, method)(url, body)
        assert_problem(response, 409, "invalid-transition")
    assert await state(api, database) == before


async def test_other_tenants_suppliers_and_expenses_are_404(
    api: TenantClient, other_api: TenantClient, database: Database
) -> None:
    supplier = await new_supplier(other_api)
    expense = await create_expense(other_api, supplier)
    before = await state(other_api, database)
    for response in (
        await api.get(f"/v1/suppliers/{supplier}"),
        await api.patch(f"/v1/suppliers/{supplier}", {"name": "Mine"}),
        await api.get(f"/v1/expenses/{expense['id']}"),
        await api.patch(f"/v1/expenses/{expense['id']}", {"amount": 1}),
        await api.post(f"/v1/expenses/{expense['id']}/settle"),
        await api.post(f"/v1/expenses/{expense['id']}/reverse"),
    ):
        assert_problem(response, 404, "not-found")
    assert (await api.get("/v1/expenses")).json()["data"] == []
    assert (await api.get("/v1/suppliers")).json()["data"] == []
    assert await state(other_api, database) == before


# --- the boleto line ----------------------------------------------------------------------


async def test_a_pasted_line_fills_amount_and_due_date(api: TenantClient) -> None:
    due = date(2026, 2, 10)
    line = boleto_line(45678, due)
    body = expense_body(await new_supplier(api), boleto_line=line.replace(" ", "").replace(".", ""))
    del body["amount"], body["due_date"]
    created = await api.post("/v1/expenses", body)
    assert created.status_code == 201, created.text
    expense = created.json()
    assert (expense["amount"], expense["due_date"], expense["boleto_line"]) == (
        45678,
        "2026-02-10",
        line,
    )
    # Sent too and agreeing: taken.
    agreeing = {**body, "amount": 45678, "due_date": "2026-02-10"}
    assert (await api.post("/v1/expenses", agreeing)).status_code == 201


async def test_the_test_vector_line_reads_near_its_own_time(
    api: TenantClient, clock: FrozenClock
) -> None:
    supplier = await new_supplier(api)
    clock.set(START.replace(year=2008))
    body = expense_body(supplier, boleto_line=VECTOR_LINE)
    del body["amount"], body["due_date"]
    expense = (await api.post("/v1/expenses", body)).json()
    assert (expense["amount"], expense["due_date"]) == (13500, "2008-02-01")


@pytest.mark.parametrize(
    ("position", "check"),
    [(9, "field 1"), (20, "field 2"), (31, "field 3"), (32, "general check digit")],
)
async def test_a_wrong_check_digit_is_a_422_naming_the_line_and_the_check(
    api: TenantClient, database: Database, position: int, check: str
) -> None:
    digits = VECTOR_LINE.replace(" ", "").replace(".", "")
    wrong = digits[:position] + str((int(digits[position]) + 1) % 10) + digits[position + 1 :]
    body = expense_body(await new_supplier(api), boleto_line=wrong)
    before = await state(api, database)
    problem = assert_invalid(await api.post("/v1/expenses", body), "boleto_line")
    [error] = [e for e in problem["errors"] if e["field"] == "boleto_line"]
    assert check in error["message"], error
    assert await state(api, database) == before


async def test_an_amount_or_due_date_disagreeing_with_the_line_is_a_422(
    api: TenantClient,
) -> None:
    line = boleto_line(45678, date(2026, 2, 10))
    supplier = await new_supplier(api)
    wrong_amount = expense_body(supplier, boleto_line=line, amount=45600, due_date="2026-02-10")
    assert_invalid(await api.post("/v1/expenses", wrong_amount), "amount")
    wrong_due = expense_body(supplier, boleto_line=line, amount=45678, due_date="2026-02-11")
    assert_invalid(await api.post("/v1/expenses", wrong_due), "due_date")
    in_dollars = expense_body(supplier, boleto_line=line, amount=45678, currency="USD")
    del in_dollars["due_date"]
    assert_invalid(await api.post("/v1/expenses", in_dollars), "currency")


async def test_a_line_pasted_by_patch_fills_and_a_kept_line_must_agree(api: TenantClient) -> None:
    expense = await create_expense(api)
    line = boleto_line(30000, date(2026, 3, 2))
    patched = await api.patch(f"/v1/expenses/{expense['id']}", {"boleto_line": line})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["amount"], patched.json()["due_date"]) == (30000, "2026-03-02")
    [_, updated] = await expense_events(api)
    assert updated["previous"] == {"amount": 12990, "due_date": "2026-01-20", "boleto_line": None}
    assert_invalid(await api.patch(f"/v1/expenses/{expense['id']}", {"amount": 1}), "amount")
    cleared = await api.patch(f"/v1/expenses/{expense['id']}", {"boleto_line": None, "amount": 1})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["amount"], cleared.json()["boleto_line"]) == (1, None)


async def test_an_expense_and_its_event_roll_back_together(
    api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    """The event is written in the expense's transaction: when it fails, neither exists."""
    supplier = await new_supplier(api)
    before = await state(api, database)
    params = ExpenseCreate.model_validate(expense_body(supplier))
    with pytest.raises(RuntimeError, match="boom"):
        async with database.write() as session:
            await create(session, clock, api.tenant.tenant_id, params)
            assert (await session.scalar(select(func.count()).select_from(Event))) >= 1
            raise RuntimeError("boom")
    assert await state(api, database) == before
    assert (await create_expense(api, supplier))["number"] == 1
