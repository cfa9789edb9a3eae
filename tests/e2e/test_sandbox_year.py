"""The integrator's walk (issue 12, docs/testing-your-integration.md): a sandbox tenant driven
through a year using only the command line and HTTP against a running `assina serve`, with a
webhook receiver on loopback and an SMTP server (aiosmtpd). Every expected charge is issued on
its day, the customer who never pays is dunned on the documented days with the documented
reasons, the ones who pay never leave `active`, every webhook verifies with
`standardwebhooks`, and every e-mail sent arrives.

On SQLite, and on PostgreSQL when ASSINA_TEST_DATABASE_URL is set. The server delivers on
real time, so the end waits (bounded) for the receiver and the SMTP server to have it all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time as wall
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from tests.conftest import fresh_pg_database, postgres_base_url
from tests.integration.email_support import Mailbox, SmtpServer, smtp_server
from tests.integration.test_cli import Background, Cli, _free_port, _healthy

ZONE = ZoneInfo("America/Sao_Paulo")
YEAR_SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "sandbox" / "year.py"
LEAD_DAYS = 10  # the default `charge_lead_days`: a charge is issued 10 days before it is due
PRICE = 45000
TRIAL_DAYS = 30
DELIVERY_SECONDS = 30.0  # a bound on real time for the last webhooks and e-mails to arrive
START_OF_DAY = timedelta(seconds=30)  # a day's run takes milliseconds of real time
CLI_STEP = 6  # the month whose advance goes through `assina billing run --date`

# What the default dunning policy does to a customer who never pays (docs/dunning.md), as
# (days after the due date, event type, fields of the event's data). The reasons the events
# carry are asserted here and nowhere else.
NON_PAYER_MOVES: list[tuple[int, str, dict[str, str]]] = [
    (1, "customer.status_changed", {"from": "active", "to": "delinquent", "reason": "overdue"}),
    (
        15,
        "customer.status_changed",
        {"from": "delinquent", "to": "suspended", "reason": "suspended"},
    ),
    (15, "contract.updated", {"status": "suspended", "status_reason": "overdue"}),
    (
        60,
        "contract.cancelled",
        {"status": "cancelled", "cancel_reason": "dunning", "status_reason": "dunning"},
    ),
]
DUNNING_EVENT_TYPES = {event_type for _, event_type, _ in NON_PAYER_MOVES}


# --- the world around the server: a webhook receiver and the command line -----------------


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)

    def event_ids(self) -> list[str]:
        """The events received, in arrival order."""
        return [json.loads(delivery.body)["id"] for delivery in self.deliveries]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on loopback that keeps every delivery and answers 204."""
    state = Receiver()

    async def hook(request: web.Request) -> web.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        state.deliveries.append(Delivery(headers, await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hook"
    yield state
    await runner.cleanup()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server(Mailbox()) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
async def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    """`assina` in a subprocess, on an empty database of each backend."""
    if request.param == "sqlite":
        return Cli(tmp_path)
    if postgres_base_url() is None:
        pytest.skip("ASSINA_TEST_DATABASE_URL is not set")
    return _PgCli(tmp_path, await fresh_pg_database("e2e"))


@dataclass
class _PgCli(Cli):
    url: str = ""

    @property
    def database_url(self) -> str:
        return self.url


@pytest.fixture
def server_processes() -> Iterator[list[Background]]:
    started: list[Background] = []
    yield started
    for process in started:
        process.kill()


# --- dates -------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (days up to 28 only: no month-end rules)."""
    assert day.day <= 28
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, day.day)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), ZONE)


def stamped_at_start_of(stamp: str, day: date) -> bool:
    """A test clock runs on with real time: the day's run stamps its start plus the real
    milliseconds the run has taken so far."""
    return start_of(day) <= instant(stamp) < start_of(day) + START_OF_DAY


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def monthly_dues(first: date, last_issue_day: date) -> list[date]:
    """Every due date of a monthly contract whose charge is issued by `last_issue_day`."""
    dues: list[date] = []
    while add_months(first, len(dues)) - timedelta(days=LEAD_DAYS) <= last_issue_day:
        dues.append(add_months(first, len(dues)))
    return dues


