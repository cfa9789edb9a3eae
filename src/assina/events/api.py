"""HTTP for the event log (the catalog of event types: event_types/api.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assina.core.inputs import UtcDatetime
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery, ReferenceFilter
from assina.events import service
from assina.events.schemas import EventOut
from assina.tenants.deps import CallerDep

router = APIRouter(tags=["events"])


@router.get(
    "/v1/events",
    response_model=Page[EventOut],
    responses=problem_responses(401, 422),
    summary="List events, oldest first",
)
async def list_events(
    caller: CallerDep,
    page: PageQuery,
    type: Annotated[str | None, Query(max_length=64, description="e.g. customer.created")] = None,
    customer_id: ReferenceFilter = None,
    created_gte: UtcDatetime | None = None,
    created_lt: UtcDatetime | None = None,
) -> Page[EventOut]:
    """The tenant's event log, oldest first, a page at a time, filtered by `type`,
    `customer_id` and creation time. Each event is what the webhooks deliver, without the
    validation token."""
    filters = service.EventFilters(
        type=type,
        customer_id=customer_id,
        created_gte=created_gte,
        created_lt=created_lt,
    )
    async with caller.database.read() as session:
        events, has_more = await service.list_events(session, caller.tenant_id, filters, page)
        return Page[EventOut](data=[EventOut.of(e) for e in events], has_more=has_more)


@router.get(
    "/v1/events/{event_id}",
    response_model=EventOut,
    responses=problem_responses(401, 404),
    summary="Get an event",
)
async def get_event(event_id: str, caller: CallerDep) -> EventOut:
    """One event by id: `data` is the object after the change, `previous` the old values of
    the fields that changed."""
    async with caller.database.read() as session:
        return EventOut.of(await service.get_event(session, caller.tenant_id, event_id))
