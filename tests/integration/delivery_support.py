"""A real webhook receiver on loopback and helpers for the dispatcher tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from assina.core.clock import Clock
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.webhooks.dispatcher import Dispatcher, DispatcherConfig
from assina.webhooks.models import WebhookAttempt, WebhookMessage
from tests.conftest import TEST_SECRET_KEY, TenantClient


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # Statuses to answer, in order; 200 once they run out.
    script: list[int] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    on_receive: Callable[[], None] | None = None
    # The first request whose body contains this text is answered 503.
    fail_once_for: str | None = None
    # What `/ok`, a receiver that always answers 204, got.
    healthy: list[Received] = field(default_factory=list)
    # What `/slow` got: it answers only once `release_slow` is set.
    slow: list[Received] = field(default_factory=list)
    release_slow: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set on every request

    @property
    def ok_url(self) -> str:
        return self.url.replace("/hook", "/ok")


def dispatcher_for(database: Database, clock: Clock, allow_private: bool = True) -> Dispatcher:
    config = DispatcherConfig(allow_private_targets=allow_private, lease=timedelta(seconds=30))
    return Dispatcher(database, clock, SecretBox(TEST_SECRET_KEY), config)


async def dispatch_once(database: Database, clock: Clock) -> int:
    """One pass of a fresh dispatcher: how many messages it sent."""
    dispatcher = dispatcher_for(database, clock)
    try:
        return await dispatcher.dispatch_once()
    finally:
        await dispatcher.close()


async def new_endpoint(api: TenantClient, url: str, **fields: object) -> dict[str, str]:
    response = await api.post("/v1/webhook-endpoints", {"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def only_message(database: Database) -> WebhookMessage:
    async with database.read() as session:
        messages = (await session.scalars(select(WebhookMessage))).all()
        session.expunge_all()  # keep the loaded values readable after the block
    assert len(messages) == 1
    return messages[0]


async def attempts(database: Database) -> list[WebhookAttempt]:
    async with database.read() as session:
        statement = select(WebhookAttempt).order_by(WebhookAttempt.id)
        found = list((await session.scalars(statement)).all())
        session.expunge_all()
        return found
