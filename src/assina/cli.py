"""The `assina` command line."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import asdict
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from assina import __version__, reactions
from assina.charges.links import install_payment_links
from assina.cli_users import user_app
from assina.config import Settings
from assina.core.clock import SystemClock
from assina.core.errors import Problem
from assina.core.inputs import clean_name
from assina.core.listening import PortUnavailable, bind_listener
from assina.core.secrets import SecretBox, SecretKeyMismatch, load_or_create_secret_key
from assina.db.database import Database
from assina.payments.card_schedule import CardRun
from assina.payments.connections import ProviderConnections
from assina.sandbox.calendar_run import CalendarRunRefused, calendar_run
from assina.serving import OneProcessOnly, check_processes, serve_in_processes
from assina.tenants import keys as api_keys
from assina.tenants import service as tenants
from assina.tenants.models import DEFAULT_TIME_ZONE, TenantMode
from assina.tenants.schemas import ApiKeyOut, CreatedTenant, TenantOut, validate_time_zone

T = TypeVar("T")

app = typer.Typer(
    help="assina: recurring billing with webhooks that are never lost.",
    no_args_is_help=True,
)
tenant_app = typer.Typer(help="Manage tenants.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
billing_app = typer.Typer(help="The billing calendar.", no_args_is_help=True)
app.add_typer(billing_app, name="billing")
secret_key_app = typer.Typer(help="The key that seals stored secrets.", no_args_is_help=True)
app.add_typer(secret_key_app, name="secret-key")
app.add_typer(user_app, name="user")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"assina {__version__}")
        raise typer.Exit


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """assina: recurring billing with webhooks that are never lost."""
    reactions.install()


@contextlib.contextmanager
def _stops_with_a_message() -> Iterator[None]:
    """What a process cannot run with (a busy port, a foreign secret key) ends it with one
    line on stderr and exit status 1, not a traceback."""
    try:
        yield
    except (PortUnavailable, SecretKeyMismatch, OneProcessOnly) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


async def _refuse_a_foreign_secret_key(database: Database, box: SecretBox) -> None:
    async with database.read() as session:
        await tenants.check_secret_key(session, box)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    # What is loaded by now (modules, the app) lives as long as the process: frozen out of the
    # cyclic collector's way, its full collections stay short. A billing pass creates enough
    # objects to trigger several, which cost it a sixth of its time (docs/performance.md).
    gc.freeze()
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coroutine)
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(coroutine)


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return settings


def _secret_box(settings: Settings) -> SecretBox:
    return SecretBox(load_or_create_secret_key(settings.secret_key, settings.data_dir))


async def _migrate(settings: Settings) -> str | None:
    from assina.db import migrate as migrations  # Alembic: only the commands that migrate

    database = Database.from_url(settings.database_url, pool_size=1)
    try:
        await migrations.upgrade(database.engine, secret_box=_secret_box(settings))
        return await migrations.current_revision(database.engine)
    finally:
        await database.dispose()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    with _stops_with_a_message():
        revision = _run(_migrate(_settings()))
    typer.echo(f"database at revision {revision}")


async def _create_tenant(
    settings: Settings, name: str, time_zone: str, sandbox: bool = False
) -> CreatedTenant:
    database = Database.from_url(settings.database_url, pool_size=1)
    box = _secret_box(settings)
    try:
        async with database.write() as session:
            return await tenants.create_tenant(
                session, SystemClock(), box, name, time_zone, sandbox=sandbox
            )
    finally:
        await database.dispose()


def _checked_zone(time_zone: str) -> str:
    try:
        return validate_time_zone(time_zone)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


def _checked_name(name: str) -> str:
    try:
        return clean_name(name)
    except ValueError as error:
        raise typer.BadParameter(f"the name {error}", param_hint="'NAME'") from error


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="The tenant's name (the company).")],
    time_zone: Annotated[
        str, typer.Option(help="IANA time zone for calendar dates.")
    ] = DEFAULT_TIME_ZONE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="A sandbox tenant for trying an integration: `sk_test_` keys and a test "
            "clock (POST /v1/test-clock/advance). It can never be turned live.",
        ),
    ] = False,
) -> None:
    """Create a tenant and print its API key and validation token (shown only this once)."""
    name, time_zone = _checked_name(name), _checked_zone(time_zone)
    created = _run(_create_tenant(_settings(), name, time_zone, sandbox))
    if as_json:
        typer.echo(created.model_dump_json())
        return
    _print_credentials(created)


@tenant_app.command("key")
def tenant_key(
    tenant_id: Annotated[str, typer.Argument(help="ten_… id")],
    revoke: Annotated[
        str | None,
        typer.Option(
            "--revoke",
            metavar="KEY_ID",
            help="Revoke this key (key_…) instead of issuing one; refused for the tenant's "
            "last unrevoked key.",
        ),
    ] = None,
) -> None:
    """Issue another API key for a tenant (for a lost key; the old ones keep working), or
    with --revoke KEY_ID revoke one (every process refuses it within a second)."""
    settings = _settings()

    async def issue(session: AsyncSession) -> dict[str, object]:
        tenant = await tenants.get_tenant(session, tenant_id)
        sandbox = tenant.mode == TenantMode.SANDBOX
        api_key = await tenants.issue_api_key(session, SystemClock(), tenant_id, sandbox=sandbox)
        return {"tenant_id": tenant_id, "api_key": api_key}

    async def revoke_one(session: AsyncSession, key_id: str) -> dict[str, object]:
        await tenants.get_tenant(session, tenant_id)
        key = await api_keys.revoke_api_key(session, SystemClock(), tenant_id, key_id)
        return ApiKeyOut.model_validate(key).model_dump(mode="json")

    if revoke is None:
        _print_json_or_fail(_in_one_write(settings, issue))
    else:
        _print_json_or_fail(_in_one_write(settings, partial(revoke_one, key_id=revoke)))


@tenant_app.command("keys")
def tenant_keys(
    tenant_id: Annotated[str, typer.Argument(help="ten_… id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List a tenant's API keys, oldest first: id, hint (the key's first characters; the
    key itself is never shown again), created, last used, revoked."""
    settings = _settings()

    async def listed(session: AsyncSession) -> list[ApiKeyOut]:
        await tenants.get_tenant(session, tenant_id)
        rows = await api_keys.all_api_keys(session, tenant_id)
        return [ApiKeyOut.model_validate(row) for row in rows]

    try:
        keys = _run(_in_one_read(settings, listed))
    except Problem as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(json.dumps([key.model_dump(mode="json") for key in keys]))
        return
    _print_table(
        ("ID", "HINT", "CREATED", "LAST USED", "REVOKED"),
        [
            (k.id, k.hint, _when(k.created_at), _when(k.last_used_at), _when(k.revoked_at))
            for k in keys
        ],
    )


