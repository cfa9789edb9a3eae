"""Operations without auth: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from assina.core.clock import Clock
from assina.db.database import Database
from assina.tenants.deps import Runtime, RuntimeDep
from assina.webhooks.metrics import WebhookMetrics

router = APIRouter(tags=["operations"])


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    # People land on the console; integrators find the API's docs at /docs.
    return RedirectResponse("/console")


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Liveness: answers 200 while the process serves. No authentication."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers",
    responses={503: {"description": "Not ready"}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: 200 when the database answers, 503 otherwise. No authentication."""
    try:
        async with runtime.database.read() as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        return JSONResponse(
            {"status": "unavailable", "detail": type(error).__name__}, status_code=503
        )
    return JSONResponse({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics in the text format: requests by route and status, latencies, webhook
    attempts and the pending backlog. No authentication."""
    runtime: Runtime = request.app.state.runtime
    text_format = await metrics_text(
        request.app.state.metrics_registry,
        request.app.state.webhook_metrics,
        runtime.database,
        runtime.clock,
    )
    return Response(text_format, media_type=CONTENT_TYPE_LATEST)


async def metrics_text(
    registry: CollectorRegistry, webhook_metrics: WebhookMetrics, database: Database, clock: Clock
) -> bytes:
    """The Prometheus text of `registry`, the webhook backlog read from the database first
    (`serve`'s /metrics, and `assina worker --metrics-port`'s)."""
    try:
        async with database.read() as session:
            await webhook_metrics.refresh_backlog(session, clock.now())
    except (SQLAlchemyError, OSError):
        pass  # the backlog gauges keep their last values; /readyz reports the database
    return generate_latest(registry)
