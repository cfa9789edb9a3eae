"""Configurações in the console: dunning, fees, fiscal and payment settings, e-mail templates
with their live preview, API keys and users; roles; checked through the API, on both
databases."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from assina.db.database import Database
from assina.notifications.models import EmailKind
from assina.users.models import ConsoleRole
from assina.users.service import list_console_users
from tests.conftest import TenantClient
from tests.integration.console_support import (
    Console,
    ConsoleBrowser,
    console_client,
    idempotency_key_of,
    sign_in,
)

HTMX = {"HX-Request": "true"}


async def _roles(database: Database, tenant_id: str) -> dict[str, tuple[str, bool]]:
    """Each console user's role and whether active, as the users service reads them."""
    async with database.read() as session:
        users = await list_console_users(session, tenant_id)
        return {user.email: (user.role.value, user.active) for user in users}


def _marked(page: str, field: str) -> bool:
    """The field's input carries `aria-invalid` (its error is beside it)."""
    found = re.search(rf'<(?:input|select|textarea) id="f-{field}"[^>]*>', page)
    return found is not None and 'aria-invalid="true"' in found.group(0)


async def test_finance_edits_dunning_fees_and_fiscal_but_not_keys_or_users(
    api: TenantClient, console: Console
) -> None:
    fabio = await console(api.tenant.tenant_id, "fabio@escola.com.br", ConsoleRole.FINANCE)
    index = await fabio.page("/console/settings")
    assert index.status_code == 200 and "Régua de cobrança" in index.text
    assert "/console/settings/api-keys" not in index.text  # no link for finance
    assert "/console/settings/users" not in index.text
    for path in ("/console/settings/api-keys", "/console/settings/users"):
        assert (await fabio.page(path)).status_code == 403
    assert (await fabio.submit("/console/settings/api-keys", {})).status_code == 403
    refused = await fabio.submit(
        "/console/settings/users",
        {"email": "x@escola.com.br", "role": "admin", "password": "uma-senha-longa"},
    )
    assert refused.status_code == 403

    dunning = {
        "grace_days": "3",
        "suspend_after_days": "20",
        "cancel_after_days": "45",
        "reminder_days_before_due": "5, 1",
        "overdue_notice_days": "2 10",
        "resume_on_payment": "on",
        "scope": "customer",
        "late_issue_grace": "from_due_date",
    }
    bad = await fabio.submit("/console/settings/dunning", {**dunning, "grace_days": "três"})
    assert bad.status_code == 422 and _marked(bad.text, "grace_days")
    assert not _marked(bad.text, "suspend_after_days")
    saved = await fabio.submit("/console/settings/dunning", dunning)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/console/settings/dunning?saved=1"
    policy = (await api.get("/v1/dunning-policy")).json()
    assert (policy["grace_days"], policy["suspend_after_days"], policy["cancel_after_days"]) == (
        3,
        20,
        45,
    )
    assert policy["reminder_days_before_due"] == [1, 5]
    assert policy["overdue_notice_days"] == [2, 10]
    assert policy["scope"] == "customer" and policy["late_issue_grace"] == "from_due_date"
    shown = await fabio.page("/console/settings/dunning?saved=1")
    assert "Salvo." in shown.text and 'value="1, 5"' in shown.text

    fees = {
        "fine_percent": "2,5",
        "monthly_interest_percent": "1",
        "charge_lead_days": "5",
        "order_expiry_days": "7",
        "pix_key": "",
        "merchant_name": "",
        "merchant_city": "",
    }
    too_much = await fabio.submit("/console/settings/fees", {**fees, "fine_percent": "101"})
    assert too_much.status_code == 422 and _marked(too_much.text, "fine_percent")
    assert (await fabio.submit("/console/settings/fees", fees)).status_code == 303
    billing = (await api.get("/v1/billing-settings")).json()
    assert billing["fine_percent"] == "2.5000" and billing["charge_lead_days"] == 5

    fiscal = {"provider": "sandbox", "cnpj": "11.222.333/0001-00", "iss_rate_bp": "200"}
    wrong_cnpj = await fabio.submit("/console/settings/fiscal", fiscal)
    assert wrong_cnpj.status_code == 422 and _marked(wrong_cnpj.text, "cnpj")
    fiscal["cnpj"] = "11.222.333/0001-81"
    assert (await fabio.submit("/console/settings/fiscal", fiscal)).status_code == 303
    stored = (await api.get("/v1/fiscal-settings")).json()
    assert stored["cnpj"] == "11222333000181" and stored["iss_rate_bp"] == 200

    payment = await fabio.page("/console/settings/payment")
    assert payment.status_code == 200 and "Pagamentos" in payment.text
    assert "/v1/inbound/" not in payment.text  # the inbound URLs carry secret tokens
    rails = {"card.provider": "", "boleto.provider": "", "pix.provider": ""}
    rails |= {"card.retry_days": "1, 4", "asaas.environment": "sandbox"}
    live = await fabio.submit("/console/settings/payment", {**rails, "pix.provider": "sandbox"})
    assert live.status_code == 422 and _marked(live.text, "pix.provider")
    secret = "aact_chave_secreta_1234"
    asaas = {**rails, "card.provider": "asaas", "asaas.api_key": secret}
    assert (await fabio.submit("/console/settings/payment", asaas)).status_code == 303
    stored_payment = (await api.get("/v1/payment-settings")).json()
    assert stored_payment["card"] == {"provider": "asaas", "retry_days": [1, 4]}
    assert stored_payment["asaas"]["api_key_last4"] == "1234"
    shown_payment = await fabio.page("/console/settings/payment?saved=1")
    assert secret not in shown_payment.text and "Salvo." in shown_payment.text
    # Left empty, the secret is kept.
    assert (
        await fabio.submit("/console/settings/payment", {**asaas, "asaas.api_key": ""})
    ).status_code == 303
    assert (await api.get("/v1/payment-settings")).json()["asaas"]["api_key_set"] is True


