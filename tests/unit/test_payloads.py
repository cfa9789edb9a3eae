"""A `standard` body puts the event's stored JSON text in as it is, in the documented order."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from assina.events.catalog import label_of
from assina.webhooks.payloads import JSON_CONTENT_TYPE, StoredEvent, delivery_body, standard_body

CREATED = datetime(2026, 12, 7, 13, 40, 5, 123000, tzinfo=UTC)


def stored(data_json: str, previous_json: str | None) -> StoredEvent:
    return StoredEvent("evt_1", "ten_1", 42, "customer.updated", CREATED, data_json, previous_json)


def test_the_body_is_the_event_with_its_stored_data_in_order() -> None:
    # As PostgreSQL's jsonb writes it back: spaces after separators, non-ASCII as is.
    data = '{"id": "cus_1", "name": "Padaria Pão de Mel", "tags": ["a", "b"]}'
    body = standard_body(stored(data, '{"name": "Padaria"}'), 'tok"en')
    parsed = json.loads(body)
    assert list(parsed) == [
        "id",
        "type",
        "label",
        "timestamp",
        "sequence",
        "tenant_id",
        "data",
        "previous",
        "validationtoken",
    ]
    assert parsed["data"] == json.loads(data)
    assert parsed["previous"] == {"name": "Padaria"}
    assert parsed["timestamp"] == "2026-12-07T13:40:05.123000Z"
    assert parsed["label"] == label_of("customer.updated")
    assert parsed["validationtoken"] == 'tok"en'
    assert data.encode() in body  # the stored text, not decoded and encoded again


def test_no_previous_is_null_whether_sql_null_or_json_null() -> None:
    for previous in (None, "null"):
        body, content_type = delivery_body("standard", stored("{}", previous), "t", "UTC")
        assert json.loads(body)["previous"] is None
        assert content_type == JSON_CONTENT_TYPE