def _when(instant: datetime | None) -> str:
    return "-" if instant is None else instant.isoformat(timespec="seconds")


async def _in_one_write(settings: Settings, use_case: Callable[[AsyncSession], Awaitable[T]]) -> T:
    database = Database.from_url(settings.database_url, pool_size=1)
    try:
        async with database.write() as session:
            return await use_case(session)
    finally:
        await database.dispose()


async def _in_one_read(settings: Settings, use_case: Callable[[AsyncSession], Awaitable[T]]) -> T:
    database = Database.from_url(settings.database_url, pool_size=1)
    try:
        async with database.read() as session:
            return await use_case(session)
    finally:
        await database.dispose()


def _print_json_or_fail(answer: Coroutine[Any, Any, dict[str, object]]) -> None:
    try:
        typer.echo(json.dumps(_run(answer)))
    except Exception as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


@tenant_app.command("list")
def tenant_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List the tenants, oldest first: id, name, mode (live or sandbox), time zone, created."""
    listed = _run(_list_tenants(_settings()))
    if as_json:
        typer.echo(json.dumps([tenant.model_dump(mode="json") for tenant in listed]))
        return
    _print_tenants(listed)


async def _list_tenants(settings: Settings) -> list[TenantOut]:
    database = Database.from_url(settings.database_url, pool_size=1)
    try:
        async with database.read() as session:
            return [TenantOut.model_validate(t) for t in await tenants.list_tenants(session)]
    finally:
        await database.dispose()


def _print_tenants(listed: list[TenantOut]) -> None:
    _print_table(
        ("ID", "NAME", "MODE", "TIME ZONE", "CREATED"),
        [(t.id, t.name, t.mode, t.time_zone, _when(t.created_at)) for t in listed],
    )


def _print_table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell; the last one is not padded."""
    rows = [header, *body]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, row[-1]]))


