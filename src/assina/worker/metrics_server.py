"""`assina worker --metrics-port`: the worker's own /metrics (and /healthz), so that a
deployment whose workers run apart from `serve` still sees its webhook delivery metrics."""

from __future__ import annotations

import asyncio
import socket

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from assina.core.clock import Clock
from assina.db.database import Database
from assina.ops import metrics_text
from assina.webhooks.metrics import WebhookMetrics


async def serve_metrics(
    listener: socket.socket,
    registry: CollectorRegistry,
    webhook_metrics: WebhookMetrics,
    database: Database,
    clock: Clock,
    stop: asyncio.Event,
) -> None:
    """Serve on the bound `listener` until `stop`."""

    async def scrape(_request: web.Request) -> web.Response:
        body = await metrics_text(registry, webhook_metrics, database, clock)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, listener).start()
        await stop.wait()
    finally:
        await runner.cleanup()
