"""The bytes a delivery carries, by endpoint format. Built once per message and signed as is.

The dispatcher reads an event's `data` and `previous` as the JSON text the database holds and
puts that text into a `standard` body as it is: decoding 1 KiB of JSON only to encode it again
was a tenth of the worker's time per message (docs/performance.md, issue 18). The bytes then
differ from `json.dumps` only in spaces between tokens (PostgreSQL's jsonb writes `", "`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from assina.events.catalog import label_of
from assina.webhooks.models import EndpointFormat
from assina.webhooks.superlogica import superlogica_body

JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"


@dataclass(frozen=True)
class StoredEvent:
    """An event as the dispatcher reads it: `data` and `previous` as stored JSON text."""

    id: str
    tenant_id: str
    sequence: int
    type: str
    created_at: datetime
    data_json: str
    previous_json: str | None


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def standard_body(event: StoredEvent, validation_token: str) -> bytes:
    head = {
        "id": event.id,
        "type": event.type,
        "label": label_of(event.type),
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "sequence": event.sequence,
        "tenant_id": event.tenant_id,
    }
    return (
        f'{_compact(head)[:-1]},"data":{event.data_json},"previous":'
        f'{event.previous_json or "null"},"validationtoken":{_compact(validation_token)}}}'
    ).encode()


def delivery_body(
    endpoint_format: str,
    event: StoredEvent,
    validation_token: str,
    time_zone: str,
    customer_number: int | None = None,
) -> tuple[bytes, str]:
    """Body and Content-Type; raises superlogica.UnsupportedFormat for unmapped event types.
    `customer_number` is the number of the event's customer, for `superlogica` bodies."""
    if endpoint_format == EndpointFormat.SUPERLOGICA:
        data = json.loads(event.data_json)
        body = superlogica_body(
            event.type, data, validation_token, time_zone, customer_number=customer_number
        )
        return body, FORM_CONTENT_TYPE
    return standard_body(event, validation_token), JSON_CONTENT_TYPE
