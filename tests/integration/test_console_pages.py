"""The console's Painel, Clientes and Cobranças pages through the same services as the API:
what a form does is what the API then shows (objects and events), a refusal is shown beside
its field and changes nothing, and every page keeps the frame's promises (words in both
languages, no inline script or style, the security headers); on both databases."""

from __future__ import annotations

import re
from enum import StrEnum

from assina.charges.models import ChargeStatus
from assina.console.i18n import MESSAGES
from assina.console.web import template_names, template_source
from assina.console.webhooks import event_groups
from assina.contracts.models import ContractStatus, PaymentMethod
from assina.customers.models import CustomerStatus
from assina.expenses.models import ExpenseStatus
from assina.fiscal.models import FiscalInvoiceStatus
from assina.notifications.models import EmailKind, EmailStatus
from assina.orders.models import OrderStatus
from assina.payment_settings.models import PaymentProvider
from assina.products.models import BillingInterval, ProductStatus
from assina.users.models import ConsoleRole
from assina.webhooks.models import EndpointFormat, MessageStatus
from tests.conftest import TenantClient
from tests.integration.console_support import Console, idempotency_key_of

# Every status a console page shows as a badge.
STATUSES = (
    ChargeStatus,
    ContractStatus,
    CustomerStatus,
    EmailStatus,
    ExpenseStatus,
    FiscalInvoiceStatus,
    MessageStatus,
    OrderStatus,
    ProductStatus,
)


async def _event_types(api: TenantClient) -> list[str]:
    return [event["type"] for event in (await api.get("/v1/events")).json()["data"]]


async def test_a_customer_created_edited_and_deactivated_in_the_console(
    api: TenantClient, console: Console
) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    form = (await ana.page("/console/customers/new")).text
    fields = {"name": "Bia Lima", "document": "529.982.247-25", "email": "bia@example.com"}
    key = idempotency_key_of(form)
    created = await ana.submit("/console/customers", {**fields, "idempotency_key": key})
    assert created.status_code == 303, created.text
    again = await ana.submit("/console/customers", {**fields, "idempotency_key": key})
    assert again.headers["location"] == created.headers["location"]  # one customer, not two
    customers = (await api.get("/v1/customers")).json()["data"]
    assert [(c["name"], c["document"]) for c in customers] == [("Bia Lima", "52998224725")]
    customer_id = customers[0]["id"]
    assert created.headers["location"] == f"/console/customers/{customer_id}"

    page = await ana.page(f"/console/customers/{customer_id}")
    assert "529.982.247-25" in page.text and "customer.created" in page.text
    found = await ana.page("/console/customers?q=52998")
    assert "Bia Lima" in found.text
    assert "Bia Lima" not in (await ana.page("/console/customers?q=zzz")).text

    edited = await ana.submit(f"/console/customers/{customer_id}", {"name": "Bia L.", "phone": ""})
    assert edited.status_code == 303
    stored = (await api.get(f"/v1/customers/{customer_id}")).json()
    assert stored["name"] == "Bia L." and stored["email"] is None  # emptied means cleared
    moved = await ana.submit(f"/console/customers/{customer_id}/deactivate", {})
    assert moved.status_code == 303
    assert (await api.get(f"/v1/customers/{customer_id}")).json()["status"] == "inactive"
    assert await _event_types(api) == [
        "customer.created",
        "customer.updated",
        "customer.deactivated",
    ]


async def test_a_refused_customer_form_marks_the_field_and_creates_nothing(
    api: TenantClient, console: Console
) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    refused = await ana.submit("/console/customers", {"name": "Bia", "document": "111.111.111-12"})
    assert refused.status_code == 422
    assert re.search(r'id="f-document"[^>]*aria-invalid="true"', refused.text)
    assert 'id="e-document"' in refused.text
    assert 'value="111.111.111-12"' in refused.text  # what was typed stays
    nameless = await ana.submit("/console/customers", {"name": ""})
    assert nameless.status_code == 422 and 'id="e-name"' in nameless.text
    assert (await api.get("/v1/customers")).json()["data"] == []