@billing_app.command("run")
def billing_run(
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="YYYY-MM-DD. A live tenant's calendar runs only for its real today; for a "
            "sandbox tenant (--tenant) a later date advances its test clock to that day.",
        ),
    ] = None,
    tenant_id: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
) -> None:
    """One pass of the billing calendar for each tenant's today: trials, cancellations at
    period end, readjustments, charges, card charges and dunning due by then, catching up
    missed days.
    Idempotent: a second run the same day does nothing. Exits 1 if a step failed, 2 when
    the arguments cannot be run."""
    settings = _settings()
    try:
        run_day = date.fromisoformat(day) if day is not None else None
    except ValueError as error:
        raise typer.BadParameter(f"--date must be YYYY-MM-DD: {error}") from error

    async def run() -> dict[str, Any]:
        database = Database.from_url(settings.database_url, pool_size=2)
        clock = SystemClock()
        box = _secret_box(settings)
        install_payment_links(box, settings.public_url)
        connections = ProviderConnections(
            database, box, clock, asaas_base_url=settings.asaas_base_url
        )
        cards = CardRun(connections, settings.public_url)
        try:
            return await calendar_run(database, clock, run_day, tenant_id, cards)
        finally:
            await connections.close()
            await database.dispose()

    try:
        outcome = _run(run())
    except CalendarRunRefused as refused:
        typer.echo(f"error: {refused}", err=True)
        raise typer.Exit(2) from refused
    typer.echo(json.dumps(outcome))
    if outcome["failed"]:
        raise typer.Exit(1)


@secret_key_app.command("rotate")
def secret_key_rotate() -> None:
    """Seal every stored secret with a new ASSINA_SECRET_KEY, in one transaction. Stop every
    `serve` and `worker` first. The old key comes from ASSINA_SECRET_KEY or
    $ASSINA_DATA_DIR/assina.secret; the new one from ASSINA_NEW_SECRET_KEY (required with
    ASSINA_SECRET_KEY) or, with the key file, is generated and replaces it (the old key is kept
    as assina.secret.replaced-<time>). Interrupted, run it again with the same keys: it
    finishes the job. Exits 1 when a stored value opens with neither key, 2 when the keys are
    refused; nothing is changed then."""
    from assina.secret_rotation import RotationRefused, plan_keys, rotate_secret_key

    settings = _settings()
    try:
        plan = plan_keys(settings.secret_key, settings.new_secret_key, settings.data_dir)
    except RotationRefused as refused:
        typer.echo(f"error: {refused}", err=True)
        raise typer.Exit(2) from refused

    async def rotate() -> dict[str, Any]:
        database = Database.from_url(settings.database_url, pool_size=1)
        try:
            return asdict(await rotate_secret_key(database, plan, SystemClock().now()))
        finally:
            await database.dispose()

    with _stops_with_a_message():
        typer.echo(json.dumps(_run(rotate())))
    restart = "with the new key file" if plan.key_dir else "with ASSINA_SECRET_KEY set to it"
    typer.echo(f"Sealed with the new key: start every serve and worker {restart}.", err=True)


def _print_credentials(created: CreatedTenant) -> None:
    typer.echo(f"tenant:           {created.tenant_id}")
    typer.echo(f"API key:          {created.api_key}")
    typer.echo(f"validation token: {created.validation_token}")
    typer.echo("Keep them now: the API key is stored only as a hash and is not shown again.")
    typer.echo(
        "To sign in to the console: .venv/bin/assina user create "
        f"--tenant {created.tenant_id} you@example.com (asks for a password)"
    )


async def _first_tenant(settings: Settings) -> tuple[CreatedTenant | None, str | None]:
    from assina.db import migrate as migrations

    database = Database.from_url(settings.database_url, pool_size=1)
    try:
        await migrations.upgrade(database.engine, secret_box=_secret_box(settings))
        async with database.write() as session:
            existing = await tenants.first_tenant(session)
            if existing is not None:
                return None, existing.id
        created = await _create_tenant(settings, "Minha empresa", DEFAULT_TIME_ZONE)
        return created, created.tenant_id
    finally:
        await database.dispose()


