"""Configurações: the index of the settings pages, the dunning policy, late fees (the billing
settings), the payment settings (shown) and the fiscal settings; read and replaced through the
same services and input models as `/v1/dunning-policy`, `/v1/billing-settings`,
`/v1/payment-settings` and `/v1/fiscal-settings`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from assina.billing_settings import service as billing
from assina.billing_settings.schemas import BillingSettingsIn
from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.form_values import decimal_text
from assina.console.forms import input_of, read_form, refusal
from assina.console.web import render_page
from assina.core.errors import Problem
from assina.dunning import policy
from assina.dunning.schemas import DunningPolicyIn
from assina.fiscal_settings import service as fiscal
from assina.fiscal_settings.models import FiscalProvider
from assina.fiscal_settings.schemas import FiscalSettingsIn
from assina.payment_settings import service as payment
from assina.payment_settings.models import AsaasEnvironment, PaymentProvider
from assina.payment_settings.schemas import PaymentSettingsIn, PaymentSettingsOut
from assina.rules.dunning import DunningScope, LateIssueGrace

router = APIRouter(prefix="/console/settings")

Params = TypeVar("Params", bound=BaseModel)

_DUNNING_DAYS = ("grace_days", "suspend_after_days", "cancel_after_days")
_DUNNING_LISTS = ("reminder_days_before_due", "overdue_notice_days")
_FEE_PERCENTS = ("fine_percent", "monthly_interest_percent")
_FEE_DAYS = ("charge_lead_days", "order_expiry_days")
_PIX = ("pix_key", "merchant_name", "merchant_city")
_RAILS = ("card", "boleto", "pix")
_SECRETS = ("api_key", "webhook_token")
_FISCAL_TEXTS = (
    "cnpj",
    "municipal_registration",
    "municipality_code",
    "service_code",
    "service_description",
)

# A section's use case: the service call that replaces it, in the request's transaction.
Replace = Callable[[AsyncSession], Awaitable[object]]


def whole_number(text: str) -> int | str:
    """A number typed in a form, as the API's strict integer fields take it; anything else is
    passed on as text, so that the input model refuses it with its own message."""
    cleaned = text.strip()
    return int(cleaned) if cleaned.isascii() and cleaned.isdigit() else cleaned


def day_list(text: str) -> list[int | str]:
    """`3, 7, 15` (commas or spaces) as a list of days; an empty field is no days."""
    return [whole_number(part) for part in text.replace(",", " ").split()]


def errors_by_field(problem: Problem | None) -> dict[str, str]:
    """A 422's first message per form field: `overdue_notice_days.1` is the list's field."""
    if problem is None:
        return {}
    found: dict[str, str] = {}
    for error in problem.errors:
        found.setdefault(error.field.split(".")[0], error.message)
    return found


@router.get("")
async def settings_index(caller: ConsoleCallerDep) -> Response:
    return render_page("settings/index.html", caller.frame)


# --- the dunning policy -------------------------------------------------------------------------


@router.get("/dunning")
async def dunning_page(caller: ConsoleCallerDep, saved: str = "") -> Response:
    async with caller.runtime.database.read() as session:
        current = await policy.get_dunning_policy(session, caller.tenant_id)
    values = current.model_dump(mode="json")
    for name in _DUNNING_LISTS:
        values[name] = ", ".join(str(day) for day in values[name])
    return _section(caller, "dunning", values, None, saved=bool(saved))


@router.post("/dunning")
async def save_dunning(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values: dict[str, Any] = {name: form.get(name) for name in (*_DUNNING_DAYS, *_DUNNING_LISTS)}
    values |= {"scope": form.get("scope"), "late_issue_grace": form.get("late_issue_grace")}
    body: dict[str, Any] = {name: whole_number(form.get(name)) for name in _DUNNING_DAYS}
    body |= {name: day_list(form.get(name)) for name in _DUNNING_LISTS}
    body |= {"scope": values["scope"], "late_issue_grace": values["late_issue_grace"]}
    body["resume_on_payment"] = values["resume_on_payment"] = form.get("resume_on_payment") == "on"

    def replace(params: DunningPolicyIn) -> Replace:
        return lambda session: policy.replace_dunning_policy(
            session, caller.clock, caller.tenant_id, params
        )

    return await _save(caller, "dunning", values, DunningPolicyIn, body, replace)


# --- late fees and the PIX receiver (the billing settings) --------------------------------------


@router.get("/fees")
async def fees_page(caller: ConsoleCallerDep, saved: str = "") -> Response:
    async with caller.runtime.database.read() as session:
        current = await billing.get_billing_settings(session, caller.tenant_id)
    return _section(caller, "fees", current.model_dump(mode="json"), None, saved=bool(saved))


@router.post("/fees")
async def save_fees(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    names = (*_FEE_PERCENTS, *_FEE_DAYS, *_PIX)
    values: dict[str, Any] = {name: form.get(name) for name in names}
    body: dict[str, Any] = {name: decimal_text(form.get(name)) for name in _FEE_PERCENTS}
    body |= {name: whole_number(form.get(name)) for name in _FEE_DAYS}
    body |= {name: form.optional(name) for name in _PIX}

    def replace(params: BillingSettingsIn) -> Replace:
        return lambda session: billing.replace_billing_settings(
            session, caller.clock, caller.tenant_id, params
        )

    return await _save(caller, "fees", values, BillingSettingsIn, body, replace)


# --- payment settings (the Asaas secrets are write-only: typed to replace, never shown) -------


@router.get("/payment")
async def payment_page(caller: ConsoleCallerDep, saved: str = "") -> Response:
    current = await _payment_settings(caller)
    values: dict[str, Any] = {
        "card.provider": current.card.provider or "",
        "boleto.provider": current.boleto.provider or "",
        "pix.provider": current.pix.provider or "",
        "card.retry_days": ", ".join(str(day) for day in current.card.retry_days),
        "asaas.environment": current.asaas.environment.value,
    }
    return _payment(caller, current, values, None, saved=bool(saved))


@router.post("/payment")
async def save_payment(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    current = await _payment_settings(caller)
    names = (*(f"{rail}.provider" for rail in _RAILS), "card.retry_days", "asaas.environment")
    values: dict[str, Any] = {name: form.get(name) for name in names}
    rails = {rail: form.optional(f"{rail}.provider") for rail in _RAILS}
    # The bank agreement is set through the API: sent back as it is, so that it is kept.
    bank = current.boleto.bank.model_dump() if current.boleto.bank else None
    asaas: dict[str, Any] = {"environment": values["asaas.environment"]}
    for secret in _SECRETS:  # left empty: the stored one is kept
        if typed := form.optional(f"asaas.{secret}"):
            asaas[secret] = typed
    body = {
        "card": {"provider": rails["card"], "retry_days": day_list(values["card.retry_days"])},
        "boleto": {"provider": rails["boleto"], "bank": bank},
        "pix": {"provider": rails["pix"]},
        "asaas": asaas,
    }
    try:
        params = input_of(PaymentSettingsIn, body)
        async with caller.runtime.database.write() as session:
            await payment.replace_payment_settings(
                session, caller.clock, caller.runtime.secret_box, caller.tenant, params
            )
    except Problem as problem:
        return _payment(caller, current, values, problem)
    return RedirectResponse("/console/settings/payment?saved=1", status_code=303)


async def _payment_settings(caller: ConsoleCaller) -> PaymentSettingsOut:
    async with caller.runtime.database.read() as session:
        # The inbound URLs carry secret tokens: the console does not show them.
        view = await payment.payment_view(session, caller.tenant, [])
    return PaymentSettingsOut.of(view)


def _payment(
    caller: ConsoleCaller,
    current: PaymentSettingsOut,
    values: dict[str, Any],
    problem: Problem | None,
    *,
    saved: bool = False,
) -> Response:
    errors: dict[str, str] = {}
    for error in problem.errors if problem else []:
        errors.setdefault(".".join(error.field.split(".")[:2]), error.message)
    return render_page(
        "settings/payment.html",
        caller.frame,
        **refusal(problem),
        settings=current,
        values=values,
        errors=errors,
        saved=saved and problem is None,
        rails=_RAILS,
        providers=["", *PaymentProvider],
        environments=list(AsaasEnvironment),
    )


# --- fiscal settings ----------------------------------------------------------------------------


@router.get("/fiscal")
async def fiscal_page(caller: ConsoleCallerDep, saved: str = "") -> Response:
    async with caller.runtime.database.read() as session:
        current = await fiscal.get_fiscal_settings(session, caller.tenant_id)
    return _section(caller, "fiscal", current.model_dump(mode="json"), None, saved=bool(saved))


@router.post("/fiscal")
async def save_fiscal(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values: dict[str, Any] = {name: form.get(name) for name in (*_FISCAL_TEXTS, "iss_rate_bp")}
    values["provider"] = form.get("provider")
    body: dict[str, Any] = {name: form.optional(name) for name in _FISCAL_TEXTS}
    body |= {"provider": values["provider"], "iss_rate_bp": whole_number(form.get("iss_rate_bp"))}
    for flag in ("iss_retained", "auto_issue"):
        body[flag] = values[flag] = form.get(flag) == "on"

    def replace(params: FiscalSettingsIn) -> Replace:
        return lambda session: fiscal.replace_fiscal_settings(
            session, caller.clock, caller.tenant_id, params
        )

    return await _save(caller, "fiscal", values, FiscalSettingsIn, body, replace)


# --- shared ---------------------------------------------------------------------------------


async def _save(
    caller: ConsoleCaller,
    section: str,
    values: dict[str, Any],
    model: type[Params],
    body: dict[str, Any],
    replace: Callable[[Params], Replace],
) -> Response:
    """Check the form with the API's input model, replace the section in one transaction, and
    show the page again saved; a 422 shows the form with the fields marked."""
    try:
        params = input_of(model, body)
        async with caller.runtime.database.write() as session:
            await replace(params)(session)
    except Problem as problem:
        return _section(caller, section, values, problem)
    return RedirectResponse(f"/console/settings/{section}?saved=1", status_code=303)


def _section(
    caller: ConsoleCaller,
    section: str,
    values: dict[str, Any],
    problem: Problem | None,
    *,
    saved: bool = False,
) -> Response:
    return render_page(
        f"settings/{section}.html",
        caller.frame,
        **refusal(problem),
        values=values,
        errors=errors_by_field(problem),
        saved=saved and problem is None,
        scopes=list(DunningScope),
        graces=list(LateIssueGrace),
        providers=list(FiscalProvider),
    )
