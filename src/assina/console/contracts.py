"""Contratos: the list by status and customer, a contract's page (items, period, next
charge, its charges), create with items, cancel (now or at the period's end) and readjust;
through the contracts service, as the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.schemas import ChargeOut
from assina.charges.service import ChargeFilters, list_charges
from assina.console.actions import act, new_idempotency_key, newest_first, run_once
from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.form_values import chosen, decimal_text, whole_number
from assina.console.forms import Form, field_errors, input_of, read_form, refusal
from assina.console.web import render_page
from assina.contracts import service
from assina.contracts.models import Contract, ContractStatus, PaymentMethod
from assina.contracts.schemas import ContractCancel, ContractCreate, ContractReadjust
from assina.core.errors import Problem
from assina.customers.models import CustomerStatus
from assina.customers.schemas import CustomerOut
from assina.customers.service import (
    CustomerFilters,
    customer_names,
    get_customer,
    list_customers,
)
from assina.events.service import snapshot
from assina.price_indexes.models import PriceIndex
from assina.products.models import ProductStatus
from assina.products.schemas import ProductOut
from assina.products.service import ProductFilters, list_products

router = APIRouter(prefix="/console/contracts")

ITEM_ROWS = 4  # product lines on the new-contract form
CHOICES = 100  # customers and products offered in the form's selects
SHOWN_CHARGES = 20
_OPTIONAL = ("start_date", "billing_day", "trial_days")


@router.get("")
async def contract_list(
    caller: ConsoleCallerDep, status: str = "", customer_id: str = "", after: str | None = None
) -> Response:
    chosen_status = chosen(status, ContractStatus)
    filters = service.ContractFilters(
        customer_id=customer_id[:64] or None,
        status=chosen_status,
    )
    async with caller.runtime.database.read() as session:
        contracts, has_more = await service.list_contracts(
            session, caller.tenant_id, filters, newest_first(after)
        )
        shown = await service.contracts_out(session, caller.clock, caller.tenant_id, contracts)
        names = await customer_names(session, caller.tenant_id, {c.customer_id for c in shown})
    return render_page(
        "contracts/list.html",
        caller.frame,
        contracts=shown,
        names=names,
        has_more=has_more,
        status=chosen_status or "",
        statuses=list(ContractStatus),
        customer_id=customer_id,
        after=after,
    )


@router.get("/new")
async def new_contract(caller: ChangerDep, customer_id: str = "") -> Response:
    values = {"customer_id": customer_id[:64], "payment_method": PaymentMethod.BOLETO.value}
    return await _contract_form(caller, values, None)


@router.post("")
async def create_contract(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = {name: form.get(name) for name in form.fields}
    body_values, rows = _contract_values(form)
    try:
        body = input_of(ContractCreate, body_values)

        async def use_case(session: AsyncSession) -> dict[str, object]:
            contract = await service.create_contract(session, caller.clock, caller.tenant_id, body)
            return snapshot(await service.contract_out(session, caller.clock, contract))

        created = await run_once(request, caller, form, use_case)
    except Problem as problem:
        return await _contract_form(caller, values, problem, rows)
    return RedirectResponse(f"/console/contracts/{created['id']}", status_code=303)


@router.get("/{contract_id}")
async def contract_page(contract_id: str, caller: ConsoleCallerDep) -> Response:
    return await _contract_page(caller, contract_id, None, {})


@router.post("/{contract_id}/cancel")
async def cancel_contract(contract_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = {"reason": form.get("reason"), "at_period_end": form.get("at_period_end")}

    async def change(session: AsyncSession) -> Contract:
        body = input_of(
            ContractCancel,
            {"reason": form.optional("reason"), "at_period_end": form.get("at_period_end") == "on"},
        )
        return await service.cancel_contract(
            session, caller.clock, caller.tenant_id, contract_id, body
        )

    return await _change(request, caller, contract_id, form, change, values)


@router.post("/{contract_id}/readjust")
async def readjust_contract(contract_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = {name: form.get(name) for name in ("percent", "index", "reference_month")}
    sent = {
        "percent": decimal_text(form.get("percent")),
        "index": form.get("index").strip(),
        "reference_month": form.get("reference_month").strip(),
    }

    async def change(session: AsyncSession) -> Contract:
        body = input_of(ContractReadjust, {name: text for name, text in sent.items() if text})
        return await service.readjust_on_request(
            session, caller.clock, caller.tenant_id, contract_id, body
        )

    return await _change(request, caller, contract_id, form, change, values)


async def _change(
    request: Request,
    caller: ConsoleCaller,
    contract_id: str,
    form: Form,
    change: Any,
    values: dict[str, str],
) -> Response:
    """Run a change of the contract once; a 422 or 409 is shown on the contract's page."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        contract = await change(session)
        return snapshot(await service.contract_out(session, caller.clock, contract))

    return await act(
        request,
        caller,
        form,
        use_case,
        done=f"/console/contracts/{contract_id}",
        refused=lambda problem: _contract_page(caller, contract_id, problem, values),
    )


