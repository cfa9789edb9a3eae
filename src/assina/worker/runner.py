"""The background loops of `assina worker` (and of `assina serve` unless `--no-worker`):
the webhook dispatcher, the billing calendar (a pass every minute; dunning once a day per
tenant), the e-mail sender (notifications/sender.py, a pass every 5 s), the registration of
charges with their PIX and boleto providers (payments/registration.py), the notas fiscais
through their issuers (fiscal/relay.py), and housekeeping
(expired idempotency keys and old delivered messages pruned)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from assina import reactions
from assina.calendar.run import run_calendar
from assina.charges.links import install_payment_links
from assina.config import Settings
from assina.core.clock import Clock
from assina.core.heap import give_free_heap_back
from assina.core.idempotency_keys import prune_idempotency_keys
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.dunning.run import DunningDays
from assina.fiscal.issuers import FiscalIssuers
from assina.fiscal.relay import IssuerRelay
from assina.notifications.sender import EmailSender, SenderConfig
from assina.payments.card_schedule import CardRun
from assina.payments.connections import ProviderConnections
from assina.payments.reconciliation import reconcile_every_tenant
from assina.payments.registration import Registrar
from assina.payments.registration_cancel import Canceller
from assina.relay.loop import every
from assina.users.sessions import prune_console_sign_ins
from assina.webhooks.dispatcher import Dispatcher, DispatcherConfig
from assina.webhooks.metrics import WebhookMetrics
from assina.webhooks.retention import PRUNE_BATCH, prune_delivered_messages

DEFAULT_RETENTION = timedelta(days=30)

logger = logging.getLogger("assina.worker")

HOUSEKEEPING_INTERVAL_SECONDS = 300.0
CALENDAR_INTERVAL_SECONDS = 60.0


async def housekeeping_pass(
    database: Database, clock: Clock, retention: timedelta = DEFAULT_RETENTION
) -> tuple[int, int, int]:
    """Prune expired idempotency keys and console sessions (and the sign-in throttles done
    counting), then delivered messages past the retention in batches; returns how many keys,
    messages and sessions."""
    async with database.write() as session:
        keys = await prune_idempotency_keys(session, clock.now())
        sessions = await prune_console_sign_ins(session, clock)
    messages = 0
    while True:
        async with database.write() as session:
            pruned = await prune_delivered_messages(session, clock.now(), retention)
        messages += pruned
        if pruned < PRUNE_BATCH:
            return keys, messages, sessions


async def _housekeeping(
    database: Database, clock: Clock, retention: timedelta, stop: asyncio.Event
) -> None:
    async def one_pass() -> None:
        keys, messages, sessions = await housekeeping_pass(database, clock, retention)
        if keys or messages or sessions:
            logger.info(
                "pruned %d idempotency keys, %d delivered messages and %d console sessions",
                keys,
                messages,
                sessions,
            )

    await every(stop, HOUSEKEEPING_INTERVAL_SECONDS, one_pass, "housekeeping pass")


async def _calendar(database: Database, clock: Clock, cards: CardRun, stop: asyncio.Event) -> None:
    """A calendar pass every minute: each tenant's today, in its own time zone; the card
    charges due a try; the dunning pass once per tenant and day (dunning/run.py). Passes are
    idempotent, so several workers may run them at once (row locks keep them apart)."""
    dunning_days = DunningDays()

    async def one_pass() -> None:
        report = await run_calendar(database, clock, dunning_days=dunning_days, cards=cards)
        if report.contracts or report.dunning.customers:
            logger.info("calendar: %s", report)
            # A pass's buffers leave free pages glibc would keep for good (core/heap.py).
            give_free_heap_back()

    await every(stop, CALENDAR_INTERVAL_SECONDS, one_pass, "calendar pass")


async def _reconciliation(
    database: Database,
    clock: Clock,
    connections: ProviderConnections,
    interval: float,
    stop: asyncio.Event,
) -> None:
    """Every few minutes, each tenant's providers asked what they received: what a lost
    notification did not say is recorded then (payments/reconciliation.py)."""

    async def one_pass() -> None:
        looks = await reconcile_every_tenant(database, clock, connections)
        found = sum(len(look.recorded) for look in looks)
        if found:
            logger.info("reconciliation recorded %d payments no notification brought", found)

    await every(stop, interval, one_pass, "reconciliation pass")


async def run_worker(
    settings: Settings,
    database: Database,
    clock: Clock,
    box: SecretBox,
    stop: asyncio.Event,
    metrics: WebhookMetrics | None = None,
) -> None:
    """`metrics`: the app's, when the worker runs inside `serve` (so `/metrics` shows them)."""
    reactions.install()
    install_payment_links(box, settings.public_url)
    logger.info("worker started")
    dispatcher = Dispatcher(
        database,
        clock,
        box,
        DispatcherConfig(
            allow_private_targets=settings.allow_private_targets,
            lease=timedelta(seconds=settings.webhook_lease_seconds),
        ),
        metrics=metrics,
    )
    retention = timedelta(days=settings.retention_days)
    emails = EmailSender(database, clock, SenderConfig.from_settings(settings))
    connections = ProviderConnections(database, box, clock, asaas_base_url=settings.asaas_base_url)
    cards = CardRun(connections, settings.public_url)
    issuers = FiscalIssuers(database, clock, connections)
    try:
        await run_until_one_fails(
            stop,
            _housekeeping(database, clock, retention, stop),
            _calendar(database, clock, cards, stop),
            dispatcher.run(stop),
            emails.run(stop),
            Registrar(database, clock, connections).run(stop),
            Canceller(database, clock, connections).run(stop),
            IssuerRelay(database, clock, issuers).run(stop),
            _reconciliation(
                database, clock, connections, settings.reconcile_interval_seconds, stop
            ),
        )
    finally:
        await issuers.close()
        await connections.close()
    logger.info("worker stopped")


async def run_until_one_fails(stop: asyncio.Event, *loops: Coroutine[Any, Any, None]) -> None:
    """Run the loops until `stop`; a loop that raises (the dispatcher meeting a secret it
    cannot open) sets `stop`, so the others end their pass cleanly, and its error is raised
    once they have."""

    async def guarded(loop: Coroutine[Any, Any, None]) -> None:
        try:
            await loop
        except BaseException:
            stop.set()
            raise

    results = await asyncio.gather(*(guarded(loop) for loop in loops), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
