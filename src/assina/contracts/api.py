"""HTTP for contracts: parse, call the service, shape the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.contracts import service
from assina.contracts.models import Contract, ContractStatus
from assina.contracts.schemas import (
    MAX_REFERENCE,
    ContractCancel,
    ContractCreate,
    ContractOut,
    ContractReadjust,
    ContractUpdate,
)
from assina.core.inputs import UtcDatetime
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery
from assina.deps import CallerDep, IdempotentCaller, IdempotentCallerDep
from assina.events.service import snapshot

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
    customer_id: Annotated[str | None, Query(max_length=MAX_REFERENCE)] = None,
    status: ContractStatus | None = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[ContractOut]:
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
    async def change(session: AsyncSession) -> Contract:
        return await service.readjust_on_request(
            session, caller.clock, caller.tenant_id, contract_id, body
        )

    return await _respond_once(request, caller, 200, change)
