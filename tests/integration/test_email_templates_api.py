"""The e-mail API: templates (defaults, saving, validation, restoring, previews), the
tenant's e-mail settings, and reading the outbox."""

from __future__ import annotations

from typing import Any

from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.notifications.models import EmailKind
from tests.conftest import TenantClient
from tests.integration.email_support import create, customer_and_charge, put, queue
from tests.integration.fuzz_support import problem_of

KINDS = [kind.value for kind in EmailKind]
VALID = {
    "subject": "Cobrança {{ charge.number }} de {{ customer.name }}",
    "html": "<p>Olá, {{ customer.name }}! Valor: {{ charge.amount }}</p>",
    "text": "Olá, {{ customer.name }}! Valor: {{ charge.amount }}",
}


def fields_of(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem["errors"]]


async def test_every_kind_has_a_portuguese_default(api: TenantClient) -> None:
    listed = await api.get("/v1/email-templates")
    assert listed.status_code == 200
    body = listed.json()
    assert body["has_more"] is False
    assert [t["kind"] for t in body["data"]] == KINDS
    for template in body["data"]:
        assert template["customized"] is False
        assert template["updated_at"] is None
        assert "Olá, {{ customer.name }}!" in template["text"]
        assert "Atenciosamente" in template["text"]
        assert '<html lang="pt-BR">' in template["html"]
        names = [v["name"] for v in template["variables"]]
        assert {"customer.name", "company.name", "today"} <= set(names)
    one = (await api.get("/v1/email-templates/reminder")).json()
    assert one == body["data"][KINDS.index("reminder")]
    assert "days_until_due" in [v["name"] for v in one["variables"]]