async def test_a_charge_settled_then_reversed_from_its_page(
    api: TenantClient, console: Console
) -> None:
    customer = (await api.post("/v1/customers", {"name": "Ana"})).json()
    lines = [{"description": "Mensalidade", "amount": 45000}]
    body = {"customer_id": customer["id"], "items": lines, "due_date": "2026-02-10"}
    charge = (await api.post("/v1/charges", body)).json()
    fin = await console(api.tenant.tenant_id, "fin@escola.com.br")
    page = await fin.page(f"/console/charges/{charge['id']}")
    assert "R$ 450,00" in page.text and "10/02/2026" in page.text
    listed = await fin.page("/console/charges?status=open")
    assert f"/console/charges/{charge['id']}" in listed.text
    wrong = await fin.submit(f"/console/charges/{charge['id']}/settle", {"amount": "12,3,4"})
    assert wrong.status_code == 422 and 'id="e-amount"' in wrong.text
    settled = await fin.submit(f"/console/charges/{charge['id']}/settle", {"amount": "1.234,5"})
    assert settled.status_code == 303
    stored = (await api.get(f"/v1/charges/{charge['id']}")).json()
    assert (stored["status"], stored["settled_amount"]) == ("settled", 123450)
    twice = await fin.submit(f"/console/charges/{charge['id']}/invalidate", {})
    assert twice.status_code == 409 and "charge-problem" in twice.text
    reversed_ = await fin.submit(f"/console/charges/{charge['id']}/reverse", {})
    assert reversed_.status_code == 303
    assert (await api.get(f"/v1/charges/{charge['id']}")).json()["status"] == "reversed"
    assert (await _event_types(api))[-2:] == ["charge.settled", "charge.reversed"]


async def test_the_painel_shows_what_the_api_holds(api: TenantClient, console: Console) -> None:
    customer = (await api.post("/v1/customers", {"name": "Ana Souza"})).json()
    product = (await api.post("/v1/products", {"name": "Mensalidade", "amount": 45000})).json()
    contract = await api.post(
        "/v1/contracts",
        {"customer_id": customer["id"], "items": [{"product_id": product["id"]}]},
    )
    assert contract.status_code == 201, contract.text
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    page = await ana.page("/console")
    assert page.status_code == 200
    assert re.search(r'id="mrr">R\$ 450,00<', page.text)
    assert re.search(r'id="active-contracts">1<', page.text)
    assert "<svg" in page.text and 'role="img"' in page.text
    english = await ana.page("/console/language?to=en&next=/console")
    assert english.status_code == 303
    assert "Monthly recurring revenue" in (await ana.page("/console")).text


def _values(*enums: type[StrEnum]) -> set[str]:
    return {member.value for enum in enums for member in enum}


# Every key a template builds from a value (`t("status." ~ status)`): the values it can take.
DYNAMIC_WORDS: dict[str, set[str]] = {
    "status.": _values(*STATUSES) | {"overdue", "enabled", "disabled"},
    "expense_status.": _values(ExpenseStatus),
    "method.": _values(PaymentMethod),
    "role.": _values(ConsoleRole),
    "email_kind.": _values(EmailKind),
    "interval.": _values(BillingInterval),
    "every.": _values(BillingInterval) - {"once"},  # a one-off says `interval.once`
    "payment.provider_": _values(PaymentProvider) | {"none"},
    "webhooks.format.": _values(EndpointFormat),
    "webhooks.subject.": {group.subject for group in event_groups()},
    "login.": {"signed_out", "expired"},
    "charges.": {"reverse", "invalidate", "reactivate"},
    "orders.": {"fulfill", "cancel"},
}


def test_every_word_of_every_template_is_in_both_languages() -> None:
    used: set[str] = set()
    for name in template_names():
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']""", template_source(name)))
    assert used, "no words found: the pattern is wrong"
    built = {key for key in used if key.endswith((".", "_"))}
    assert built <= set(DYNAMIC_WORDS), f"say which values these take: {built - set(DYNAMIC_WORDS)}"
    words = {key for key in used if key not in built}
    words |= {prefix + value for prefix, values in DYNAMIC_WORDS.items() for value in values}
    missing = sorted(key for key in words if key not in MESSAGES)
    assert not missing, missing
    blank = sorted(key for key, (pt, en) in MESSAGES.items() if not pt.strip() or not en.strip())
    assert not blank, blank


def test_no_template_holds_inline_script_or_style() -> None:
    for name in template_names():
        source = template_source(name)
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), name
        assert not re.search(r"\sstyle=", source), name
        assert not re.search(r"\son[a-z]+=", source), name  # no inline event handlers


async def test_every_page_carries_the_security_headers(api: TenantClient, console: Console) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br")
    for path in ("/console", "/console/customers", "/console/charges", "/console/login"):
        page = await ana.page(path)
        assert page.status_code == 200, path
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert page.headers["cache-control"] == "no-store", path
    htmx = await ana.page("/console/static/htmx-2.0.11.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.content[:200]
