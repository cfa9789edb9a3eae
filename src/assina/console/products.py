"""Produtos: the list (active or inactive), create, edit and deactivate; through the
products service, as the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from assina.console.actions import act, new_idempotency_key, newest_first, run_once
from assina.console.auth import ChangerDep, ConsoleCaller, ConsoleCallerDep
from assina.console.form_values import chosen, whole_number
from assina.console.forms import Form, field_errors, input_of, parse_amount, read_form, refusal
from assina.console.web import render_page
from assina.core.errors import Problem
from assina.events.service import snapshot
from assina.products import service
from assina.products.models import BillingInterval, ProductStatus
from assina.products.schemas import ProductCreate, ProductOut, ProductUpdate

router = APIRouter(prefix="/console/products")

_TEXT_FIELDS = ("name", "description", "amount", "interval", "interval_count", "trial_days")


@router.get("")
async def product_list(
    caller: ConsoleCallerDep, status: str = "", after: str | None = None
) -> Response:
    return await _product_list(caller, status, after, None)


async def _product_list(
    caller: ConsoleCaller, status: str, after: str | None, problem: Problem | None
) -> Response:
    chosen_status = chosen(status, ProductStatus)
    filters = service.ProductFilters(status=chosen_status)
    async with caller.runtime.database.read() as session:
        products, has_more = await service.list_products(
            session, caller.tenant_id, filters, newest_first(after)
        )
        shown = [ProductOut.of(product) for product in products]
    return render_page(
        "products/list.html",
        caller.frame,
        **refusal(problem),
        products=shown,
        has_more=has_more,
        status=chosen_status or "",
        statuses=list(ProductStatus),
        after=after,
        idempotency_key=new_idempotency_key(),
    )


@router.get("/new")
async def new_product(caller: ChangerDep) -> Response:
    return _product_form(caller, None, {"interval": "month", "interval_count": "1"}, None)


@router.post("")
async def create_product(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    values = _typed(form)
    try:
        body = input_of(ProductCreate, _product_values(form, creating=True))

        async def use_case(session: AsyncSession) -> dict[str, object]:
            product = await service.create_product(session, caller.clock, caller.tenant_id, body)
            return snapshot(ProductOut.of(product))

        await run_once(request, caller, form, use_case)
    except Problem as problem:
        return _product_form(caller, None, values, problem)
    return RedirectResponse("/console/products", status_code=303)


@router.get("/{product_id}/edit")
async def edit_product(product_id: str, caller: ChangerDep) -> Response:
    async with caller.runtime.database.read() as session:
        product = ProductOut.of(await service.get_product(session, caller.tenant_id, product_id))
    return _product_form(caller, product, _typed_of(product), None)


@router.post("/{product_id}")
async def update_product(product_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    async with caller.runtime.database.read() as session:
        product = ProductOut.of(await service.get_product(session, caller.tenant_id, product_id))
    try:
        changes = input_of(ProductUpdate, _product_values(form, creating=False))
        async with caller.runtime.database.write() as session:
            await service.update_product(
                session, caller.clock, caller.tenant_id, product_id, changes
            )
    except Problem as problem:
        return _product_form(caller, product, _typed(form), problem)
    return RedirectResponse("/console/products", status_code=303)


@router.post("/{product_id}/deactivate")
async def deactivate_product(product_id: str, request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        product = await service.deactivate_product(
            session, caller.clock, caller.tenant_id, product_id
        )
        return snapshot(ProductOut.of(product))

    return await act(
        request,
        caller,
        form,
        use_case,
        done="/console/products",
        refused=lambda problem: _product_list(caller, "", None, problem),
    )


def _typed(form: Form) -> dict[str, str]:
    return {name: form.get(name) for name in _TEXT_FIELDS}


def _typed_amount(amount: int) -> str:
    return f"{amount // 100},{amount % 100:02d}"


def _typed_of(product: ProductOut) -> dict[str, str]:
    return {
        "name": product.name,
        "description": product.description or "",
        "amount": _typed_amount(product.amount),
        "interval": product.interval.value,
        "interval_count": str(product.interval_count),
        "trial_days": str(product.trial_days),
    }


def _product_values(form: Form, *, creating: bool) -> dict[str, Any]:
    """The form as the API's body: on create an empty field is left unsent (the API's
    default); on edit every field is sent but the description, cleared when emptied."""
    values: dict[str, Any] = {
        "name": form.get("name").strip(),
        "amount": parse_amount(form.get("amount"), "amount"),
        "interval": form.get("interval") or None,
        "interval_count": whole_number(form.get("interval_count")),
        "trial_days": whole_number(form.get("trial_days")),
    }
    description = form.optional("description")
    if creating:
        values = {name: value for name, value in values.items() if value is not None}
        if description is not None:
            values["description"] = description
        return values
    values = {name: value for name, value in values.items() if value is not None}
    values["description"] = description
    return values


def _product_form(
    caller: ConsoleCaller,
    product: ProductOut | None,
    values: dict[str, str],
    problem: Problem | None,
) -> Response:
    return render_page(
        "products/form.html",
        caller.frame,
        **refusal(problem),
        product=product,
        values=values,
        intervals=list(BillingInterval),
        errors=field_errors(problem),
        idempotency_key=new_idempotency_key(),
    )
