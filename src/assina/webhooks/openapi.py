"""The OpenAPI 3.1 `webhooks` section: one entry per event type of the catalog, each with the
payload a `standard` endpoint receives (payloads.standard_body) and the headers it comes with
(signing.signature_headers, the dispatcher)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.encoders import jsonable_encoder
from fastapi.openapi.models import Schema
from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import models_json_schema

from assina.event_types.catalog import data_model
from assina.events.catalog import CATALOG, EventKind
from assina.events.schemas import EventOut
from assina.webhooks.signing import TOLERANCE_SECONDS

REF_TEMPLATE = "#/components/schemas/{model}"


class WebhookPayload(EventOut):
    """What a `standard` endpoint receives: the event as `GET /v1/events/{id}` shows it, plus
    the tenant's validation token."""

    validationtoken: str = Field(
        description="The tenant's validation token (`GET /v1/webhook-settings`): compare it "
        "with yours before trusting the delivery."
    )


_DELIVERY = f"""\
assina POSTs this JSON body to every enabled webhook endpoint subscribed to the event type
(or to `*`), once per endpoint, after the change committed. Verify the `webhook-signature`
over the raw body and check the validation token before acting on it; skip a `webhook-id`
you already handled (delivery is at least once). Answer any 2xx within 15 s; anything else
(another status, a timeout, a redirect) is retried on the endpoint's schedule and, after the
last retry, the message is `failed`. An endpoint with `format: superlogica` receives the
same event as an `application/x-www-form-urlencoded` body instead (docs/webhooks.md).
Receivers should reject a `webhook-timestamp` more than {TOLERANCE_SECONDS // 60} minutes
away from their clock."""

_HEADERS: list[dict[str, Any]] = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The message id (`msg_…`): this event for this endpoint. The same on "
        "every retry: deduplicate on it.",
        "schema": {"type": "string", "examples": ["msg_01JQ8X2B3C4D5E6F7G8H9J0K1M"]},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds of this attempt (a retry carries a new one).",
        "schema": {"type": "string", "pattern": "^[0-9]+$", "examples": ["1772461800"]},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "Standard Webhooks: `v1,` + base64 of the HMAC-SHA256 of "
        "`{webhook-id}.{webhook-timestamp}.{raw body}`, keyed with the base64-decoded part of "
        "the endpoint's `whsec_` secret after its prefix. Space-separated, one per live "
        "secret: two while a secret rotation lasts (24 h). Accept when any one matches.",
        "schema": {
            "type": "string",
            "examples": ["v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="],
        },
    },
    {
        "name": "x-validation-token",
        "in": "header",
        "required": True,
        "description": "The tenant's validation token, as in the body's `validationtoken`.",
        "schema": {"type": "string"},
    },
    {
        "name": "User-Agent",
        "in": "header",
        "required": True,
        "description": "`assina-webhooks/<version>`. The endpoint's static `headers` come too.",
        "schema": {"type": "string", "examples": ["assina-webhooks/0.1.0"]},
    },
]

_RESPONSES: dict[str, Any] = {
    "2XX": {"description": "Received: the message is `delivered`."},
    "410": {"description": "Gone: the endpoint is disabled at once (`endpoint.disabled`)."},
    "429": {
        "description": "Too many requests: retried after at least 60 s, honouring "
        "`Retry-After` (seconds or an HTTP date) up to 24 h."
    },
    "default": {
        "description": "Any other answer is a failed attempt, retried on the schedule; an "
        "endpoint that fails everything for 5 days is disabled."
    },
}


def payload_model(kind: EventKind) -> type[BaseModel]:
    """The payload of one event type: `type` and `label` fixed, `data` the catalog's shape."""
    name = "".join(part.title() for part in kind.name.value.replace(".", "_").split("_"))
    fields: dict[str, Any] = {
        "type": (Literal[kind.name.value], Field(description="The event type.")),
        "label": (Literal[kind.label], Field(description="Its Portuguese label.")),
        "data": (data_model(kind.name), Field(description="The object after the change.")),
    }
    model: type[BaseModel] = create_model(
        f"{name}Payload",
        __base__=WebhookPayload,
        __doc__=f"The `{kind.name.value}` webhook payload.",
        **fields,
    )
    return model


def _as_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema as FastAPI writes its own components (through its OpenAPI model, without the
    `null` members), so that one model has one shape wherever the document names it."""
    normal: dict[str, Any] = jsonable_encoder(
        Schema.model_validate(schema), by_alias=True, exclude_none=True
    )
    return normal


def _operation(kind: EventKind, payload_ref: dict[str, Any]) -> dict[str, Any]:
    name = kind.name.value
    return {
        "summary": f"{name}: {kind.label}",
        "description": f"{kind.description}\n\n{_DELIVERY}",
        "operationId": f"webhook_{name.replace('.', '_')}",
        "tags": ["webhooks"],
        "parameters": _HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": payload_ref}}},
        "responses": _RESPONSES,
    }


def add_webhooks(document: dict[str, Any]) -> None:
    """Adds `webhooks` (one per catalog event type) and their payload schemas to `document`."""
    models = [(payload_model(kind), "serialization") for kind in CATALOG]
    refs, definitions = models_json_schema(models, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
    components: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in definitions.get("$defs", {}).items():
        schema = _as_openapi(definition)
        known = components.setdefault(name, schema)
        if known != schema:  # two shapes under one name: a receiver could not trust either
            raise ValueError(f"webhook schema {name!r} differs from the API's own {name!r}")
    document["webhooks"] = {
        kind.name.value: {"post": _operation(kind, refs[(model, "serialization")])}
        for kind, (model, _mode) in zip(CATALOG, models, strict=True)
    }