async def test_english_defaults_follow_the_locale(api: TenantClient) -> None:
    assert (await api.get("/v1/email-settings")).json() == {
        "locale": "pt-BR",
        "from_name": None,
        "reply_to": None,
        "disabled_kinds": [],
        "from_address": "assina@localhost",
        "smtp_configured": False,
        "updated_at": None,
    }
    changed = await put(api, "/v1/email-settings", {"locale": "en", "from_name": "Escola Alfa"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["updated_at"] == "2026-01-15T12:00:00Z"
    assert (await api.get("/v1/email-settings")).json() == changed.json()
    template = (await api.get("/v1/email-templates/overdue")).json()
    assert template["subject"].startswith("Overdue:")
    assert "Kind regards" in template["text"]
    preview = (await api.post("/v1/email-templates/overdue/preview")).json()
    assert preview["locale"] == "en"
    assert "R$1,314.56" in preview["text"]
    # A PUT replaces them all: what is left out takes its default again.
    again = await put(api, "/v1/email-settings", {})
    assert again.json()["locale"] == "pt-BR" and again.json()["from_name"] is None


async def test_settings_refuse_what_cannot_be_a_header(api: TenantClient) -> None:
    for body, field in [
        ({"locale": "fr"}, "locale"),
        ({"from_name": "Escola\r\nBcc: x@example.com"}, "from_name"),
        ({"reply_to": "not an address"}, "reply_to"),
        ({"from_name": ""}, "from_name"),
        ({"smtp_url": "smtp://x"}, "smtp_url"),
    ]:
        response = await put(api, "/v1/email-settings", body)
        assert response.status_code == 422, body
        assert fields_of(problem_of(response)) == [field]
    assert (await api.get("/v1/email-settings")).json()["updated_at"] is None


async def test_saving_restoring_and_isolation(api: TenantClient, other_api: TenantClient) -> None:
    saved = await put(api, "/v1/email-templates/charge_created", VALID)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["customized"] is True
    assert body["updated_at"] == "2026-01-15T12:00:00Z"
    assert {k: body[k] for k in VALID} == VALID
    assert (await api.get("/v1/email-templates/charge_created")).json() == body
    listed = (await api.get("/v1/email-templates")).json()["data"]
    assert [t["kind"] for t in listed if t["customized"]] == ["charge_created"]
    # Another tenant still has the default.
    theirs = (await other_api.get("/v1/email-templates/charge_created")).json()
    assert theirs["customized"] is False

    # Saving again replaces it.
    again = await put(api, "/v1/email-templates/charge_created", {**VALID, "html": ""})
    assert again.json()["html"] == ""

    restored = await api.delete("/v1/email-templates/charge_created")
    assert restored.status_code == 200
    assert restored.json()["customized"] is False
    assert restored.json()["subject"].startswith("Nova cobrança")
    assert (await api.get("/v1/email-templates/charge_created")).json() == restored.json()
    # Restoring a default that was never changed is fine too.
    assert (await api.delete("/v1/email-templates/receipt")).status_code == 200


async def test_templates_that_do_not_render_are_refused_naming_the_part(
    api: TenantClient,
) -> None:
    cases: list[tuple[dict[str, str], list[str], str]] = [
        ({**VALID, "html": "<p>{{ customer.name </p>"}, ["html"], "line 1"),
        ({**VALID, "subject": "{{ cliente.nome }}"}, ["subject"], "'cliente' is not a variable"),
        ({**VALID, "text": "{{ customer.nome }}"}, ["text"], "customer has no 'nome'"),
        ({**VALID, "text": "{{ customer.name.__class__ }}"}, ["text"], "unsafe"),
        ({**VALID, "text": "{{ customer.name.format() }}"}, ["text"], "only these methods"),
        ({**VALID, "text": "{% set x = 1 %}"}, ["text"], "Assign is not available"),
        ({**VALID, "text": "{% include 'base.html' %}"}, ["text"], "Include"),
        ({**VALID, "text": "{{ 'x' * 100000000 }}"}, ["text"], "at most 1000"),
        ({**VALID, "text": "{{ customer.name|center(99) }}"}, ["text"], "No filter named"),
        ({**VALID, "text": "{{ contract.number }}"}, ["text"], "'contract' is not a variable"),
        (
            {"subject": "{{ x }}", "html": "{% if %}", "text": "{{ 1 / 0 }}"},
            ["subject", "html", "text"],
            "ZeroDivisionError",
        ),
    ]
    for body, fields, message in cases:
        response = await put(api, "/v1/email-templates/charge_created", body)
        assert response.status_code == 422, (body, response.text)
        problem = problem_of(response)
        assert problem["type"] == "urn:assina:problem:validation-error"
        assert fields_of(problem) == fields, (body, problem)
        assert message in problem["detail"], (body, problem)
    template = (await api.get("/v1/email-templates/charge_created")).json()
    assert template["customized"] is False


async def test_a_template_using_another_kinds_variables_is_refused(api: TenantClient) -> None:
    body = {"subject": "{{ days_overdue }}", "html": "", "text": "x"}
    assert (await put(api, "/v1/email-templates/overdue", body)).status_code == 200
    response = await put(api, "/v1/email-templates/reminder", body)
    assert fields_of(problem_of(response)) == ["subject"]


async def test_bad_requests_are_problems(api: TenantClient) -> None:
    unknown = await api.get("/v1/email-templates/welcome")
    assert unknown.status_code == 422
    assert fields_of(problem_of(unknown)) == ["kind"]
    extra = await put(api, "/v1/email-templates/reminder", {**VALID, "from": "x"})
    assert fields_of(problem_of(extra)) == ["from"]
    missing = await put(api, "/v1/email-templates/reminder", {"subject": "x"})
    assert sorted(fields_of(problem_of(missing))) == ["html", "text"]
    too_long = await put(api, "/v1/email-templates/reminder", {**VALID, "subject": "x" * 1001})
    assert fields_of(problem_of(too_long)) == ["subject"]
    nul = await put(api, "/v1/email-templates/reminder", {**VALID, "text": "a\x00b"})
    assert fields_of(problem_of(nul)) == ["text"]
    assert (await api.http.get("/v1/email-templates")).status_code == 401


async def test_previews_with_sample_data(api: TenantClient) -> None:
    for kind in KINDS:
        response = await api.post(f"/v1/email-templates/{kind}/preview")
        assert response.status_code == 200, response.text
        preview = response.json()
        assert preview["kind"] == kind and preview["locale"] == "pt-BR"
        assert preview["to"] == "maria.souza@example.com"
        assert "Olá, Maria da Conceição Souza!" in preview["text"]
        assert "Maria da Conceição Souza" in preview["html"]
        assert "{{" not in preview["subject"] + preview["text"] + preview["html"]
    overdue = (await api.post("/v1/email-templates/overdue/preview", {})).json()
    assert "(5 dias em atraso)" in overdue["text"]
    english = await api.post("/v1/email-templates/trial_ending/preview", {"locale": "en"})
    assert english.json()["subject"] == "Your trial ends on January 18, 2026"


async def test_previews_with_real_data(
    api: TenantClient, other_api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id, charge_id = await customer_and_charge(api, amount=99990)
    by_charge = await api.post("/v1/email-templates/reminder/preview", {"charge_id": charge_id})
    assert by_charge.status_code == 200, by_charge.text
    preview = by_charge.json()
    assert preview["to"] == "joao@example.com"
    assert preview["subject"] == "Lembrete: a cobrança nº 1 vence em 10/02/2026"
    assert "R$ 999,90" in preview["text"] and "Olá, João Conceição!" in preview["text"]

    product = await create(
        api, "/v1/products", {"name": "Plano Família", "amount": 15990, "interval": "month"}
    )
    contract = await create(
        api,
        "/v1/contracts",
        {"customer_id": customer_id, "items": [{"product_id": product["id"]}]},
    )
    suspension = await api.post(
        "/v1/email-templates/suspension/preview", {"contract_id": contract["id"]}
    )
    assert "contrato nº 1 (Plano Família) foi suspenso" in suspension.json()["text"]
    by_customer = await api.post(
        "/v1/email-templates/overdue/preview", {"customer_id": customer_id}
    )
    assert "Olá, João Conceição!" in by_customer.json()["text"]

    # Objects that are not this tenant's are refused naming the field.
    theirs, their_charge = await customer_and_charge(other_api)
    for body, field in [
        ({"charge_id": their_charge}, "charge_id"),
        ({"customer_id": theirs}, "customer_id"),
        ({"contract_id": "ctr_nope"}, "contract_id"),
        ({"customer_id": theirs, "charge_id": charge_id}, "charge_id"),
        ({"template": {"subject": "{{ nope }}", "html": "", "text": "x"}}, "template.subject"),
        ({"locale": "de"}, "locale"),
        ({"charge": charge_id}, "charge"),
    ]:
        response = await api.post("/v1/email-templates/reminder/preview", body)
        assert response.status_code == 422, (body, response.text)
        assert fields_of(problem_of(response)) == [field], body


async def test_an_unsaved_template_previews_before_it_is_saved(api: TenantClient) -> None:
    _, charge_id = await customer_and_charge(api)
    body = {"charge_id": charge_id, "template": VALID}
    response = await api.post("/v1/email-templates/charge_created/preview", body)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["subject"] == "Cobrança 1 de João Conceição"
    assert preview["html"] == "<p>Olá, João Conceição! Valor: R$ 1.234,56</p>"
    assert preview["text"] == "Olá, João Conceição! Valor: R$ 1.234,56\n"
    assert (await api.get("/v1/email-templates/charge_created")).json()["customized"] is False
    # Idempotency-Key works as on every POST.
    key = {"Idempotency-Key": "preview-1"}
    first = await api.post("/v1/email-templates/charge_created/preview", body, headers=key)
    replay = await api.post("/v1/email-templates/charge_created/preview", body, headers=key)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == first.json()


async def test_the_outbox_lists_and_shows_the_tenants_emails(
    api: TenantClient, other_api: TenantClient, database: Database, clock: FrozenClock
) -> None:
    customer_id, charge_id = await customer_and_charge(api)
    other_customer, other_charge = await customer_and_charge(api, email=None)
    # Each charge's own charge_created e-mail, queued when it was issued (no address yet).
    issued = [e["id"] for e in (await api.get("/v1/emails")).json()["data"]]
    assert len(issued) == 2
    tenant_id = api.tenant.tenant_id
    ids = [
        await queue(database, clock, tenant_id, kind, customer, charge_id=charge)
        for kind, customer, charge in [
            (EmailKind.CHARGE_CREATED, customer_id, charge_id),
            (EmailKind.REMINDER, customer_id, charge_id),
            (EmailKind.OVERDUE, other_customer, other_charge),
        ]
    ]
    their_customer, their_charge = await customer_and_charge(other_api)
    theirs = await queue(
        database,
        clock,
        other_api.tenant.tenant_id,
        EmailKind.RECEIPT,
        their_customer,
        charge_id=their_charge,
    )

    listed = (await api.get("/v1/emails")).json()
    assert [e["id"] for e in listed["data"]] == issued + ids and listed["has_more"] is False
    assert "text" not in listed["data"][2] and "html" not in listed["data"][2]
    first = listed["data"][2]
    assert first["kind"] == "charge_created" and first["to"] == "joao@example.com"
    assert first["subject"].startswith("Nova cobrança de R$ 1.234,56")
    assert first["status"] == "pending" and first["attempt_count"] == 0

    async def ids_for(**params: Any) -> list[str]:
        page = await api.get("/v1/emails", params=params)
        assert page.status_code == 200, page.text
        return [e["id"] for e in page.json()["data"]]

    assert await ids_for(customer_id=customer_id) == [issued[0], *ids[:2]]
    assert await ids_for(kind="overdue") == ids[2:]
    assert await ids_for(status="no_recipient") == issued + ids[2:]
    assert await ids_for(status="sent") == []
    assert await ids_for(limit=1, starting_after=ids[0]) == ids[1:2]
    assert await ids_for(created_gte="2026-01-15T12:00:00Z") == issued + ids
    assert await ids_for(created_lt="2026-01-15T12:00:00Z") == []

    detail = (await api.get(f"/v1/emails/{ids[0]}")).json()
    assert detail["text"].startswith("Olá, João Conceição!")
    assert detail["html"].startswith("<!DOCTYPE html>")
    assert (await api.get(f"/v1/emails/{theirs}")).status_code == 404
    assert (await other_api.get(f"/v1/emails/{ids[0]}")).status_code == 404
    for params in ({"status": "lost"}, {"kind": "x"}, {"limit": 0}):
        assert (await api.get("/v1/emails", params=params)).status_code == 422


async def test_a_preview_body_may_be_absent_but_not_anything(api: TenantClient) -> None:
    url = "/v1/email-templates/receipt/preview"
    headers = {**api.headers, "Content-Type": "application/json"}
    assert (await api.http.post(url, headers=api.headers)).status_code == 200
    assert (await api.http.post(url, content=b"{}", headers=headers)).status_code == 200
    for raw in (b"", b"null", b"[]", b'"x"', b"{"):
        response = await api.http.post(url, content=raw, headers=headers)
        assert response.status_code in (400, 422), (raw, response.text)
        problem_of(response)
