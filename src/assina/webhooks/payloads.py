"""The bytes a delivery carries, by endpoint format. Built once per message and signed as is."""

from __future__ import annotations

import json
from typing import Any

from assina.events.catalog import label_of
from assina.events.models import Event
from assina.webhooks.models import EndpointFormat
from assina.webhooks.superlogica import superlogica_body

JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"


def standard_body(event: Event, validation_token: str) -> bytes:
    body: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "label": label_of(event.type),
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "sequence": event.sequence,
        "tenant_id": event.tenant_id,
        "data": event.data,
        "previous": event.previous,
        "validationtoken": validation_token,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def delivery_body(
    endpoint_format: str,
    event: Event,
    validation_token: str,
    time_zone: str,
    customer_number: int | None = None,
) -> tuple[bytes, str]:
    """Body and Content-Type; raises superlogica.UnsupportedFormat for unmapped event types.
    `customer_number` is the number of the event's customer, for `superlogica` bodies."""
    if endpoint_format == EndpointFormat.SUPERLOGICA:
        body = superlogica_body(
            event.type, event.data, validation_token, time_zone, customer_number=customer_number
        )
        return body, FORM_CONTENT_TYPE
    return standard_body(event, validation_token), JSON_CONTENT_TYPE