@app.command()
def init() -> None:
    """Migrate, and create a first tenant when there is none (what `make run` does first)."""
    settings = _settings()
    created, tenant_id = _run(_first_tenant(settings))
    if created is not None:
        typer.echo("First tenant created.")
        _print_credentials(created)
    else:
        typer.echo(
            f"Using the existing tenant {tenant_id}; its API key was printed when it was created "
            f"(`assina tenant key {tenant_id}` issues another)."
        )


async def _serve(
    settings: Settings, listener: socket.socket, host: str, port: int, with_worker: bool
) -> None:
    import uvicorn

    from assina.app import create_app
    from assina.worker.runner import run_worker

    database = Database.from_url(settings.database_url, settings.db_pool_size)
    clock = SystemClock()
    application = create_app(settings, database=database, clock=clock)
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=False,
    )
    server = uvicorn.Server(config)
    stop = asyncio.Event()
    # uvicorn re-raises the signal that stopped it once it has shut down; with SIGTERM's default
    # action that killed the process before the worker stopped and the database was closed.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    runtime = application.state.runtime  # its secret box, already loaded
    worker: asyncio.Task[None] | None = None
    try:
        await _refuse_a_foreign_secret_key(database, runtime.secret_box)
        if with_worker:
            worker = asyncio.create_task(
                run_worker(
                    settings,
                    database,
                    clock,
                    runtime.secret_box,
                    stop,
                    metrics=application.state.webhook_metrics,
                )
            )
            # A worker that stops on its own (a secret it cannot open) stops the server too.
            worker.add_done_callback(lambda _: setattr(server, "should_exit", True))
        await server.serve(sockets=[listener])
    finally:
        stop.set()
        listener.close()
        try:
            if worker is not None:
                await worker
        finally:
            await database.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_worker: Annotated[
        bool,
        typer.Option("--no-worker", help="Serve HTTP only; run `assina worker` elsewhere."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="HTTP processes on the port (PostgreSQL only beyond 1; docs/operations.md)."
        ),
    ] = 1,
) -> None:
    """Serve the API, console, docs and operations endpoints (and the worker loops, by
    default)."""
    settings = _settings()
    with _stops_with_a_message():
        check_processes(settings, workers)
        # Bound first: a busy port ends the process before the worker runs a pass.
        listener = bind_listener(host, port)
        base = f"http://{host}:{port}"
        typer.echo(f"assina on {base}  (console {base}/console, API /v1, docs {base}/docs)")
        if workers > 1:
            serve_in_processes(settings, listener, host, port, workers, not no_worker)
            return
        _run(_serve(settings, listener, host, port, with_worker=not no_worker))


async def _work(settings: Settings, metrics_listener: socket.socket | None) -> None:
    from assina.worker.runner import run_until_one_fails, run_worker

    database = Database.from_url(settings.database_url, settings.db_pool_size)
    clock = SystemClock()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        box = _secret_box(settings)
        await _refuse_a_foreign_secret_key(database, box)
        if metrics_listener is None:
            await run_worker(settings, database, clock, box, stop)
            return
        await run_until_one_fails(
            stop, *_worker_with_metrics(settings, database, box, stop, metrics_listener)
        )
    finally:
        if metrics_listener is not None:
            metrics_listener.close()
        await database.dispose()


def _worker_with_metrics(
    settings: Settings,
    database: Database,
    box: SecretBox,
    stop: asyncio.Event,
    listener: socket.socket,
) -> tuple[Coroutine[Any, Any, None], Coroutine[Any, Any, None]]:
    """The worker and its /metrics server, sharing one registry of webhook metrics."""
    from prometheus_client import CollectorRegistry

    from assina.webhooks.metrics import WebhookMetrics
    from assina.worker.metrics_server import serve_metrics
    from assina.worker.runner import run_worker

    clock = SystemClock()
    registry = CollectorRegistry()
    metrics = WebhookMetrics(registry)
    return (
        run_worker(settings, database, clock, box, stop, metrics=metrics),
        serve_metrics(listener, registry, metrics, database, clock, stop),
    )


@app.command()
def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve /metrics (Prometheus) on this TCP port; none by default."),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Interface for --metrics-port to listen on.")
    ] = "127.0.0.1",
) -> None:
    """Run the background loops only (dispatcher, billing calendar, e-mail, housekeeping)."""
    settings = _settings()
    with _stops_with_a_message():
        listener = None if metrics_port is None else bind_listener(metrics_host, metrics_port)
        _run(_work(settings, listener))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
