"""HTTP for a sandbox tenant's test clock. Live tenants have none: 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assina.core.openapi import problem_responses
from assina.payments.api import ConnectionsDep
from assina.payments.card_schedule import CardRun
from assina.sandbox import service
from assina.sandbox.schemas import ClockAdvanced, ClockAdvanceIn, ClockReading
from assina.tenants.deps import CallerDep, IdempotentCallerDep, RuntimeDep

router = APIRouter(prefix="/v1/test-clock", tags=["sandbox"])


@router.get(
    "",
    response_model=ClockReading,
    responses=problem_responses(401, 404),
    summary="The sandbox tenant's test clock",
)
async def get_test_clock(caller: CallerDep, runtime: RuntimeDep) -> ClockReading:
    """The business time of a sandbox tenant (`now`) and its calendar date (`today`). It
    starts at real time when the tenant is created and runs on from where the last advance
    left it. A live tenant has no test clock: 404."""
    tenant = await service.sandbox_tenant(caller.database, caller.tenant_id)
    return service.clock_reading(tenant, runtime.clock)


@router.post(
    "/advance",
    response_model=ClockAdvanced,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Move the test clock forward, running every day's billing on the way",
)
async def advance_test_clock(
    body: ClockAdvanceIn,
    request: Request,
    caller: IdempotentCallerDep,
    runtime: RuntimeDep,
    connections: ConnectionsDep,
) -> JSONResponse:
    """Moves a sandbox tenant's clock to `to` or by `days` (1 to 1,100), running for every
    day on the way exactly what the worker would have run that day (trials, charges,
    proration, readjustments, card charges on their due and retry days through the sandbox
    gateway, dunning, e-mails), in order, and answers with what it did.
    Everything is stamped with the test clock; webhooks and e-mails go out at once, in real
    time. A year of a thousand contracts takes seconds, so give the request a long timeout.
    The clock never moves back (409 `clock-backwards`); a second advance while one runs
    waits for it up to 10 s, then gets 409 `clock-busy`. With an `Idempotency-Key`, a retry
    while it runs gets 409 `idempotency-in-progress`, and one after it the same answer."""

    async def use_case() -> dict[str, Any]:
        cards = CardRun(connections, runtime.settings.public_url or str(request.base_url))
        advanced = await service.advance_test_clock(
            caller.database, runtime.clock, caller.tenant_id, body, cards
        )
        return advanced.model_dump(mode="json")

    return await caller.respond_once_in_steps(request, 200, use_case)