# --- HTTP --------------------------------------------------------------------------------


@dataclass
class Api:
    http: httpx.AsyncClient

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def get(self, path: str) -> dict[str, Any]:
        response = await self.http.get(path)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def every(self, path: str, **filters: str) -> list[dict[str, Any]]:
        """Every item of a list, page after page (oldest first)."""
        items: list[dict[str, Any]] = []
        params: dict[str, str | int] = {**filters, "limit": 100}
        while True:
            response = await self.http.get(path, params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["data"]
            if not page["has_more"]:
                return items
            params["starting_after"] = items[-1]["id"]

    async def settle_open_charges(self, customer_id: str) -> int:
        charges = await self.every("/v1/charges", customer_id=customer_id, status="open")
        for charge in charges:
            await self.create(f"/v1/charges/{charge['id']}/settle", {})
        return len(charges)


async def wait_until(done: Any, what: str) -> None:
    """Bounded polling of real time: the server delivers webhooks and e-mails on its own."""
    deadline = wall.monotonic() + DELIVERY_SECONDS
    while not await done():
        assert wall.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


# --- the walk ----------------------------------------------------------------------------


@dataclass
class Cast:
    """The tenant's customers and contracts."""

    payer: str
    non_payer: str
    trial: str
    contracts: dict[str, dict[str, Any]]  # by customer id


async def open_the_school(api: Api, start: date) -> Cast:
    tuition = await api.create("/v1/products", {"name": "Mensalidade", "amount": PRICE})
    people = {
        "payer": ("Ana Pagadora", "ana@example.com", None),
        "non_payer": ("Bruno Devedor", "bruno@example.com", None),
        "trial": ("Carla Experimental", "carla@example.com", TRIAL_DAYS),
    }
    ids: dict[str, str] = {}
    contracts: dict[str, dict[str, Any]] = {}
    for role, (name, email, trial_days) in people.items():
        customer = await api.create("/v1/customers", {"name": name, "email": email})
        body: dict[str, Any] = {
            "customer_id": customer["id"],
            "items": [{"product_id": tuition["id"]}],
            "start_date": start.isoformat(),
        }
        if trial_days is not None:
            body["trial_days"] = trial_days
        contracts[customer["id"]] = await api.create("/v1/contracts", body)
        ids[role] = customer["id"]
    return Cast(ids["payer"], ids["non_payer"], ids["trial"], contracts)


async def test_a_sandbox_year_through_the_cli_and_http(
    cli: Cli,
    receiver: Receiver,
    smtp: SmtpServer,
    server_processes: list[Background],
) -> None:
    await asyncio.to_thread(cli.run, "migrate")
    creating = await asyncio.to_thread(
        cli.run, "tenant", "create", "Escola Teste", "--sandbox", "--json"
    )
    created = json.loads(creating.stdout)
    server, base_url = await serve(cli, server_processes, ASSINA_SMTP_URL=smtp.url)
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as http:
        api = Api(http)
        assert (await api.get("/v1/tenant"))["mode"] == "sandbox"
        endpoint = await api.create(
            "/v1/webhook-endpoints",
            {"url": receiver.url, "event_types": ["*"], "ordering": "per_customer"},
        )
        today = date.fromisoformat((await api.get("/v1/test-clock"))["today"])
        start = add_months(today.replace(day=10), 1)  # the 10th of next month
        cast = await open_the_school(api, start)

        # A year, month by month: each advance lands on the 5th at 09:00, after the 10th's
        # charge was issued and before it is due, and the payers settle what is open.
        landings = [add_months(start.replace(day=5), month) for month in range(13)]
        for month, landing in enumerate(landings):
            if month == CLI_STEP:
                await advance_by_the_cli(cli, created["tenant_id"], landing)
            else:
                target = datetime.combine(landing, time(9), ZONE).isoformat()
                moved = await api.create("/v1/test-clock/advance", {"to": target})
                assert moved["failed"] == [], moved
            assert (await api.get("/v1/test-clock"))["today"] == landing.isoformat()
            for customer_id in (cast.payer, cast.trial):
                await api.settle_open_charges(customer_id)

        await check_charges(api, cast, start, landings[-1])
        await check_dunning(api, cast, start)
        await check_trial(api, cast, start)
        customers = [cast.payer, cast.non_payer, cast.trial]
        await check_webhooks(api, receiver, endpoint, customers)
        await check_emails(api, smtp.mailbox)
    assert server.stop(signal.SIGTERM) == 0, server.output()  # SIGTERM: the worker stops cleanly
    assert "Traceback" not in server.output()


async def serve(cli: Cli, processes: list[Background], **env: str) -> tuple[Background, str]:
    """`assina serve` with its worker, allowed to deliver to the loopback receiver."""
    port = _free_port()
    server = cli.start("serve", "--port", str(port), ASSINA_ALLOW_PRIVATE_TARGETS="true", **env)
    processes.append(server)
    base_url = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(server.wait_for, _healthy(base_url))
    return server, base_url


async def advance_by_the_cli(cli: Cli, tenant_id: str, day: date) -> None:
    """`assina billing run --tenant T --date D`: a sandbox tenant's clock advanced to day D,
    by another process than the server's."""
    ran = await asyncio.to_thread(
        cli.run, "billing", "run", "--tenant", tenant_id, "--date", day.isoformat()
    )
    report = json.loads(ran.stdout)
    assert report["clock"]["today"] == day.isoformat()
    assert report["failed"] == []


async def check_charges(api: Api, cast: Cast, start: date, last_day: date) -> None:
    """Every expected charge exists, due on its day and created at the start of its issue
    day (due date - 10) by the test clock, and nothing else was charged."""
    trial_start = start + timedelta(days=TRIAL_DAYS)
    expected = {
        cast.payer: monthly_dues(start, last_day),
        cast.trial: monthly_dues(trial_start, last_day),
        cast.non_payer: [start],  # suspended before the next charge's issue day
    }
    assert len(expected[cast.payer]) == 13
    assert len(expected[cast.trial]) == 12
    for customer_id, dues in expected.items():
        charges = await api.every("/v1/charges", customer_id=customer_id)
        assert [charge["due_date"] for charge in charges] == [due.isoformat() for due in dues]
        for charge, due in zip(charges, dues, strict=True):
            assert charge["amount"] == PRICE
            assert charge["contract_id"] == cast.contracts[customer_id]["id"]
            assert stamped_at_start_of(charge["created_at"], due - timedelta(days=LEAD_DAYS))
        wanted = "open" if customer_id == cast.non_payer else "settled"
        assert {charge["status"] for charge in charges} == {wanted}


async def check_dunning(api: Api, cast: Cast, start: date) -> None:
    """The non-payer is dunned on the documented days with the documented reasons; those who
    pay are never moved."""
    moves = []
    for event in await api.every("/v1/events", customer_id=cast.non_payer):
        if event["type"] not in DUNNING_EVENT_TYPES:
            continue
        if event["type"] == "contract.updated" and "status" not in (event["previous"] or {}):
            continue  # a contract change that is not a status move
        day = (instant(event["timestamp"]).astimezone(ZONE).date() - start).days
        wanted = next(fields for _, kind, fields in NON_PAYER_MOVES if kind == event["type"])
        moves.append((day, event["type"], {name: event["data"][name] for name in wanted}))
        assert stamped_at_start_of(event["timestamp"], start + timedelta(days=day))
    assert moves == NON_PAYER_MOVES
    non_payer = await api.get(f"/v1/customers/{cast.non_payer}")
    assert non_payer["status"] == "suspended"
    contract = await api.get(f"/v1/contracts/{cast.contracts[cast.non_payer]['id']}")
    assert (contract["status"], contract["cancel_reason"]) == ("cancelled", "dunning")
    for payer in (cast.payer, cast.trial):
        assert (await api.get(f"/v1/customers/{payer}"))["status"] == "active"
        moved = await api.every("/v1/events", customer_id=payer, type="customer.status_changed")
        assert moved == []
        contract = await api.get(f"/v1/contracts/{cast.contracts[payer]['id']}")
        assert contract["status"] == "active"


async def check_trial(api: Api, cast: Cast, start: date) -> None:
    """The trial ends on its day: the contract turns `active` at the start of it."""
    trial_end = start + timedelta(days=TRIAL_DAYS)
    contract_id = cast.contracts[cast.trial]["id"]
    assert cast.contracts[cast.trial]["trial_end"] == trial_end.isoformat()
    updates = await api.every("/v1/events", customer_id=cast.trial, type="contract.updated")
    ended = [
        event
        for event in updates
        if event["data"]["id"] == contract_id
        and (event["previous"] or {}).get("status") == "trialing"
    ]
    assert len(ended) == 1
    assert stamped_at_start_of(ended[0]["timestamp"], trial_end)
    assert ended[0]["data"]["status"] == "active"


async def check_webhooks(
    api: Api, receiver: Receiver, endpoint: dict[str, Any], customers: list[str]
) -> None:
    """Every event reached the receiver, signed so that `standardwebhooks` verifies it, and
    each customer's events arrived in `sequence` order (the endpoint orders per customer)."""
    events = await api.every("/v1/events")
    wanted = {event["id"] for event in events}
    assert len(wanted) > 50  # a year of three customers

    async def all_arrived() -> bool:
        return wanted <= set(receiver.event_ids())

    await wait_until(all_arrived, "every webhook")
    secret = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/secret"))["secret"]
    verifier = Webhook(secret)
    token = (await api.get("/v1/webhook-settings"))["validation_token"]
    for delivery in receiver.deliveries:
        payload = verifier.verify(delivery.body, delivery.headers)  # raises when it does not
        assert delivery.headers["x-validation-token"] == token
        assert payload["validationtoken"] == token
    assert set(receiver.event_ids()) == wanted

    arrival = {
        event_id: index for index, event_id in reversed(list(enumerate(receiver.event_ids())))
    }
    for customer_id in customers:
        about = await api.every("/v1/events", customer_id=customer_id)
        in_sequence = sorted(about, key=lambda event: event["sequence"])
        assert sorted(about, key=lambda event: arrival[event["id"]]) == in_sequence


async def check_emails(api: Api, mailbox: Mailbox) -> None:
    """Every e-mail of the outbox was sent, and the SMTP server received each one."""

    async def all_sent() -> bool:
        emails = await api.every("/v1/emails")
        return all(email["status"] == "sent" for email in emails) and len(
            mailbox.messages()
        ) >= len(emails)

    await wait_until(all_sent, "every e-mail")
    emails = await api.every("/v1/emails")
    kinds = Counter(email["kind"] for email in emails)
    expected_kinds = {"charge_created", "reminder", "receipt", "overdue", "suspension"}
    assert expected_kinds | {"cancellation", "trial_ending"} <= set(kinds), kinds
    received = Counter((str(m["To"]), str(m["Subject"])) for m in mailbox.messages())
    assert received == Counter((email["to"], email["subject"]) for email in emails)


async def test_the_guides_python_walk_runs_as_shown(
    tmp_path: Path, server_processes: list[Background]
) -> None:
    """examples/sandbox/year.py, shown in docs/testing-your-integration.md, against a running
    server: its walk (two months here, to stay short) ends with every webhook verified. On
    SQLite only: it is the script that is under test here, the backends are above."""
    cli = Cli(tmp_path)
    await asyncio.to_thread(cli.run, "migrate")
    creating = await asyncio.to_thread(
        cli.run, "tenant", "create", "Escola Teste", "--sandbox", "--json"
    )
    api_key = json.loads(creating.stdout)["api_key"]
    server, base_url = await serve(cli, server_processes)
    walked = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(YEAR_SCRIPT), "--months", "2"],
        env={**os.environ, "ASSINA_URL": base_url, "ASSINA_API_KEY": api_key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert walked.returncode == 0, (walked.stdout, walked.stderr)
    lines = walked.stdout.splitlines()
    assert len(lines) == 4  # three advances, then the verification
    assert lines[-1].endswith(" missing") and ", 0 missing" in lines[-1]
    assert int(lines[-1].split()[0]) >= int(lines[-1].split(", ")[1].split()[0]) > 10
    assert server.stop(signal.SIGTERM) == 0, server.output()
