"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from prometheus_client import CollectorRegistry

from assina import __version__, reactions
from assina.billing_settings.api import router as billing_settings_router
from assina.charges.api import router as charges_router
from assina.charges.links import install_payment_links
from assina.config import Settings
from assina.console.install import install_console
from assina.contracts.api import router as contracts_router
from assina.core.clock import Clock, SystemClock
from assina.core.docs_ui import install_docs
from assina.core.http import BodyLimitMiddleware, install_error_handlers
from assina.core.inputs import refuse_unstorable_url
from assina.core.metrics import HttpMetrics, MetricsMiddleware
from assina.core.openapi import install_openapi
from assina.core.ratelimit import RateLimiter, RateLimitHeadersMiddleware
from assina.core.secrets import SecretBox, load_or_create_secret_key
from assina.core.turns import Turns
from assina.customers.api import router as customers_router
from assina.customers.models import CustomerStatus
from assina.customers.schemas import CustomerCreate, CustomerOut
from assina.db.database import Database
from assina.dunning.api import router as dunning_router
from assina.event_types.api import router as event_types_router
from assina.events.api import router as events_router
from assina.expenses.api import router as expenses_router
from assina.fiscal.api import router as fiscal_router
from assina.fiscal.issuers import FiscalIssuers
from assina.fiscal_settings.api import router as fiscal_settings_router
from assina.notifications.api import router as notifications_router
from assina.ops import router as ops_router
from assina.orders.api import checkout_router
from assina.orders.api import router as orders_router
from assina.payment_settings.api import router as payment_settings_router
from assina.payment_settings.service import InboundTokens
from assina.payments.api import router as payments_router
from assina.payments.cards_api import router as cards_router
from assina.payments.connections import ProviderConnections
from assina.payments.inbound_commit import InboundGroupCommit
from assina.payments.page_api import router as payment_page_router
from assina.price_indexes.api import router as price_indexes_router
from assina.products.api import router as products_router
from assina.reports.api import router as reports_router
from assina.sandbox.api import router as sandbox_router
from assina.suppliers.api import router as suppliers_router
from assina.tenants.api import router as tenants_router
from assina.tenants.auth import ApiKeyAuthenticator
from assina.tenants.deps import EarlyRefusalMiddleware, Runtime
from assina.tenants.keys_api import router as api_keys_router
from assina.webhooks.api import router as webhooks_router
from assina.webhooks.metrics import WebhookMetrics
from assina.webhooks.openapi import add_webhooks

DESCRIPTION = """\
Recurring billing and subscription management, Brazil first, with webhooks that are never lost.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 `application/problem+json`.
Every POST (and `PATCH /v1/webhook-settings`) honours an `Idempotency-Key` header, declared on
each such operation with its rules.

The events assina pushes to your webhook endpoints are in the `webhooks` section: one per event
type, with its payload and the Standard Webhooks headers it is signed with.
"""


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the app. Tests pass their own database and clock; `serve` passes neither."""
    reactions.install()
    settings = settings or Settings()
    owns_database = database is None
    database = database or Database.from_url(settings.database_url, settings.db_pool_size)
    box = SecretBox(load_or_create_secret_key(settings.secret_key, settings.data_dir))
    links = install_payment_links(box, settings.public_url)
    clock = clock or SystemClock()
    runtime = Runtime(
        settings=settings,
        database=database,
        clock=clock,
        secret_box=box,
        authenticator=ApiKeyAuthenticator(database, clock),
        limits=settings.limits(),
        rate_limiter=RateLimiter.for_engine(database.engine, clock),
        key_turns=Turns(settings.api_concurrency_per_key),
    )

    connections = ProviderConnections(database, box, clock, asaas_base_url=settings.asaas_base_url)
    issuers = FiscalIssuers(database, clock, connections)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await issuers.close()
        await connections.close()
        if owns_database:
            await database.dispose()

    app = FastAPI(
        title="assina",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # install_docs: Swagger UI from assina's own assets, not a CDN
        redoc_url=None,
        dependencies=[Depends(refuse_unstorable_url)],
    )
    app.state.runtime = runtime
    app.state.provider_connections = connections
    app.state.fiscal_issuers = issuers
    app.state.inbound_group_commit = InboundGroupCommit(database, clock)
    app.state.inbound_tokens = InboundTokens(database)
    app.state.payment_links = links
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.state.webhook_metrics = WebhookMetrics(registry)

    install_error_handlers(app)
    for router in (
        ops_router,
        tenants_router,
        api_keys_router,
        customers_router,
        products_router,
        contracts_router,
        price_indexes_router,
        charges_router,
        suppliers_router,
        expenses_router,
        reports_router,
        billing_settings_router,
        payment_settings_router,
        fiscal_settings_router,
        payments_router,
        cards_router,
        orders_router,
        checkout_router,
        payment_page_router,
        dunning_router,
        events_router,
        event_types_router,
        webhooks_router,
        notifications_router,
        sandbox_router,
        fiscal_router,
    ):
        app.include_router(router)
    if settings.bench_endpoints:
        _add_bench_routes(app)
    install_openapi(app, [add_webhooks])
    install_docs(app)
    install_console(app)

    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(EarlyRefusalMiddleware, runtime=runtime)  # before the body is read
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))
    return app


def _add_bench_routes(app: FastAPI) -> None:
    """A route with the same body, validation and answer shape as POST /v1/customers that
    touches no database: the baseline for bench/api.py."""
    app.add_api_route(
        "/_bench/bare",
        _bench_bare,
        methods=["POST"],
        status_code=201,
        response_model=CustomerOut,
        include_in_schema=False,
    )


async def _bench_bare(body: CustomerCreate, request: Request) -> CustomerOut:
    # Module-level, not a closure over the app (see core/docs_ui.py).
    from assina.core.ids import new_id

    now = request.app.state.runtime.clock.now()
    return CustomerOut(
        id=new_id("cus"),
        number=1,
        name=body.name,
        email=body.email,
        document=body.document,
        document_type=None,
        phone=body.phone,
        address=body.address,
        dunning_exempt=body.dunning_exempt,
        status=CustomerStatus.ACTIVE,
        metadata=body.metadata,
        created_at=now,
        updated_at=now,
    )
