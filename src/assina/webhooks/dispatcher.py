"""The dispatcher, the webhook adapter of the relay kernel (relay/kernel.py): claims due
messages in batches with a lease, sends them concurrently, and records every attempt and
outcome in one short transaction per batch.

No transaction, row lock or pooled connection is held across an HTTP call. A worker that dies
holding a lease loses nothing: once `locked_until` passes, another worker claims the message
again (at least once, never zero times). Receivers dedupe on `webhook-id`, the message id.
What is the dispatcher's own: per-endpoint shares of the sends in flight, `rate_limit`,
`per_customer` ordering, and the endpoint's health (disabled on 410 or after 5 failing days).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from assina.core.clock import Clock
from assina.core.secrets import SecretBox, SecretKeyMismatch
from assina.db.base import UTCDateTime
from assina.db.database import Database
from assina.events.catalog import EventType
from assina.events.service import emit_event
from assina.events.shapes import EndpointDisabledShape
from assina.relay.kernel import Relay
from assina.relay.outbox import skip_locked
from assina.webhooks.metrics import WebhookMetrics
from assina.webhooks.models import (
    EndpointOrdering,
    MessageStatus,
    WebhookEndpoint,
    WebhookMessage,
)
from assina.webhooks.preparation import prepare_deliveries
from assina.webhooks.recording import WEBHOOK_OUTBOX, attempted, insert_attempts
from assina.webhooks.sender import Delivery, Outcome, new_http_session, send

logger = logging.getLogger("assina.dispatcher")

GONE = "410 Gone"
FAILING_TOO_LONG = "no successful delivery for 5 days"
FAILING_LIMIT = timedelta(days=5)
RATE_WINDOW = timedelta(seconds=1)


@dataclass(frozen=True)
class DispatcherConfig:
    batch_size: int = 100
    lease: timedelta = timedelta(seconds=60)
    timeout: timedelta = timedelta(seconds=15)
    poll_interval_seconds: float = 1.0
    # How long the recorder waits for more outcomes while sends are in flight.
    record_gather_seconds: float = 0.005
    allow_private_targets: bool = False
    # Sends in flight at once, per endpoint and in all: a slow endpoint holds at most its own
    # share, never the others'.
    per_endpoint_in_flight: int = 10
    max_in_flight: int = 200


class Dispatcher:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        box: SecretBox,
        config: DispatcherConfig,
        rng: random.Random | None = None,
        metrics: WebhookMetrics | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.box = box
        self.config = config
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.metrics = metrics
        self.relay = Relay(
            database,
            clock,
            WEBHOOK_OUTBOX,
            lease=config.lease,
            poll_interval_seconds=config.poll_interval_seconds,
            wake_on_commits=True,
            rng=self.rng,
        )
        self._http: aiohttp.ClientSession | None = None
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._sending: set[asyncio.Task[None]] = set()
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._freed = asyncio.Event()
        # `rate_limit` (deliveries per second, per dispatcher process): when each endpoint's
        # messages were claimed in the last second, and the limits last read.
        self._recent_claims: collections.defaultdict[str, collections.deque[datetime]] = (
            collections.defaultdict(collections.deque)
        )
        self._rate_limits: dict[str, int | None] = {}
        # Endpoints with a failing streak, as last read or written by this process.
        self._failing: set[str] = set()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = new_http_session(self.config.allow_private_targets, self.config.timeout)
        return self._http

    async def dispatch_once(self) -> int:
        """One step, for tests and tools: claim a batch, send it all, record the outcomes;
        returns how many were attempted. `run` pipelines the same steps."""
        deliveries, unsendable = await self._claim(self.config.batch_size)
        if not deliveries and not unsendable:
            return 0
        http = self._session()
        outcomes = list(await asyncio.gather(*(send(http, d) for d in deliveries)))
        await self._record([*outcomes, *unsendable])
        return len(outcomes) + len(unsendable)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop`. Claims whenever there is room, sends each delivery as its
        own task, and records outcomes in batches as they come, so that a slow endpoint never
        holds back the others. Wakes at once after a commit, else polls."""
        recorder = asyncio.create_task(self._record_as_they_come())

        async def step() -> bool:
            return await self._claim_and_start() > 0

        try:
            # A secret that cannot be opened would fail every later pass alike and deliver
            # nothing: it stops the worker.
            await self.relay.run(
                stop, step, "dispatch pass", woken_by=(self._freed,), fatal=(SecretKeyMismatch,)
            )
        finally:
            if self._sending:
                await asyncio.gather(*self._sending, return_exceptions=True)
            await self._outcomes.join()
            recorder.cancel()
            await self.close()

    async def _claim_and_start(self) -> int:
        # Cleared before the claim reads the free slots, not in the relay's idle wait: a send
        # that ends between the two must still wake it, or the next claim waits for the poll.
        self._freed.clear()
        room = self.config.max_in_flight - sum(self._in_flight.values())
        if room <= 0:
            return 0
        deliveries, unsendable = await self._claim(min(room, self.config.batch_size))
        for outcome in unsendable:
            self._outcomes.put_nowait(outcome)
        http = self._session()
        for delivery in deliveries:
            self._in_flight[delivery.endpoint_id] += 1
            task = asyncio.create_task(self._send_one(http, delivery))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return len(deliveries) + len(unsendable)

    async def _send_one(self, http: aiohttp.ClientSession, delivery: Delivery) -> None:
        try:
            outcome = await send(http, delivery)
        finally:
            self._in_flight[delivery.endpoint_id] -= 1
            self._freed.set()
        self._outcomes.put_nowait(outcome)

    async def _record_as_they_come(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            if self._sending and self._outcomes.qsize() < self.config.batch_size:
                # More are coming: a few milliseconds gather them into one transaction
                # instead of one each (the receiver already has them; only the record waits).
                await asyncio.sleep(self.config.record_gather_seconds)
            while len(batch) < self.config.batch_size and not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            try:
                await self._record(batch)
            except Exception:
                # The messages stay leased; when the lease ends they are sent again.
                logger.exception("recording %d outcomes failed", len(batch))
            finally:
                for _ in batch:
                    self._outcomes.task_done()

    async def _claim(self, limit: int) -> tuple[list[Delivery], list[Outcome]]:
        async with self.relay.claiming() as claim:
            session, now = claim.session, claim.now
            known = {*self._in_flight, *self._recent_claims}
            # Endpoints with no room left are skipped, else a backlog on a stuck endpoint
            # could fill every claim and starve the rest.
            saturated = [endpoint_id for endpoint_id in known if self._room(endpoint_id, now) <= 0]
            due = claim_statement(self.relay.lock_rows, bool(saturated))
            connection = await session.connection()
            per_endpoint = self.config.per_endpoint_in_flight
            parameters = claim_parameters(now, limit, saturated, per_endpoint)
            rows = (await connection.execute(due, parameters)).all()
            ids = self._within_endpoint_shares(rows, now)
            if not ids:
                return [], []
            await claim.lease(ids)
            prepared = await prepare_deliveries(connection, self.box, ids, now)
            for endpoint_id, failing in prepared.endpoint_failing.items():
                self._note_failing(endpoint_id, failing)
            return prepared.deliveries, prepared.unsendable

    def _room(self, endpoint_id: str, now: datetime) -> int:
        """How many more of the endpoint's messages this process may claim now: its free
        sending slots, and under its `rate_limit` what is left of this second's budget."""
        room = self.config.per_endpoint_in_flight - self._in_flight[endpoint_id]
        rate_limit = self._rate_limits.get(endpoint_id)
        if rate_limit is None:
            return room
        recent = self._recent_claims[endpoint_id]
        while recent and recent[0] <= now - RATE_WINDOW:
            recent.popleft()
        return min(room, rate_limit - len(recent))

    def _within_endpoint_shares(self, rows: Sequence[Any], now: datetime) -> list[str]:
        """The claimed ids, at most as many per endpoint as it has room for; the rest are left
        unleased for a later claim."""
        rooms: dict[str, int] = {}
        kept = []
        for message_id, endpoint_id, rate_limit in rows:
            if endpoint_id not in rooms:
                self._rate_limits[endpoint_id] = rate_limit
                rooms[endpoint_id] = self._room(endpoint_id, now)
            if rooms[endpoint_id] <= 0:
                continue
            rooms[endpoint_id] -= 1
            kept.append(message_id)
            if rate_limit is not None:
                self._recent_claims[endpoint_id].append(now)
        return kept

    async def _record(self, outcomes: Sequence[Outcome]) -> None:
        async def also(session: AsyncSession, now: datetime) -> None:
            await insert_attempts(session, outcomes, now)
            gone = {o.delivery.endpoint_id for o in outcomes if o.status_code == 410}
            for endpoint_id in sorted(gone):
                await self._disable_endpoint(session, endpoint_id, GONE, now)
            await self._track_endpoint_health(session, outcomes, now)

        await self.relay.record(lambda now: [attempted(o, now) for o in outcomes], also=also)
        if self.metrics is not None:
            for outcome in outcomes:
                self.metrics.record(outcome)

    def _note_failing(self, endpoint_id: str, failing: bool) -> None:
        if failing:
            self._failing.add(endpoint_id)
        else:
            self._failing.discard(endpoint_id)

    async def _track_endpoint_health(
        self, session: AsyncSession, outcomes: Sequence[Outcome], now: datetime
    ) -> None:
        """Any success clears an endpoint's failing streak; an endpoint whose every attempt
        has failed for `FAILING_LIMIT` is disabled."""
        succeeded = {o.delivery.endpoint_id for o in outcomes if o.delivered}
        failed = {
            o.delivery.endpoint_id for o in outcomes if not o.delivered and not o.permanent
        } - succeeded
        # Only endpoints known to be failing (read with each batch, or marked here) are
        # written: the healthy majority costs no statement per batch.
        recovered = succeeded & self._failing
        if recovered:
            await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id.in_(recovered), WebhookEndpoint.failing_since.isnot(None))
                .values(failing_since=None)
            )
            for endpoint_id in recovered:
                self._note_failing(endpoint_id, False)
        if not failed:
            return
        for endpoint_id in failed:
            self._note_failing(endpoint_id, True)
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(failed), WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=now)
        )
        exhausted = await session.scalars(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.id.in_(failed),
                WebhookEndpoint.enabled.is_(True),
                WebhookEndpoint.failing_since <= now - FAILING_LIMIT,
            )
        )
        for endpoint_id in exhausted.all():
            await self._disable_endpoint(session, endpoint_id, FAILING_TOO_LONG, now)

    async def _disable_endpoint(
        self, session: AsyncSession, endpoint_id: str, reason: str, now: datetime
    ) -> None:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return
        endpoint.enabled = False
        self._failing.discard(endpoint_id)
        endpoint.disabled_reason = reason
        endpoint.updated_at = now
        logger.warning("endpoint %s disabled: %s", endpoint_id, reason)
        notice = EndpointDisabledShape(
            endpoint_id=endpoint.id,
            url=endpoint.url,
            reason=reason,
            failing_since=endpoint.failing_since,
            disabled_at=now,
        )
        await emit_event(
            session, self.clock, endpoint.tenant_id, EventType.ENDPOINT_DISABLED, notice
        )


