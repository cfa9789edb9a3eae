"""Clientes: search and list, a customer's page (contracts, charges, e-mails, timeline),
create, edit, deactivate and reactivate; through the customers service, as the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.schemas import ChargeOut
from assina.charges.service import ChargeFilters, list_charges
from assina.console.actions import new_idempotency_key, newest_first, run_once
from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.form_values import chosen
from assina.console.forms import Form, field_errors, input_of, read_form, refusal
from assina.console.web import render_page
from assina.contracts.schemas import ContractOut
from assina.contracts.service import ContractFilters, list_contracts
from assina.core.errors import Problem
from assina.customers import service
from assina.customers.models import CustomerStatus
from assina.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from assina.events.service import EventFilters, list_events, snapshot
from assina.notifications.service import EmailFilters, list_emails

router = APIRouter(prefix="/console/customers")

SHOWN_ON_A_CUSTOMER = 10  # contracts, charges and e-mails on a customer's page
TIMELINE_LENGTH = 20
_EDITABLE = ("name", "email", "document", "phone")


@router.get("")
async def customer_list(
    caller: ConsoleCallerDep, q: str = "", status: str = "", after: str | None = None
) -> Response:
    chosen_status = chosen(status, CustomerStatus)
    filters = service.CustomerFilters(
        status=chosen_status,
        q=q[:100] if q.strip() else None,
    )
    async with caller.runtime.database.read() as session:
        customers, has_more = await service.list_customers(
            session, caller.tenant_id, filters, newest_first(after)
        )
        shown = [CustomerOut.of(customer) for customer in customers]
    return render_page(
        "customers/list.html",
        caller.frame,
        customers=shown,
        has_more=has_more,
        q=q,
        status=chosen_status or "",
        statuses=list(CustomerStatus),
        after=after,
    )


@router.get("/new")
async def new_customer(caller: ChangerDep) -> Response:
    return _customer_form(caller, None, {}, None)


@router.post("")
async def create_customer(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = _customer_values(form, creating=True)
    try:
        body = input_of(CustomerCreate, values)

        async def use_case(session: AsyncSession) -> dict[str, object]:
            customer = await service.create_customer(session, caller.clock, caller.tenant_id, body)
            return snapshot(CustomerOut.of(customer))

        created = await run_once(request, caller, form, use_case)
    except Problem as problem:
        return _customer_form(caller, None, values, problem)
    return RedirectResponse(f"/console/customers/{created['id']}", status_code=303)


@router.get("/{customer_id}")
async def customer_page(customer_id: str, caller: ConsoleCallerDep) -> Response:
    page = newest_first(None, SHOWN_ON_A_CUSTOMER)
    today = caller.today()
    async with caller.runtime.database.read() as session:
        customer = await service.get_customer(session, caller.tenant_id, customer_id)
        contracts, _ = await list_contracts(
            session, caller.tenant_id, ContractFilters(customer_id=customer_id), page
        )
        charges, more_charges = await list_charges(
            session, caller.tenant_id, ChargeFilters(customer_id=customer_id), page
        )
        emails, _ = await list_emails(
            session, caller.tenant_id, EmailFilters(customer_id=customer_id), page
        )
        events, _ = await list_events(
            session,
            caller.tenant_id,
            EventFilters(customer_id=customer_id),
            newest_first(None, TIMELINE_LENGTH),
        )
        return render_page(
            "customers/show.html",
            caller.frame,
            customer=CustomerOut.of(customer),
            contracts=[ContractOut.of(contract, today) for contract in contracts],
            charges=[ChargeOut.of(charge) for charge in charges],
            more_charges=more_charges,
            emails=emails,
            events=events,
            idempotency_key=new_idempotency_key(),
        )


@router.get("/{customer_id}/edit")
async def edit_customer(customer_id: str, caller: ChangerDep) -> Response:
    async with caller.runtime.database.read() as session:
        customer = CustomerOut.of(
            await service.get_customer(session, caller.tenant_id, customer_id)
        )
    values = {name: getattr(customer, name) or "" for name in _EDITABLE}
    values["dunning_exempt"] = customer.dunning_exempt
    return _customer_form(caller, customer, values, None)


@router.post("/{customer_id}")
async def update_customer(customer_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = _customer_values(form, creating=False)
    async with caller.runtime.database.read() as session:
        customer = CustomerOut.of(
            await service.get_customer(session, caller.tenant_id, customer_id)
        )
    try:
        changes = input_of(CustomerUpdate, values)
        async with caller.runtime.database.write() as session:
            await service.update_customer(
                session, caller.clock, caller.tenant_id, customer_id, changes
            )
    except Problem as problem:
        return _customer_form(caller, customer, values, problem)
    return RedirectResponse(f"/console/customers/{customer_id}", status_code=303)


@router.post("/{customer_id}/deactivate")
async def deactivate_customer(customer_id: str, request: Request, caller: ChangerDep) -> Response:
    return await _move(request, caller, customer_id, service.deactivate_customer)


@router.post("/{customer_id}/reactivate")
async def reactivate_customer(customer_id: str, request: Request, caller: ChangerDep) -> Response:
    return await _move(request, caller, customer_id, service.reactivate_customer)


async def _move(request: Request, caller: ConsoleCaller, customer_id: str, move: Any) -> Response:
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        customer = await move(session, caller.clock, caller.tenant_id, customer_id)
        return snapshot(CustomerOut.of(customer))

    await run_once(request, caller, form, use_case)  # a 409 is shown as the API's problem
    return RedirectResponse(f"/console/customers/{customer_id}", status_code=303)


def _customer_values(form: Form, *, creating: bool) -> dict[str, Any]:
    """The form as the API's body: an empty optional field is left unsent on create and
    cleared (null) on edit; the name is always sent."""
    values: dict[str, Any] = {"name": form.get("name").strip()}
    for name in _EDITABLE[1:]:
        value = form.optional(name)
        if value is not None or not creating:
            values[name] = value
    values["dunning_exempt"] = form.get("dunning_exempt") == "on"
    return values


def _customer_form(
    caller: ConsoleCaller,
    customer: CustomerOut | None,
    values: dict[str, Any],
    problem: Problem | None,
) -> Response:
    return render_page(
        "customers/form.html",
        caller.frame,
        **refusal(problem),
        customer=customer,
        values=values,
        errors=field_errors(problem),
        idempotency_key=new_idempotency_key(),
    )