async def test_a_viewer_sees_settings_and_changes_nothing(
    api: TenantClient, console: Console
) -> None:
    vera = await console(api.tenant.tenant_id, "vera@escola.com.br", ConsoleRole.VIEWER)
    page = await vera.page("/console/settings/dunning")
    assert page.status_code == 200 and "<fieldset disabled>" in page.text
    assert "Salvar" not in page.text
    refused = await vera.submit("/console/settings/dunning", {"grace_days": "9"})
    assert refused.status_code == 403
    assert (await api.get("/v1/dunning-policy")).json()["updated_at"] is None
    template = await vera.page("/console/settings/emails/reminder")
    assert template.status_code == 200 and "hx-post" not in template.text
    preview = await vera.submit("/console/settings/emails/reminder/preview", {"subject": "x"})
    assert preview.status_code == 403


async def test_a_template_edited_with_its_live_preview(api: TenantClient, console: Console) -> None:
    fabio = await console(api.tenant.tenant_id, "fabio@escola.com.br", ConsoleRole.FINANCE)
    listed = await fabio.page("/console/settings/emails")
    assert listed.status_code == 200 and "Lembrete de vencimento" in listed.text
    editor = await fabio.page("/console/settings/emails/reminder")
    assert editor.status_code == 200
    assert 'hx-trigger="input changed delay:500ms"' in editor.text
    assert 'sandbox=""' in editor.text  # the saved template's preview, already drawn
    assert (await fabio.page("/console/settings/emails/nothing")).status_code == 404
    for kind in EmailKind:  # every kind's default previews with sample data
        assert (await fabio.page(f"/console/settings/emails/{kind}")).status_code == 200, kind

    form = {
        "subject": "Assunto novo da escola, {{ customer.name }}",
        "html": "<p>Olá <b>{{ customer.name }}</b></p><script>alert(1)</script>",
        "text": "Texto novo do lembrete",
    }
    csrf = await fabio.csrf()
    preview = await fabio.http.post(
        "/console/settings/emails/reminder/preview",
        data=form,
        headers={**HTMX, "X-CSRF-Token": csrf},
    )
    assert preview.status_code == 200, preview.text
    assert "Assunto novo da escola, " in preview.text and "{{" not in preview.text
    assert "Texto novo do lembrete" in preview.text
    # The e-mail's HTML is only ever inside the sandboxed frame, escaped into srcdoc.
    assert '<iframe class="preview-html"' in preview.text and 'sandbox=""' in preview.text
    assert "<script>" not in preview.text and "<b>" not in preview.text
    assert 'id="e-text" hx-swap-oob="true"></p>' in preview.text  # no error beside it

    broken = await fabio.http.post(
        "/console/settings/emails/reminder/preview",
        data={**form, "text": "{{ cliente.nome }}"},
        headers={**HTMX, "X-CSRF-Token": csrf},
    )
    assert broken.status_code == 422
    text_error = re.search(r'<p class="field-error" id="e-text"[^>]*>([^<]*)</p>', broken.text)
    assert text_error and "is not a variable" in text_error.group(1)
    subject_error = re.search(r'id="e-subject" hx-swap-oob="true">([^<]*)<', broken.text)
    assert subject_error and subject_error.group(1) == ""
    # Without JavaScript the same button answers the whole page.
    plain = await fabio.submit("/console/settings/emails/reminder/preview", form)
    assert plain.status_code == 200 and plain.text.startswith("<!doctype html>")
    assert "Texto novo do lembrete" in plain.text

    refused = await fabio.submit(
        "/console/settings/emails/reminder", {**form, "subject": "{{ customer.nome }}"}
    )
    assert refused.status_code == 422 and _marked(refused.text, "subject")
    assert (await api.get("/v1/email-templates/reminder")).json()["customized"] is False
    saved = await fabio.submit("/console/settings/emails/reminder", form)
    assert saved.status_code == 303
    template = (await api.get("/v1/email-templates/reminder")).json()
    assert template["customized"] is True and template["subject"] == form["subject"]
    restored = await fabio.submit("/console/settings/emails/reminder/restore", {})
    assert restored.status_code == 303
    assert (await api.get("/v1/email-templates/reminder")).json()["customized"] is False