async def _contract_page(
    caller: ConsoleCaller, contract_id: str, problem: Problem | None, values: dict[str, str]
) -> Response:
    async with caller.runtime.database.read() as session:
        contract = await service.contract_out(
            session,
            caller.clock,
            await service.get_contract(session, caller.tenant_id, contract_id),
        )
        customer = await get_customer(session, caller.tenant_id, contract.customer_id)
        customer_name = customer.name
        charges, more_charges = await list_charges(
            session,
            caller.tenant_id,
            ChargeFilters(contract_id=contract_id),
            newest_first(None, SHOWN_CHARGES),
        )
        shown_charges = [ChargeOut.of(charge) for charge in charges]
    return render_page(
        "contracts/show.html",
        caller.frame,
        **refusal(problem),
        contract=contract,
        customer_name=customer_name,
        charges=shown_charges,
        more_charges=more_charges,
        indexes=list(PriceIndex),
        today=caller.today(),
        errors=field_errors(problem),
        values=values,
        idempotency_key=new_idempotency_key(),
    )


def _contract_values(form: Form) -> tuple[dict[str, Any], list[int]]:
    """The form as POST /v1/contracts' body, and the form row of each item sent (an empty
    row is skipped, so an error about `items.1` may be about the form's third row)."""
    items: list[dict[str, Any]] = []
    rows: list[int] = []
    for row in range(ITEM_ROWS):
        product_id = form.get(f"items.{row}.product_id").strip()
        if not product_id:
            continue
        quantity = whole_number(form.get(f"items.{row}.quantity"))
        items.append(
            {"product_id": product_id, **({} if quantity is None else {"quantity": quantity})}
        )
        rows.append(row)
    values: dict[str, Any] = {
        "customer_id": form.get("customer_id").strip(),
        "items": items,
        "payment_method": form.get("payment_method") or PaymentMethod.BOLETO.value,
    }
    for name in _OPTIONAL:
        text = form.get(name).strip()
        if text:
            values[name] = text if name == "start_date" else whole_number(text)
    return values, rows


def _form_errors(problem: Problem | None, rows: list[int]) -> dict[str, str]:
    """The problem's errors by the form's field names (`items.<api position>.x` → the row)."""
    found: dict[str, str] = {}
    for name, message in field_errors(problem).items():
        parts = name.split(".")
        if parts[0] == "items" and len(parts) > 1 and parts[1].isdigit():
            position = int(parts[1])
            parts[1] = str(rows[position] if position < len(rows) else position)
            name = ".".join(parts) if len(parts) > 2 else f"items.{parts[1]}.product_id"
        found.setdefault(name, message)
    if "items" in found:  # "at least one item": beside the first row
        found.setdefault("items.0.product_id", found["items"])
    return found


async def _contract_form(
    caller: ConsoleCaller,
    values: dict[str, str],
    problem: Problem | None,
    rows: list[int] | None = None,
) -> Response:
    async with caller.runtime.database.read() as session:
        customers, many_customers = await list_customers(
            session,
            caller.tenant_id,
            CustomerFilters(status=CustomerStatus.ACTIVE),
            newest_first(None, CHOICES),
        )
        products, _ = await list_products(
            session,
            caller.tenant_id,
            ProductFilters(status=ProductStatus.ACTIVE),
            newest_first(None, CHOICES),
        )
        offered_customers = [CustomerOut.of(customer) for customer in customers]
        offered_products = [ProductOut.of(p) for p in products if p.interval != "once"]
    return render_page(
        "contracts/form.html",
        caller.frame,
        **refusal(problem),
        values=values,
        customers=offered_customers,
        many_customers=many_customers,
        products=offered_products,
        rows=range(ITEM_ROWS),
        methods=list(PaymentMethod),
        errors=_form_errors(problem, rows or []),
        idempotency_key=new_idempotency_key(),
    )
