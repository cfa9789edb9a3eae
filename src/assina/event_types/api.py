"""HTTP for the event catalog: every event type with the schema of its `data`."""

from __future__ import annotations

from fastapi import APIRouter

from assina.core.openapi import problem_responses
from assina.event_types.catalog import data_schema
from assina.event_types.schemas import EventTypeList, EventTypeOut
from assina.events.catalog import CATALOG
from assina.tenants.deps import CallerDep

router = APIRouter(tags=["events"])


@router.get(
    "/v1/event-types",
    response_model=EventTypeList,
    response_model_by_alias=True,
    responses=problem_responses(401),
    summary="The event catalog: names, Portuguese labels and the JSON schema of `data`",
)
async def list_event_types(_caller: CallerDep) -> EventTypeList:
    """Every event type assina raises: its name, Portuguese label, description and the
    JSON Schema of its `data`. The same types are in this document's `webhooks` section."""
    return EventTypeList(
        data=[
            EventTypeOut(
                name=kind.name.value,
                label=kind.label,
                description=kind.description,
                raised=kind.raised,
                schema=data_schema(kind.name),
            )
            for kind in CATALOG
        ]
    )