async def test_an_api_key_issued_in_the_console_works_until_revoked(
    api: TenantClient, console: Console, client: httpx.AsyncClient
) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br", ConsoleRole.ADMIN)
    keys_page = await ana.page("/console/settings/api-keys")
    assert keys_page.status_code == 200 and "Chaves de API" in keys_page.text
    form = {"idempotency_key": idempotency_key_of(keys_page.text)}
    issued = await ana.submit("/console/settings/api-keys", form)
    assert issued.status_code == 200, issued.text
    found = re.search(
        r'id="new-key" class="mono" type="text" readonly value="([^"]+)"', issued.text
    )
    assert found
    key = found.group(1)
    bearer = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/customers", headers=bearer)).status_code == 200
    again = await ana.submit("/console/settings/api-keys", form)  # a resent form: one key
    assert key in again.text
    listed = (await api.get("/v1/api-keys")).json()["data"]
    assert len(listed) == 2
    new_id = next(k["id"] for k in listed if key.startswith(k["hint"]))
    assert key not in (await ana.page("/console/settings/api-keys")).text  # shown once

    revoked = await ana.submit(f"/console/settings/api-keys/{new_id}/revoke", {})
    assert revoked.status_code == 303
    assert (await client.get("/v1/customers", headers=bearer)).status_code == 401
    # The tenant's last key cannot go: the 409 is shown on the page.
    last = await ana.submit(f"/console/settings/api-keys/{listed[0]['id']}/revoke", {})
    assert last.status_code == 409 and 'class="error"' in last.text
    assert (await api.get("/v1/customers")).status_code == 200


async def test_an_admin_creates_a_user_who_signs_in_and_the_last_admin_stays(
    app: FastAPI, api: TenantClient, console: Console, database: Database
) -> None:
    ana = await console(api.tenant.tenant_id, "ana@escola.com.br", ConsoleRole.ADMIN)
    users = await ana.page("/console/settings/users")
    assert users.status_code == 200 and "ana@escola.com.br" in users.text
    ana_id = re.search(r"/console/settings/users/(usr_\w+)/role", users.text)
    assert ana_id
    person = {"email": "bia@escola.com.br", "name": "Bia", "role": "finance"}
    short = await ana.submit("/console/settings/users", {**person, "password": "curta"})
    assert short.status_code == 422 and _marked(short.text, "password")
    assert "curta" not in short.text
    created = await ana.submit(
        "/console/settings/users", {**person, "password": "senha-da-bia-123"}
    )
    assert created.status_code == 303, created.text
    async with console_client(app) as http:
        signed_in = await sign_in(http, "bia@escola.com.br", "senha-da-bia-123")
        assert signed_in.status_code == 303
        assert (await http.get("/console/settings/users")).status_code == 403  # finance

    demoted = await ana.submit(
        f"/console/settings/users/{ana_id.group(1)}/role", {"role": "viewer"}
    )
    assert demoted.status_code == 409 and "último administrador" in demoted.text
    gone = await ana.submit(f"/console/settings/users/{ana_id.group(1)}/deactivate", {})
    assert gone.status_code == 409
    listed = await ana.page("/console/settings/users")
    bia_id = re.findall(r"/console/settings/users/(usr_\w+)/role", listed.text)[-1]
    promoted = await ana.submit(f"/console/settings/users/{bia_id}/role", {"role": "admin"})
    assert promoted.status_code == 303
    # Another admin there, Ana may give up the role: she leaves the page she can no longer see.
    stepped_down = await ana.submit(
        f"/console/settings/users/{ana_id.group(1)}/role", {"role": "finance"}
    )
    assert stepped_down.headers["location"] == "/console/settings"
    assert await _roles(database, api.tenant.tenant_id) == {
        "ana@escola.com.br": ("finance", True),
        "bia@escola.com.br": ("admin", True),
    }
    async with console_client(app) as http:
        assert (await sign_in(http, "bia@escola.com.br", "senha-da-bia-123")).status_code == 303
        bia = ConsoleBrowser(http, "bia@escola.com.br")
        gone = await bia.submit(f"/console/settings/users/{ana_id.group(1)}/deactivate", {})
        assert gone.status_code == 303
    assert (await _roles(database, api.tenant.tenant_id))["ana@escola.com.br"] == (
        "finance",
        False,
    )
    assert (await ana.page("/console")).status_code == 303  # signed out everywhere
    async with console_client(app) as http:
        assert (await sign_in(http, "ana@escola.com.br")).status_code == 401