def due_messages_query(
    now: datetime,
    limit: int,
    skip: Sequence[str] = (),
    lock_rows: bool = True,
    per_endpoint: int = DispatcherConfig.per_endpoint_in_flight,
) -> Select[str, str, int | None]:
    """The claim with its values bound, for tools (EXPLAIN); the dispatcher executes the
    cached statement with `claim_parameters` instead."""
    parameters = claim_parameters(now, limit, skip, per_endpoint)
    return claim_statement(lock_rows, bool(skip)).params(parameters)


def claim_parameters(
    now: datetime, limit: int, skip: Sequence[str], per_endpoint: int
) -> dict[str, object]:
    parameters: dict[str, object] = {"now": now, "limit": limit}
    if skip:
        parameters["skip"] = list(skip)
        parameters["per_endpoint"] = min(limit, per_endpoint)
    return parameters


@functools.cache
def claim_statement(lock_rows: bool, skipping: bool) -> Select[str, str, int | None]:
    """The claim: due pending messages of live endpoints, oldest first, minus those waiting
    on an earlier message (`per_customer`) and, when `skipping`, those of the endpoints in
    the `skip` parameter. With `lock_rows` (PostgreSQL), rows another worker is claiming are
    skipped, not waited for. Built once: values come as bound parameters."""
    if lock_rows and skipping:
        return _claim_by_endpoint()
    now = bindparam("now", type_=UTCDateTime())
    due = (
        select(WebhookMessage.id, WebhookMessage.endpoint_id, WebhookEndpoint.rate_limit)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
        .where(_live_endpoint(), *_due_message(now))
        .order_by(WebhookMessage.next_attempt_at, WebhookMessage.id)
        .limit(bindparam("limit", type_=Integer()))
    )
    if skipping:
        due = due.where(WebhookMessage.endpoint_id.not_in(bindparam("skip", expanding=True)))
    return skip_locked(due, lock_rows, of=WebhookMessage)


