from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from assina.core.inputs import InputModel, UtcDatetime
from assina.core.metadata import Metadata
from assina.core.patching import reject_null
from assina.core.secrets import SecretBox
from assina.events.catalog import EventType
from assina.webhooks.headers import (
    HEADERS_SCHEMA,
    MAX_HEADERS,
    MAX_NAME_LENGTH,
    MAX_TOTAL_BYTES,
    MAX_VALUE_LENGTH,
    checked_headers,
)
from assina.webhooks.models import (
    EndpointFormat,
    EndpointOrdering,
    MessageStatus,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)
from assina.webhooks.retries import (
    DEFAULT_SCHEDULE,
    MAX_SCHEDULE_STEPS,
    MAX_STEP,
    schedule_in_seconds,
)
from assina.webhooks.ssrf import UnsafeTarget, parse_target

ALL_EVENTS = "*"
EVENT_NAMES = frozenset(event_type.value for event_type in EventType)
MAX_RATE_LIMIT = 10_000


def _checked_url(url: str) -> str:
    try:
        parse_target(url)
    except UnsafeTarget as error:
        raise ValueError(str(error)) from None
    return url


def _checked_event_types(names: list[str]) -> list[str]:
    if not names:
        raise ValueError(f'list event types, or ["{ALL_EVENTS}"] for all')
    unknown = sorted(set(names) - EVENT_NAMES - {ALL_EVENTS})
    if unknown:
        raise ValueError(f"unknown event types {unknown}; see GET /v1/event-types")
    if ALL_EVENTS in names:
        return [ALL_EVENTS]
    return sorted(set(names))


STATIC_HEADERS_DOC = (
    f"Sent with every delivery. At most {MAX_HEADERS}; names are RFC 9110 tokens of at most "
    f"{MAX_NAME_LENGTH} characters, values at most {MAX_VALUE_LENGTH} characters without "
    f"control characters (a tab is allowed), {MAX_TOTAL_BYTES} bytes in all. Refused, whatever "
    "their case: hop-by-hop and framing headers (`Connection`, `Transfer-Encoding`, `TE`, "
    "`Upgrade`, `Expect`, `Host`, `Proxy-*`, …), `Content-*`, `Accept-Encoding`, and the ones "
    "assina sets (`webhook-*`, `x-validation-token`, `User-Agent`)."
)

_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
# The URLs the document promises to take (parse_target takes a few more, e.g. IPv6 literals):
# http(s), a host without credentials, a port that exists, no spaces or control characters.
URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~%!$&'()*+,;=-]+(:{_PORT})?"
    r"([/?#][^\u0000-\u0020\u007f]*)?$"
)

TargetUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        examples=["https://erp.example.com/assina"],
        json_schema_extra={"pattern": URL_PATTERN},
    ),
    AfterValidator(_checked_url),
]
EventTypes = Annotated[
    list[str],
    AfterValidator(_checked_event_types),
    Field(
        min_length=1,
        json_schema_extra={"items": {"enum": [ALL_EVENTS, *sorted(EVENT_NAMES)], "type": "string"}},
    ),
]
StaticHeaders = Annotated[
    dict[str, str], AfterValidator(checked_headers), Field(json_schema_extra=HEADERS_SCHEMA)
]
RateLimit = Annotated[int, Field(strict=True, ge=1, le=MAX_RATE_LIMIT)]


class EndpointCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    url: TargetUrl
    description: str | None = Field(default=None, max_length=500)
    event_types: EventTypes = Field(default_factory=lambda: [ALL_EVENTS])
    enabled: bool = Field(default=True, strict=True)
    format: EndpointFormat = EndpointFormat.STANDARD
    headers: StaticHeaders = Field(default_factory=dict, description=STATIC_HEADERS_DOC)
    rate_limit: RateLimit | None = Field(default=None, description="Deliveries per second.")
    ordering: EndpointOrdering = EndpointOrdering.NONE
    metadata: Metadata = Field(default_factory=dict)


class EndpointUpdate(InputModel):
    """Only the fields sent change; `null` clears `description` and `rate_limit`."""

    model_config = ConfigDict(extra="forbid")

    url: TargetUrl | None = None
    description: str | None = Field(default=None, max_length=500)
    event_types: EventTypes | None = None
    enabled: bool | None = Field(default=None, strict=True)
    format: EndpointFormat | None = None
    headers: StaticHeaders | None = Field(default=None, description=STATIC_HEADERS_DOC)
    rate_limit: RateLimit | None = None
    ordering: EndpointOrdering | None = None
    metadata: Metadata | None = None

    _not_null = field_validator(
        "url", "event_types", "enabled", "format", "headers", "ordering", "metadata"
    )(reject_null)


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    format: EndpointFormat
    headers: dict[str, str]
    rate_limit: int | None
    ordering: EndpointOrdering
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, box: SecretBox) -> EndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            event_types=endpoint.event_types,
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            format=endpoint.format,
            headers=box.open_values(endpoint.headers_sealed),
            rate_limit=endpoint.rate_limit,
            ordering=endpoint.ordering,
            metadata=endpoint.metadata_,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )


class EndpointCreated(EndpointOut):
    secret: str = Field(description="`whsec_…`: shown here and by GET …/secret.")


class EndpointSecret(BaseModel):
    secret: str
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation, the old secret also signs until this instant."
    )


RetryStep = Annotated[int, Field(strict=True, ge=1, le=int(MAX_STEP.total_seconds()))]


class WebhookSettings(BaseModel):
    validation_token: str = Field(
        description="Sent in every delivery (`validationtoken` field, `x-validation-token` header)."
    )
    retry_schedule: list[int] = Field(
        description="Seconds to wait before each retry of a failed delivery, in order "
        "(±20 % jitter); after the last one the message has failed for good.",
        examples=[schedule_in_seconds(DEFAULT_SCHEDULE)],
    )


class WebhookSettingsUpdate(InputModel):
    retry_schedule: list[RetryStep] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SCHEDULE_STEPS,
        description="Seconds before each retry (1 s to 7 days each, at most "
        f"{MAX_SCHEDULE_STEPS} retries); `null` restores the default "
        "(5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).",
    )


class MessageOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: MessageStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, message: WebhookMessage) -> MessageOut:
        pending = message.status == MessageStatus.PENDING
        return cls(
            id=message.id,
            endpoint_id=message.endpoint_id,
            event_id=message.event_id,
            event_type=message.event_type,
            status=message.status,
            attempt_count=message.attempt_count,
            next_attempt_at=message.next_attempt_at if pending else None,
            last_attempt_at=message.last_attempt_at,
            delivered_at=message.delivered_at,
            created_at=message.created_at,
        )


class AttemptOut(BaseModel):
    id: str
    message_id: str
    endpoint_id: str
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None = Field(description="The first 4 KiB of the answer.")
    error: str | None = Field(description="Why no answer came (timeout, refused, …).")

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> AttemptOut:
        return cls(
            id=attempt.id,
            message_id=attempt.message_id,
            endpoint_id=attempt.endpoint_id,
            attempted_at=attempt.attempted_at,
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            response_excerpt=attempt.response_excerpt,
            error=attempt.error,
        )


class RecoverRequest(InputModel):
    model_config = ConfigDict(extra="forbid")

    since: UtcDatetime = Field(description="Re-send what failed for good from this instant on.")


class RecoverOut(BaseModel):
    recovered: int
