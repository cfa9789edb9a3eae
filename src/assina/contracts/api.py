"""HTTP for contracts: parse, call the service, shape the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.contracts import service
from assina.contracts.models import Contract, ContractStatus
from assina.contracts.schemas import (
    ContractCancel,
    ContractCreate,
    ContractOut,
    ContractReadjust,
    ContractUpdate,
)
from assina.core.inputs import UtcDatetime
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery, ReferenceFilter
from assina.events.service import snapshot
from assina.tenants.deps import CallerDep, IdempotentCaller, IdempotentCallerDep

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

ContractUseCase = Callable[[AsyncSession], Awaitable[Contract]]


async def _respond_once(
    request: Request, caller: IdempotentCaller, status_code: int, change: ContractUseCase
) -> JSONResponse:
    """A POST that answers the contract it changed, honouring `Idempotency-Key`."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        contract = await change(session)
        return snapshot(await service.contract_out(session, caller.clock, contract))

    return await caller.respond_once(request, status_code, use_case)


@router.post(
    "",
    status_code=201,
    response_model=ContractOut,
    responses=problem_responses(400, 401, 409, 413, 422),
    summary="Create a contract (subscription)",
)
async def create_contract(
    body: ContractCreate, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Subscribes a customer to recurring products. Items take the product's price unless
    `amount` is sent; all products must be recurring, active, on one interval and in one
    currency. A trial (`trial_days`) makes it `trialing` until `trial_end`. The billing calendar
    issues its charges (`charge_lead_days` before each due date).

    Event: `contract.created`. Errors: 422 naming the field (an unknown or another tenant's
    `customer_id` or `product_id` included)."""

    async def change(session: AsyncSession) -> Contract:
        return await service.create_contract(session, caller.clock, caller.tenant_id, body)

    return await _respond_once(request, caller, 201, change)


@router.get(
    "",
    response_model=Page[ContractOut],
    responses=problem_responses(401, 422),
    summary="List contracts",
)
async def list_contracts(
    caller: CallerDep,
    page: PageQuery,
    customer_id: ReferenceFilter = None,
    status: ContractStatus | None = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[ContractOut]:
    """The tenant's contracts, oldest first, a page at a time, filtered by `customer_id`,
    `status` and creation time."""
    filters = service.ContractFilters(
        customer_id=customer_id, status=status, created_gte=created_gte, created_lt=created_lt
    )
    async with caller.database.read() as session:
        contracts, has_more = await service.list_contracts(session, caller.tenant_id, filters, page)
        data = await service.contracts_out(session, caller.clock, caller.tenant_id, contracts)
        return Page[ContractOut](data=data, has_more=has_more)


@router.get(
    "/{contract_id}",
    response_model=ContractOut,
    responses=problem_responses(401, 404),
    summary="Get a contract",
)
async def get_contract(contract_id: str, caller: CallerDep) -> ContractOut:
    """One contract by id, with its items, status and next billing dates."""
    async with caller.database.read() as session:
        contract = await service.get_contract(session, caller.tenant_id, contract_id)
        return await service.contract_out(session, caller.clock, contract)


@router.patch(
    "/{contract_id}",
    response_model=ContractOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Update a contract",
)
async def update_contract(contract_id: str, body: ContractUpdate, caller: CallerDep) -> ContractOut:
    """Changes only the fields sent. Changing `items` mid-period prorates: the difference for
    the days left is added to the next charge as a line of its own (a credit when lower).

    Event: `contract.updated`, with the old values in `previous`. Errors: 404; 409
    `invalid-transition` on a cancelled contract, `billing-day-fixed` for another `billing_day`;
    422."""
    async with caller.database.write() as session:
        contract = await service.update_contract(
            session, caller.clock, caller.tenant_id, contract_id, body
        )
        return await service.contract_out(session, caller.clock, contract)


@router.delete(
    "/{contract_id}",
    response_model=ContractOut,
    responses=problem_responses(401, 404, 409),
    summary="Delete a contract no charge was issued for",
)
async def delete_contract(contract_id: str, caller: CallerDep) -> ContractOut:
    """Deletes a contract no charge was ever issued for (otherwise cancel it); the answer is
    the contract as it was.

    Event: `contract.deleted`. Errors: 404; 409 `contract-has-charges`."""
    async with caller.database.write() as session:
        contract = await service.delete_contract(
            session, caller.clock, caller.tenant_id, contract_id
        )
        return await service.contract_out(session, caller.clock, contract)


@router.post(
    "/{contract_id}/cancel",
    response_model=ContractOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Cancel a contract, at once or at the end of its period",
)
async def cancel_contract(
    contract_id: str, body: ContractCancel, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Cancels at once (`contract.cancelled`), or with `at_period_end` at the end of the last
    period already charged (`contract.updated` now, `contract.cancelled` when the calendar gets
    there). Cancelled is final.

    Errors: 404; 409 `invalid-transition` if it is cancelled or already set to cancel at
    period end; 422."""

    async def change(session: AsyncSession) -> Contract:
        return await service.cancel_contract(
            session, caller.clock, caller.tenant_id, contract_id, body
        )

    return await _respond_once(request, caller, 200, change)


@router.post(
    "/{contract_id}/resume",
    response_model=ContractOut,
    responses=problem_responses(400, 401, 404, 409),
    summary="Resume a suspended contract (the periods it spent suspended are not charged)",
)
async def resume_contract(
    contract_id: str, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Brings a contract the dunning policy suspended back to `active`. The periods it spent
    suspended are not charged: billing goes on from the first charge due from today.

    Event: `contract.updated` (`previous.status` `suspended`). Errors: 404; 409
    `invalid-transition` unless it is suspended."""

    async def change(session: AsyncSession) -> Contract:
        return await service.resume_contract_by_id(
            session, caller.clock, caller.tenant_id, contract_id
        )

    return await _respond_once(request, caller, 200, change)


@router.post(
    "/{contract_id}/readjust",
    response_model=ContractOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Readjust a contract's amounts by a percent or a price index",
)
async def readjust_contract(
    contract_id: str, body: ContractReadjust, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """Readjusts each item's unit amount by `{"percent": "4.5"}`, or by a price index over
    the 12 recorded months ending at `reference_month` (`{"index": "IPCA", "reference_month":
    "2025-12"}`), half-even to the centavo. Applies to charges not yet issued.

    Event: `contract.readjusted`. Errors: 404; 409 on a cancelled contract; 422 when the index
    lacks a month or the body mixes both forms."""

    async def change(session: AsyncSession) -> Contract:
        return await service.readjust_on_request(
            session, caller.clock, caller.tenant_id, contract_id, body
        )

    return await _respond_once(request, caller, 200, change)
