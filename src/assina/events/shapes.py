"""Shapes of `data` for the events about assina's own webhooks, which no domain's response
schema gives (event_types/catalog.py publishes them with the domains' schemas)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class PingShape(BaseModel):
    endpoint_id: str
    message: str


class EndpointDisabledShape(BaseModel):
    endpoint_id: str
    url: str
    reason: str
    failing_since: datetime | None
    disabled_at: datetime
