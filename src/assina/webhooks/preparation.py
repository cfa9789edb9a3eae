"""Preparing claimed webhook messages for sending: each message's body built and signed, its
headers set, from three reads per batch with no ORM objects (the drain's hot path, issue 18):
the messages with their events, and the batch's few endpoints and tenants, each opened once."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, Text, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from assina.core.secrets import SecretBox
from assina.customers.models import Customer
from assina.db.shapes import one_of_parameter
from assina.events.models import Event
from assina.tenants.models import Tenant
from assina.webhooks.headers import sendable_headers
from assina.webhooks.models import WebhookEndpoint
from assina.webhooks.payloads import StoredEvent, delivery_body
from assina.webhooks.recording import MESSAGES
from assina.webhooks.retries import schedule_from_seconds
from assina.webhooks.sender import Delivery, Outcome
from assina.webhooks.service import live_secrets
from assina.webhooks.signing import signature_headers
from assina.webhooks.superlogica import UnsupportedFormat

logger = logging.getLogger("assina.dispatcher")

ENDPOINTS: Table = WebhookEndpoint.__table__  # type: ignore[assignment]
TENANTS: Table = Tenant.__table__  # type: ignore[assignment]
EVENTS: Table = Event.__table__  # type: ignore[assignment]
CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class SendingEndpoint:
    id: str
    url: str
    format: str
    secrets: list[str]  # those that sign now: the current one, and the previous for 24 h
    headers: dict[str, str]  # its static headers that may go out, opened
    failing: bool  # it had a failing streak when read


@dataclass(frozen=True)
class SendingTenant:
    validation_token: str
    retry_schedule: tuple[timedelta, ...]
    time_zone: str


@dataclass
class Prepared:
    deliveries: list[Delivery]
    unsendable: list[Outcome]
    # Whether each endpoint of the batch had a failing streak when read: a success there must
    # end it.
    endpoint_failing: dict[str, bool]


async def prepare_deliveries(
    connection: AsyncConnection, box: SecretBox, ids: Sequence[str], now: datetime
) -> Prepared:
    rows = (await connection.execute(_messages_statement(), {"ids": list(ids)})).all()
    endpoints = await _endpoints(connection, box, {row.endpoint_id for row in rows}, now)
    tenants = await _tenants(connection, box, {row.tenant_id for row in rows})
    prepared = Prepared([], [], {e.id: e.failing for e in endpoints.values()})
    timestamp = int(now.timestamp())
    for row in rows:
        endpoint, tenant = endpoints[row.endpoint_id], tenants[row.tenant_id]
        event = StoredEvent(
            row.event_id,
            row.tenant_id,
            row.sequence,
            row.type,
            row.created_at,
            row.data_json,
            row.previous_json,
        )
        try:
            body, content_type = delivery_body(
                endpoint.format,
                event,
                tenant.validation_token,
                tenant.time_zone,
                row.customer_number,
            )
        except UnsupportedFormat as error:
            placeholder = Delivery(row.id, row.tenant_id, endpoint.id, endpoint.url, {}, b"")
            failure = Outcome(placeholder, None, 0, None, str(error)[:500], permanent=True)
            prepared.unsendable.append(failure)
            continue
        headers = {
            **endpoint.headers,
            "Content-Type": content_type,
            "x-validation-token": tenant.validation_token,
            **signature_headers(endpoint.secrets, row.id, timestamp, body),
        }
        delivery = Delivery(
            row.id,
            row.tenant_id,
            endpoint.id,
            endpoint.url,
            headers,
            body,
            tenant.retry_schedule,
            row.attempt_count,
        )
        prepared.deliveries.append(delivery)
    return prepared


async def _endpoints(
    connection: AsyncConnection, box: SecretBox, ids: set[str], now: datetime
) -> dict[str, SendingEndpoint]:
    rows = await connection.execute(_endpoints_statement(), {"ids": list(ids)})
    return {
        row.id: SendingEndpoint(
            row.id,
            row.url,
            row.format,
            live_secrets(row, box, now),
            _sendable_static_headers(row.id, box.open_values(row.headers)),
            row.failing_since is not None,
        )
        for row in rows
    }


async def _tenants(
    connection: AsyncConnection, box: SecretBox, ids: set[str]
) -> dict[str, SendingTenant]:
    rows = await connection.execute(_tenants_statement(), {"ids": list(ids)})
    return {
        row.id: SendingTenant(
            box.open(row.validation_token_sealed),
            schedule_from_seconds(row.webhook_retry_schedule),
            row.time_zone,
        )
        for row in rows
    }


def _sendable_static_headers(endpoint_id: str, opened: dict[str, str]) -> dict[str, str]:
    """The endpoint's static headers (`opened`: their values unsealed) that may go out. One
    saved before the checks tightened may hold a refused one: it is left out (never the whole
    delivery) and the log says why, naming the header but never its value, which may be a
    credential."""
    kept, dropped = sendable_headers(opened)
    for reason in dropped:
        logger.warning("endpoint %s: static header left out: %s", endpoint_id, reason)
    return kept


# The statements, built once: values come as parameters.


@functools.cache
def _messages_statement() -> Select[Any]:
    """Each claimed message with its event; `data` and `previous` as the JSON text stored, put
    in the body as they are (payloads.py)."""
    return (
        select(
            MESSAGES.c.id,
            MESSAGES.c.endpoint_id,
            MESSAGES.c.attempt_count,
            EVENTS.c.id.label("event_id"),
            EVENTS.c.tenant_id,
            EVENTS.c.sequence,
            EVENTS.c.type,
            EVENTS.c.created_at,
            cast(EVENTS.c.data, Text).label("data_json"),
            cast(EVENTS.c.previous, Text).label("previous_json"),
            # The customer's number names it in `superlogica` bodies (`id_sacado_sac`).
            CUSTOMERS.c.number.label("customer_number"),
        )
        .join(EVENTS, EVENTS.c.id == MESSAGES.c.event_id)
        .outerjoin(CUSTOMERS, CUSTOMERS.c.id == MESSAGES.c.customer_id)
        .where(one_of_parameter(MESSAGES.c.id, "ids"))
    )


@functools.cache
def _endpoints_statement() -> Select[Any]:
    c = ENDPOINTS.c
    return select(
        c.id,
        c.url,
        c.format,
        c.secret_sealed,
        c.previous_secret_sealed,
        c.previous_secret_expires_at,
        c.headers,
        c.failing_since,
    ).where(one_of_parameter(c.id, "ids"))


@functools.cache
def _tenants_statement() -> Select[Any]:
    c = TENANTS.c
    return select(c.id, c.validation_token_sealed, c.webhook_retry_schedule, c.time_zone).where(
        one_of_parameter(c.id, "ids")
    )
