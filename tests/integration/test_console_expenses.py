"""Despesas in the console: the list by status and due dates, record one (a boleto line
filling amount and due date), settle with an amount and a paid date, reverse; through the
expenses service (the API shows the result and the same events), refusals shown in the
page; on both databases."""

from __future__ import annotations

from datetime import date

from assina.users.models import ConsoleRole
from tests.assertions import answered
from tests.conftest import TenantClient
from tests.integration.console_lists_support import (
    assert_redirected,
    events_of,
    marked_invalid,
    submit_drawn,
)
from tests.integration.console_support import Console
from tests.integration.expense_support import boleto_line, create_expense, new_supplier

NEW = "/console/expenses/new"


async def test_expenses_listed_recorded_settled_and_reversed(
    api: TenantClient, console: Console
) -> None:
    supplier_id = await new_supplier(api, "Papelaria Central")
    earlier = await create_expense(api, supplier_id, due_date="2026-01-05")
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br", ConsoleRole.FINANCE)
    form = await ana.page(NEW)
    assert form.status_code == 200 and "Papelaria Central" in form.text

    bad_line = await submit_drawn(
        ana,
        NEW,
        "/console/expenses",
        {
            "supplier_id": supplier_id,
            "description": "Luz",
            "category": "energia",
            "boleto_line": "00190.00009 01238.798977 77700.168188 3 37690000013501",
        },
    )
    assert bad_line.status_code == 422 and marked_invalid(bad_line.text, "boleto_line")
    no_supplier = await submit_drawn(
        ana,
        NEW,
        "/console/expenses",
        {"supplier_id": "", "description": "Luz", "category": "energia", "amount": "10"},
    )
    assert no_supplier.status_code == 422 and marked_invalid(no_supplier.text, "supplier_id")

    line = boleto_line(25_000, date(2026, 2, 10))
    created = await submit_drawn(
        ana,
        NEW,
        "/console/expenses",
        {
            "supplier_id": supplier_id,
            "description": "Conta de luz",
            "category": "energia",
            "amount": "",
            "due_date": "",
            "boleto_line": line,
        },
    )
    location = assert_redirected(created, "/console/expenses/exp_")
    expense_id = location.rsplit("/", 1)[1]
    expense = answered(await api.get(f"/v1/expenses/{expense_id}"))
    assert (expense["amount"], expense["due_date"], expense["status"]) == (
        25_000,
        "2026-02-10",
        "open",
    )
    assert [e["data"]["id"] for e in await events_of(api, "expense.created")] == [
        earlier["id"],
        expense_id,
    ]

    listed = await ana.page("/console/expenses")
    assert "Conta de luz" in listed.text and "Material de escritório" in listed.text
    february = await ana.page("/console/expenses?due_from=2026-02-01&due_to=2026-02-28")
    assert "Conta de luz" in february.text and "Material de escritório" not in february.text

    page = f"/console/expenses/{expense_id}"
    future = await submit_drawn(
        ana, page, f"{page}/settle", {"amount": "250,00", "paid_at": "2026-03-01"}
    )
    assert future.status_code == 422 and marked_invalid(future.text, "paid_at")
    settled = await submit_drawn(
        ana, page, f"{page}/settle", {"amount": "249,90", "paid_at": "2026-01-10"}
    )
    assert_redirected(settled, page)
    expense = answered(await api.get(f"/v1/expenses/{expense_id}"))
    assert (expense["status"], expense["paid_amount"]) == ("settled", 24_990)
    assert expense["paid_at"] == "2026-01-10T15:00:00Z"  # noon in São Paulo
    assert [e["data"]["id"] for e in await events_of(api, "expense.settled")] == [expense_id]
    again = await ana.submit(f"{page}/settle", {"amount": ""})
    assert again.status_code == 409 and 'id="expense-problem"' in again.text

    reversed_ = await submit_drawn(ana, page, f"{page}/reverse", {})
    assert_redirected(reversed_, page)
    assert answered(await api.get(f"/v1/expenses/{expense_id}"))["status"] == "reversed"
    assert [e["data"]["id"] for e in await events_of(api, "expense.reversed")] == [expense_id]
    twice = await ana.submit(f"{page}/reverse", {})
    assert twice.status_code == 409 and 'id="expense-problem"' in twice.text


async def test_a_viewer_cannot_change_expenses(api: TenantClient, console: Console) -> None:
    supplier_id = await new_supplier(api)
    expense = await create_expense(api, supplier_id)
    vera = await console(api.tenant.tenant_id, "vera@escola.com.br", ConsoleRole.VIEWER)
    page = await vera.page(f"/console/expenses/{expense['id']}")
    assert page.status_code == 200 and "/settle" not in page.text
    for path in (
        "/console/expenses",
        f"/console/expenses/{expense['id']}/settle",
        f"/console/expenses/{expense['id']}/reverse",
    ):
        refused = await vera.submit(
            path, {"supplier_id": supplier_id, "description": "X", "category": "y", "amount": "1"}
        )
        assert refused.status_code == 403, path
    assert answered(await api.get(f"/v1/expenses/{expense['id']}"))["status"] == "open"
    assert len(await events_of(api, "expense.created")) == 1
