from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from assina.events.catalog import label_of
from assina.events.models import Event


class EventOut(BaseModel):
    id: str
    type: str
    label: str = Field(description="Portuguese label of the event type, as in the seed.")
    timestamp: datetime
    sequence: int = Field(description="Increases with every event of the tenant; gaps allowed.")
    tenant_id: str
    data: dict[str, Any] = Field(description="The object after the change.")
    previous: dict[str, Any] | None = Field(
        description="Old values of the fields that changed (on *.updated and state changes)."
    )

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls(
            id=event.id,
            type=event.type,
            label=label_of(event.type),
            timestamp=event.created_at,
            sequence=event.sequence,
            tenant_id=event.tenant_id,
            data=event.data,
            previous=event.previous,
        )
