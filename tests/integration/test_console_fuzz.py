"""No input to the console yields a 500 (product.md §2), on both databases.

Hypothesis sends every console route random forms (the fields its pages have, and others,
holding nasty text: NUL, lone surrogates, huge numbers, wrong dates, money written wrong),
random ids in the path (the tenant's real ones and nonsense) and random query strings, as a
signed-in admin with a valid CSRF token, so that each request reaches the route's own code.
Every answer is a page (HTML), a redirect, or a document; never a 5xx."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest
from fastapi import FastAPI
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.conftest import TenantClient
from tests.integration.console_support import Console, ConsoleBrowser
from tests.integration.fuzz_support import FUZZ_SETTINGS, NASTY_TEXT, app_routes, url_texts

EXAMPLES = 250
# The fields the console's forms have, so that random values reach their parsing.
FIELDS = [
    "name", "email", "document", "phone", "amount", "due_date", "paid_at", "description",
    "category", "boleto_line", "supplier_id", "customer_id", "reason", "days", "url",
    "event_types", "format", "subject", "html", "text", "role", "password", "percent",
    "index", "reference_month", "start_date", "billing_day", "trial_days", "payment_method",
    "interval", "interval_count", "items.0.product_id", "items.0.quantity", "since",
    "header_name", "header_value", "grace_days", "suspend_after_days", "cancel_after_days",
    "fine_bp", "interest_bp", "cnpj", "municipality_code", "service_code", "iss_rate_bp",
    "idempotency_key", "back", "next", "at_period_end", "dunning_exempt",
]  # fmt: skip
# A form or a query string is UTF-8: no lone surrogate gets into one (url_texts has none).
NASTY = [
    *(
        text
        for text in NASTY_TEXT
        if text.encode("utf-8", "surrogatepass").decode("utf-8", "ignore") == text
    ),
    "1.234,56",
    "R$ 9.999.999.999.999,99",
    "2026-02-30",
    "-1",
    "0",
    "on",
]
form_values = st.one_of(st.sampled_from(NASTY), url_texts)
forms = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), url_texts.filter(bool)), form_values, max_size=8
)
_PARAM = re.compile(r"\{(\w+)\}")


def _console_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, route in app_routes(app.routes)
        if path.startswith("/console")
        for method in sorted(route.methods or ())
    ]


async def _real_ids(api: TenantClient) -> list[str]:
    customer = (await api.post("/v1/customers", {"name": "Ana"})).json()
    product = (await api.post("/v1/products", {"name": "Aula", "amount": 5000})).json()
    lines = [{"product_id": product["id"]}]
    charge = (
        await api.post(
            "/v1/charges",
            {"customer_id": customer["id"], "items": lines, "due_date": "2026-02-10"},
        )
    ).json()
    contract = await api.post("/v1/contracts", {"customer_id": customer["id"], "items": lines})
    hook = await api.post("/v1/webhook-endpoints", {"url": "https://hooks.example.com/a"})
    return [customer["id"], product["id"], charge["id"], contract.json()["id"], hook.json()["id"]]


@dataclass
class SignedIn:
    admin: ConsoleBrowser
    csrf: str
    ids: list[str]
    routes: list[tuple[str, str]]


@pytest.fixture
async def signed_in(app: FastAPI, api: TenantClient, console: Console) -> SignedIn:
    admin = await console(api.tenant.tenant_id, "ana@escola.com.br")
    routes = _console_routes(app)
    assert len(routes) > 40, routes  # every page's routes, not a few
    return SignedIn(admin, await admin.csrf(), await _real_ids(api), routes)


@settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
@given(data=st.data())
async def test_no_console_request_gets_a_5xx(signed_in: SignedIn, data: st.DataObject) -> None:
    method, template = data.draw(st.sampled_from(signed_in.routes), label="route")
    path = _PARAM.sub(
        lambda _: quote(data.draw(st.one_of(st.sampled_from(signed_in.ids), url_texts)), safe=""),
        template,
    )
    query = urlencode(data.draw(forms, label="query"))
    url = f"{path}?{query}" if query else path
    http = signed_in.admin.http
    if method == "POST":
        body = {**data.draw(forms, label="form"), "csrf_token": signed_in.csrf}
        answer = await http.post(url, data=body)
    else:
        answer = await http.request(method, url)
    event(f"{method} {answer.status_code}")
    assert answer.status_code < 500, f"{method} {url}: {answer.status_code} {answer.text[:400]}"
    kind = answer.headers.get("content-type", "")
    assert answer.is_redirect or kind.startswith(
        ("text/html", "application/pdf", "application/xml")
    ), f"{method} {url}: {kind}"