def _claim_by_endpoint() -> Select[str, str, int | None]:
    """The skipping claim on PostgreSQL, one endpoint at a time (a LATERAL join over the live
    endpoints not skipped, on `ix_webhook_messages_due_by_endpoint`). The plain claim would
    read a skipped endpoint's whole due backlog, no index can answer `NOT IN`; this one never
    reads it. Each endpoint gives at most `per_endpoint` rows, what it may have in flight:
    every row read here is locked (a write on PostgreSQL), and the dispatcher keeps no more."""
    now = bindparam("now", type_=UTCDateTime())
    one_endpoints = (
        select(WebhookMessage.id, WebhookMessage.endpoint_id, WebhookMessage.next_attempt_at)
        .where(WebhookMessage.endpoint_id == WebhookEndpoint.id, *_due_message(now))
        # endpoint_id is one value here; ordering by it too matches the index exactly, so the
        # planner takes it over ix_webhook_messages_due, which would read other endpoints' rows.
        .order_by(WebhookMessage.endpoint_id, WebhookMessage.next_attempt_at, WebhookMessage.id)
        .limit(bindparam("per_endpoint", type_=Integer()))
    )
    due = skip_locked(one_endpoints, lock_rows=True).lateral("due")
    return (
        select(due.c.id, due.c.endpoint_id, WebhookEndpoint.rate_limit)
        .select_from(WebhookEndpoint)
        .join(due, true())
        .where(
            _live_endpoint(),
            WebhookEndpoint.id.not_in(bindparam("skip", expanding=True)),
        )
        .order_by(due.c.next_attempt_at, due.c.id)
        .limit(bindparam("limit", type_=Integer()))
    )


def _live_endpoint() -> ColumnElement[bool]:
    return and_(WebhookEndpoint.enabled.is_(True), WebhookEndpoint.deleted_at.is_(None))


def _due_message(now: BindParameter[datetime]) -> tuple[ColumnElement[bool], ...]:
    return (
        WebhookMessage.status == MessageStatus.PENDING,
        WebhookMessage.next_attempt_at <= now,
        WEBHOOK_OUTBOX.lease_free(now),
        ~_waits_for_an_earlier_message(),
    )


def _waits_for_an_earlier_message() -> ColumnElement[bool]:
    """On a `per_customer` endpoint, a message waits while an earlier one about the same
    customer is still pending there (not yet delivered, nor failed for good)."""
    earlier = aliased(WebhookMessage)
    return and_(
        WebhookEndpoint.ordering == EndpointOrdering.PER_CUSTOMER,
        WebhookMessage.customer_id.is_not(None),
        exists().where(
            earlier.endpoint_id == WebhookMessage.endpoint_id,
            earlier.customer_id == WebhookMessage.customer_id,
            earlier.status == MessageStatus.PENDING,
            earlier.id < WebhookMessage.id,
        ),
    )
