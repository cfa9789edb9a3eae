"""Schemathesis, every check, on every operation of the OpenAPI document, in-process.

The spec and the behaviour must agree (issue 13): a request the document allows is accepted
(or answered 404/409 for data that does not exist or a state that forbids it), a request it
forbids is refused, every status, header and body is documented, every 405 lists every method
of its path. This is `st run /openapi.json --checks all` (every phase: examples, coverage,
fuzzing, stateful) driven through schemathesis' engine against the app in-process, once per
database; examples are bounded and the run derandomized so CI is neither slow nor flaky.

One allowance, and only this one: JSON Schema cannot state a few rules (a CPF's check digits,
that a referenced customer exists, which variables a template may use, that suspension comes
before cancellation). A schema-valid request refused with a 422 that names only fields such a
rule governs, on the operation that has it, is not a failure; any other refusal is.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status
from schemathesis.engine.events import NonFatalError, ScenarioFinished
from schemathesis.engine.recorder import CheckNode
from schemathesis.openapi import from_asgi

from assina.app import create_app
from assina.config import Settings
from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from tests.conftest import START, TEST_SECRET_KEY, UNEMPTIED_BURST, make_tenant

MAX_EXAMPLES = 5
SEED = 13

_ITEM = r"items\.\d+\.(product_id|amount)"
_TEMPLATE = r"(template\.)?(subject|html|text)"
# Operation → the fields whose rules JSON Schema cannot state (each named in a 422's `errors`).
BEYOND_THE_SCHEMA: dict[str, str] = {
    # A CPF or CNPJ has check digits (core/documents.py); an e-mail address at a reserved
    # domain (.test, .invalid, localhost…) is valid syntax but reaches no one.
    "POST /v1/customers": "document|email",
    "PATCH /v1/customers/{customer_id}": "document|email",
    # The customer and the products named must exist and be active; a product priced in another
    # currency needs an `amount`; a charge's lines (at its products' prices) add up to zero or
    # more; contract items share one interval and currency; a contract starts at most a year
    # before today.
    "POST /v1/charges": rf"customer_id|items|{_ITEM}",
    "PATCH /v1/charges/{charge_id}": rf"items|{_ITEM}",
    "POST /v1/contracts": rf"customer_id|start_date|items|{_ITEM}",
    "PATCH /v1/contracts/{contract_id}": rf"items|{_ITEM}",
    # A template may use only its kind's variables; the objects previewed must exist and
    # belong together.
    "PUT /v1/email-templates/{kind}": _TEMPLATE,
    "POST /v1/email-templates/{kind}/preview": (
        rf"customer_id|charge_id|contract_id|fiscal_invoice_id|{_TEMPLATE}"
    ),
    # A settlement is not in the future (by the tenant's clock).
    "POST /v1/charges/{charge_id}/settle": "settled_at",
    # Readjusting by an index needs its 12 months up to reference_month recorded.
    "POST /v1/contracts/{contract_id}/readjust": "reference_month",
    # grace_days < suspend_after_days < cancel_after_days.
    "PUT /v1/dunning-policy": "suspend_after_days|cancel_after_days",
    # The sandbox providers serve sandbox tenants only; `asaas` needs an Asaas API key stored
    # or sent; the sandbox's boletos need a bank agreement its bank's layout accepts (digits
    # of the right lengths, a 6-digit convênio with agência and conta); retry days increase.
    "PUT /v1/payment-settings": r"(card|boleto|pix)\.provider|boleto\.bank|card\.retry_days",
    # A card's number passes Luhn and its expiry is not past (by the tenant's today); the
    # tenant has a card provider (a live tenant has none by default), the sandbox's only for
    # a number; a sandbox token is one the sandbox made.
    "POST /v1/customers/{customer_id}/cards": "number|token|exp_month|exp_year|cvc|brand|last4",
    # A supplier's CPF or CNPJ has check digits. An expense's supplier must exist; a boleto
    # line has check digits, is in reais, and its amount and due date agree with those sent
    # (or give those not sent); a payment is not in the future nor its discount above what is
    # owed; a report's range is bounded and in order.
    "POST /v1/suppliers": "document|email",
    "PATCH /v1/suppliers/{supplier_id}": "document|email",
    "POST /v1/expenses": "supplier_id|boleto_line|amount|due_date|currency",
    "PATCH /v1/expenses/{expense_id}": "supplier_id|boleto_line|amount|due_date|currency",
    "POST /v1/expenses/{expense_id}/settle": "paid_at|discount",
    "GET /v1/reports/cash-flow": "from|to",
    # An order's customer, products and card must exist, be active and belong together; the
    # checkout's customer has a CPF or CNPJ with check digits, and a card goes with
    # payment_method card (a rule across fields, named `body`).
    "POST /v1/orders": rf"customer_id|card_id|due_date|items|{_ITEM}",
    "POST /v1/checkout": (
        rf"customer\.(document|email)|card_token|card\..*|body|due_date|items|{_ITEM}"
    ),
    # A CNPJ and an IBGE municipality code have check digits.
    "PUT /v1/fiscal-settings": "cnpj|municipality_code",
    # Custom headers: 8192 bytes in all, and no name twice in two cases.
    "POST /v1/webhook-endpoints": "headers",
    "PATCH /v1/webhook-endpoints/{endpoint_id}": "headers",
}


async def _api_key(db_url: str) -> str:
    database = Database.from_url(db_url, pool_size=1)
    try:
        tenant = await make_tenant(
            database, FrozenClock(START), SecretBox(TEST_SECRET_KEY), "Escola Alfa"
        )
    finally:
        await database.dispose()
    return tenant.api_key


def _answer(event: ScenarioFinished, case_id: str) -> tuple[int, bytes]:
    interaction = event.recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None:
        return 0, b""
    return interaction.response.status_code, interaction.response.content


def _beyond_the_schema(check: CheckNode, status: int, body: bytes) -> bool:
    """A 422 for a schema-valid request that names only fields of rules the schema cannot
    state, on an operation that has such rules."""
    assert check.failure_info is not None
    rule = BEYOND_THE_SCHEMA.get(check.failure_info.failure.operation)
    if check.name != "positive_data_acceptance" or status != 422 or rule is None:
        return False
    fields = [error["field"] for error in json.loads(body).get("errors", [])]
    return bool(fields) and all(re.fullmatch(rule, field) for field in fields)


def _failures(event: ScenarioFinished) -> list[str]:
    found = []
    for case_id, checks in event.recorder.checks.items():
        status, body = _answer(event, case_id)
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            if _beyond_the_schema(check, status, body):
                continue
            info = check.failure_info
            found.append(
                f"{info.failure.operation} [{check.name}] {info.failure.title}\n"
                f"    {info.failure.message[:300]}\n"
                f"    {info.code_sample}\n"
                f"    -> {status} {body[:400].decode(errors='replace')}"
            )
    return found


def test_every_operation_keeps_the_documents_word(db_url: str, tmp_path: Path) -> None:
    # The app gets a database of its own: schemathesis serves it on its own event loop, and
    # the fixtures' Database belongs to pytest's.
    api_key = asyncio.run(_api_key(db_url))
    settings = Settings(
        database_url=db_url,
        secret_key=TEST_SECRET_KEY,
        data_dir=tmp_path,
        allow_private_targets=True,  # no DNS: generated hosts resolve nowhere
        # Every generated request is run, not refused 429 (the limits' own tests run them).
        api_rate_limit_burst=UNEMPTIED_BURST,
    )
    app = create_app(settings, clock=FrozenClock(START))
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            # No cache: every run starts from nothing (no stored crash replayed first), and
            # nothing is written into the checkout.
            "cache": {"enabled": False},
            "headers": {"Authorization": f"Bearer {api_key}"},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "checks": {"enabled": True},
        }
    )
    schema = from_asgi("/openapi.json", app, config=config)
    failures: list[str] = []
    errors: list[str] = []
    for event in engine.from_schema(schema).execute():
        if isinstance(event, ScenarioFinished):
            failures.extend(_failures(event))
        elif isinstance(event, NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}")
    assert not errors, "\n".join(errors)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures)))
