"""The event log: one event per change, with the object after it and the old values, and the
event catalog (product.md §3)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from assina.core.clock import FrozenClock
from assina.event_types import catalog as data_catalog
from assina.events import catalog as catalog_module
from assina.events.catalog import CATALOG, EventType
from tests.assertions import iso
from tests.conftest import START, TenantClient

CPF = "529.982.247-25"
CNPJ = "11.222.333/0001-81"

# product.md §3: the 26 seed events, by their names, with the seed's Portuguese labels.
SEED_EVENTS = {
    "customer.created": "Cliente novo",
    "customer.updated": "Cliente atualizado",
    "customer.deactivated": "Cliente desativado",
    "customer.reactivated": "Cliente reativado",
    "customer.status_changed": "Cliente status",
    "product.created": "Produto ou serviço novo",
    "product.updated": "Produto ou serviço atualizado",
    "product.deactivated": "Produto ou serviço desativado",
    "product.deleted": "Produto ou serviço excluído",
    "contract.created": "Contrato novo",
    "contract.updated": "Contrato atualizado",
    "contract.deleted": "Contrato excluído",
    "contract.cancelled": "Contrato cancelado",
    "charge.created": "Cobrança criada",
    "charge.updated": "Cobrança atualizada",
    "charge.settled": "Cobrança liquidada",
    "charge.reversed": "Cobrança estornada",
    "charge.invalidated": "Cobrança invalidada",
    "charge.reactivated": "Cobrança reativada",
    "contract.readjusted": "Mensalidade reajustada",
    "expense.settled": "Despesa liquidada",
    "expense.reversed": "Despesa estornada",
    "expense.updated": "Despesa alterada",
    "card.declined": "Cartão de crédito negado",
    "order.status_changed": "Pedido status",
    "fiscal_invoice.issued": "Nota fiscal convertida",
}


async def all_events(api: TenantClient, **params: Any) -> list[dict[str, Any]]:
    """Every event of the tenant (oldest first), walking the pages."""
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": 100, **params}
        if cursor is not None:
            query["starting_after"] = cursor
        response = await api.get("/v1/events", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["data"]
        if not page["has_more"]:
            return events
        cursor = page["data"][-1]["id"]


class EventLog:
    """Watches a tenant's log: `new()` returns the events written since the last call."""

    def __init__(self, api: TenantClient) -> None:
        self.api = api
        self.seen: list[str] = []

    async def new(self) -> list[dict[str, Any]]:
        events = await all_events(self.api)
        assert [e["id"] for e in events[: len(self.seen)]] == self.seen, "the log was rewritten"
        fresh = events[len(self.seen) :]
        self.seen = [e["id"] for e in events]
        return fresh

    async def one(self, type_: str) -> dict[str, Any]:
        fresh = await self.new()
        assert [e["type"] for e in fresh] == [type_], fresh
        return fresh[0]

    async def none(self) -> None:
        assert await self.new() == []


def check_event(
    event: dict[str, Any],
    api: TenantClient,
    type_: str,
    data: dict[str, Any],
    previous: dict[str, Any] | None,
    clock: FrozenClock,
) -> None:
    assert event["id"].startswith("evt_")
    assert event["type"] == type_
    assert event["label"] == SEED_EVENTS[type_]
    assert event["tenant_id"] == api.tenant.tenant_id
    assert event["timestamp"] == iso(clock.now())
    assert event["data"] == data
    assert event["previous"] == previous
    assert isinstance(event["sequence"], int)


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Old values of the fields that differ, `updated_at` aside (it changes on every write)."""
    return {k: before[k] for k in after if k != "updated_at" and before[k] != after[k]}


# --- customers -----------------------------------------------------------------------------------


async def test_customer_lifecycle_events(api: TenantClient, clock: FrozenClock) -> None:
    log = EventLog(api)
    created = await api.post(
        "/v1/customers", {"name": "Ana", "email": "ana@example.com", "document": CPF}
    )
    assert created.status_code == 201
    customer = created.json()
    event = await log.one("customer.created")
    check_event(event, api, "customer.created", customer, None, clock)

    clock.advance(timedelta(minutes=1))
    patch = {"name": "Ana Lima", "document": CNPJ, "metadata": {"k": "v"}}
    updated = (await api.patch(f"/v1/customers/{customer['id']}", patch)).json()
    event = await log.one("customer.updated")
    previous = {
        "name": "Ana",
        "document": customer["document"],
        "document_type": "cpf",
        "metadata": {},
    }
    assert changed(customer, updated) == previous
    check_event(event, api, "customer.updated", updated, previous, clock)

    clock.advance(timedelta(minutes=1))
    deactivated = (await api.post(f"/v1/customers/{customer['id']}/deactivate")).json()
    event = await log.one("customer.deactivated")
    check_event(event, api, "customer.deactivated", deactivated, {"status": "active"}, clock)

    clock.advance(timedelta(minutes=1))
    reactivated = (await api.post(f"/v1/customers/{customer['id']}/reactivate")).json()
    event = await log.one("customer.reactivated")
    check_event(event, api, "customer.reactivated", reactivated, {"status": "inactive"}, clock)

    # The last event's data is the customer as it is now.
    assert (await api.get(f"/v1/customers/{customer['id']}")).json() == event["data"]


async def test_customer_update_previous_holds_exactly_the_changed_fields(
    api: TenantClient, clock: FrozenClock
) -> None:
    log = EventLog(api)
    customer = (
        await api.post(
            "/v1/customers",
            {"name": "Ana", "email": "ana@example.com", "phone": "1199", "address": {"city": "X"}},
        )
    ).json()
    await log.one("customer.created")
    # Sending unchanged fields alongside a changed one: only the changed one is in `previous`.
    clock.advance(timedelta(seconds=30))
    body = {"name": "Ana", "email": None, "phone": "1199"}
    updated = (await api.patch(f"/v1/customers/{customer['id']}", body)).json()
    event = await log.one("customer.updated")
    assert event["previous"] == {"email": "ana@example.com"}
    assert event["data"] == updated
    assert updated["email"] is None

    clock.advance(timedelta(seconds=30))
    updated2 = (
        await api.patch(f"/v1/customers/{customer['id']}", {"address": {"city": "Y"}})
    ).json()
    event = await log.one("customer.updated")
    assert event["previous"] == {"address": customer["address"]}
    assert event["data"] == updated2


async def test_patch_that_changes_nothing_writes_no_event(
    api: TenantClient, clock: FrozenClock
) -> None:
    log = EventLog(api)
    customer = (await api.post("/v1/customers", {"name": "Ana", "metadata": {"a": "1"}})).json()
    product = (await api.post("/v1/products", {"name": "P", "amount": 100})).json()
    await log.new()
    clock.advance(timedelta(hours=1))
    await api.patch(f"/v1/customers/{customer['id']}", {})
    await api.patch(f"/v1/customers/{customer['id']}", {"name": "Ana", "metadata": {"a": "1"}})
    await api.patch(f"/v1/products/{product['id']}", {})
    await api.patch(f"/v1/products/{product['id']}", {"amount": 100, "currency": "BRL"})
    await log.none()


async def test_failed_requests_write_no_event(api: TenantClient) -> None:
    log = EventLog(api)
    customer = (await api.post("/v1/customers", {"name": "Ana"})).json()
    product = (await api.post("/v1/products", {"name": "P", "amount": 100})).json()
    await log.new()
    await api.post("/v1/customers", {"name": "Ana", "document": "123"})  # 422
    await api.post("/v1/products", {"name": "P", "amount": 1.5})  # 422
    await api.patch(f"/v1/customers/{customer['id']}", {"name": None})  # 422
    await api.post(f"/v1/customers/{customer['id']}/reactivate")  # 409
    await api.post("/v1/customers/cus_00000000000000000000000000/deactivate")  # 404
    await api.post(f"/v1/products/{product['id']}/deactivate")
    await log.one("product.deactivated")
    await api.post(f"/v1/products/{product['id']}/deactivate")  # 409
    await api.delete("/v1/products/prd_00000000000000000000000000")  # 404
    await log.none()


async def test_idempotent_replay_writes_no_second_event(api: TenantClient) -> None:
    log = EventLog(api)
    key = {"Idempotency-Key": "k-1"}
    first = await api.post("/v1/customers", {"name": "Ana"}, headers=key)
    second = await api.post("/v1/customers", {"name": "Ana"}, headers=key)
    assert second.json() == first.json()
    event = await log.one("customer.created")
    assert event["data"] == first.json()


# --- products ------------------------------------------------------------------------------------


async def test_product_lifecycle_events(api: TenantClient, clock: FrozenClock) -> None:
    log = EventLog(api)
    product = (await api.post("/v1/products", {"name": "Plano", "amount": 9990})).json()
    event = await log.one("product.created")
    check_event(event, api, "product.created", product, None, clock)

    clock.advance(timedelta(minutes=1))
    patch = {"amount": 10990, "interval": "year", "description": "novo"}
    updated = (await api.patch(f"/v1/products/{product['id']}", patch)).json()
    event = await log.one("product.updated")
    previous = {"amount": 9990, "interval": "month", "description": None}
    assert changed(product, updated) == previous
    check_event(event, api, "product.updated", updated, previous, clock)

    clock.advance(timedelta(minutes=1))
    deactivated = (await api.post(f"/v1/products/{product['id']}/deactivate")).json()
    event = await log.one("product.deactivated")
    check_event(event, api, "product.deactivated", deactivated, {"status": "active"}, clock)

    clock.advance(timedelta(minutes=1))
    deleted = await api.delete(f"/v1/products/{product['id']}")
    assert deleted.status_code == 200
    event = await log.one("product.deleted")
    check_event(event, api, "product.deleted", deleted.json(), None, clock)
    assert event["data"]["id"] == product["id"]


async def test_product_events_name_no_customer(api: TenantClient) -> None:
    customer = (await api.post("/v1/customers", {"name": "Ana"})).json()
    await api.post("/v1/products", {"name": "P", "amount": 1})
    about = await all_events(api, customer_id=customer["id"])
    assert [e["type"] for e in about] == ["customer.created"]


# --- sequence ------------------------------------------------------------------------------------


async def test_sequence_increases_with_every_event_of_a_tenant(
    api: TenantClient, other_api: TenantClient
) -> None:
    for i in range(3):
        await api.post("/v1/customers", {"name": f"A{i}"})
        await other_api.post("/v1/customers", {"name": f"B{i}"})
        await api.post("/v1/products", {"name": f"P{i}", "amount": i})
    mine = await all_events(api)
    theirs = await all_events(other_api)
    assert len(mine) == 6 and len(theirs) == 3
    for events in (mine, theirs):
        sequences = [e["sequence"] for e in events]
        assert all(a < b for a, b in pairwise(sequences)), sequences
        assert all(s > 0 for s in sequences)


async def test_sequence_under_concurrent_writes(api: TenantClient) -> None:
    responses = await asyncio.gather(
        *(api.post("/v1/customers", {"name": f"C{i}"}) for i in range(15))
    )
    assert all(r.status_code == 201 for r in responses)
    events = await all_events(api)
    assert len(events) == 15
    assert sorted(e["data"]["id"] for e in events) == sorted(r.json()["id"] for r in responses)
    sequences = [e["sequence"] for e in events]
    assert len(set(sequences)) == 15
    # Ordered by sequence, receivers see the customers in the order they were numbered.
    by_sequence = sorted(events, key=lambda e: e["sequence"])
    assert [e["data"]["number"] for e in by_sequence] == list(range(1, 16))
    assert all(a < b for a, b in pairwise(sequences)), sequences


# --- reading the log -----------------------------------------------------------------------------


async def test_get_event_by_id_equals_the_listed_one(api: TenantClient) -> None:
    await api.post("/v1/customers", {"name": "Ana"})
    await api.post("/v1/products", {"name": "P", "amount": 1})
    events = await all_events(api)
    assert len(events) == 2
    for event in events:
        response = await api.get(f"/v1/events/{event['id']}")
        assert response.status_code == 200
        assert response.json() == event


async def test_unknown_event_is_404(api: TenantClient) -> None:
    response = await api.get("/v1/events/evt_00000000000000000000000000")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_filter_by_type(api: TenantClient) -> None:
    a = (await api.post("/v1/customers", {"name": "A"})).json()
    b = (await api.post("/v1/customers", {"name": "B"})).json()
    await api.post(f"/v1/customers/{a['id']}/deactivate")
    await api.post("/v1/products", {"name": "P", "amount": 1})
    created = await all_events(api, type="customer.created")
    assert [e["data"]["id"] for e in created] == [a["id"], b["id"]]
    assert all(e["type"] == "customer.created" for e in created)
    assert [e["type"] for e in await all_events(api, type="customer.deactivated")] == [
        "customer.deactivated"
    ]
    assert [e["type"] for e in await all_events(api, type="product.created")] == ["product.created"]
    assert await all_events(api, type="charge.settled") == []
    assert await all_events(api, type="no.such.type") == []


async def test_filter_by_customer(api: TenantClient) -> None:
    a = (await api.post("/v1/customers", {"name": "A"})).json()
    b = (await api.post("/v1/customers", {"name": "B"})).json()
    await api.patch(f"/v1/customers/{a['id']}", {"name": "A2"})
    await api.post(f"/v1/customers/{b['id']}/deactivate")
    await api.post(f"/v1/customers/{a['id']}/deactivate")
    about_a = await all_events(api, customer_id=a["id"])
    assert [e["type"] for e in about_a] == [
        "customer.created",
        "customer.updated",
        "customer.deactivated",
    ]
    assert all(e["data"]["id"] == a["id"] for e in about_a)
    about_b = await all_events(api, customer_id=b["id"])
    assert [e["type"] for e in about_b] == ["customer.created", "customer.deactivated"]
    both = await all_events(api, customer_id=b["id"], type="customer.deactivated")
    assert len(both) == 1 and both[0]["data"]["id"] == b["id"]
    assert await all_events(api, customer_id="cus_00000000000000000000000000") == []


async def test_filter_by_time(api: TenantClient, clock: FrozenClock) -> None:
    first = (await api.post("/v1/customers", {"name": "A"})).json()
    clock.advance(timedelta(hours=1))
    await api.patch(f"/v1/customers/{first['id']}", {"name": "A2"})
    clock.advance(timedelta(hours=1))
    await api.post(f"/v1/customers/{first['id']}/deactivate")

    one_hour = iso(START + timedelta(hours=1))
    two_hours = iso(START + timedelta(hours=2))

    def types(events: list[dict[str, Any]]) -> list[str]:
        return [e["type"] for e in events]

    assert types(await all_events(api, created_gte=one_hour)) == [
        "customer.updated",
        "customer.deactivated",
    ]
    assert types(await all_events(api, created_lt=one_hour)) == ["customer.created"]
    assert types(await all_events(api, created_gte=one_hour, created_lt=two_hours)) == [
        "customer.updated"
    ]
    assert await all_events(api, created_gte=iso(START + timedelta(hours=3))) == []
    for param in ("created_gte", "created_lt"):
        response = await api.get("/v1/events", params={param: "2026-01-15T13:00:00"})
        assert response.status_code == 422
        assert param in [e["field"] for e in response.json()["errors"]]


async def test_pagination(api: TenantClient) -> None:
    for i in range(5):
        await api.post("/v1/customers", {"name": f"C{i}"})
    every = (await api.get("/v1/events", params={"limit": 100})).json()["data"]
    assert len(every) == 5
    first = (await api.get("/v1/events", params={"limit": 2})).json()
    assert first["data"] == every[:2] and first["has_more"] is True
    second = (
        await api.get("/v1/events", params={"limit": 2, "starting_after": every[1]["id"]})
    ).json()
    assert second["data"] == every[2:4] and second["has_more"] is True
    third = (
        await api.get("/v1/events", params={"limit": 2, "starting_after": every[3]["id"]})
    ).json()
    assert third["data"] == every[4:] and third["has_more"] is False
    for limit in ("0", "101"):
        response = await api.get("/v1/events", params={"limit": limit})
        assert response.status_code == 422
        assert "limit" in [e["field"] for e in response.json()["errors"]]


async def test_pagination_combines_with_type(api: TenantClient) -> None:
    ids = [(await api.post("/v1/customers", {"name": f"C{i}"})).json()["id"] for i in range(3)]
    for customer_id in ids:
        await api.patch(f"/v1/customers/{customer_id}", {"name": "x"})
    page = (await api.get("/v1/events", params={"type": "customer.updated", "limit": 2})).json()
    assert [e["data"]["id"] for e in page["data"]] == ids[:2]
    assert page["has_more"] is True
    rest = (
        await api.get(
            "/v1/events",
            params={
                "type": "customer.updated",
                "limit": 2,
                "starting_after": page["data"][-1]["id"],
            },
        )
    ).json()
    assert [e["data"]["id"] for e in rest["data"]] == ids[2:]
    assert rest["has_more"] is False


# --- the catalog ---------------------------------------------------------------------------------


async def test_event_types_list_the_seed_events_with_labels(api: TenantClient) -> None:
    response = await api.get("/v1/event-types")
    assert response.status_code == 200
    kinds = response.json()["data"]
    names = [kind["name"] for kind in kinds]
    assert len(names) == len(set(names)), "duplicate event types"
    by_name = {kind["name"]: kind for kind in kinds}
    # The 26 seed events keep their names; product.md §3 welcomes extras beside them.
    assert len(SEED_EVENTS) == 26
    assert set(SEED_EVENTS) <= set(by_name), set(SEED_EVENTS) - set(by_name)
    for name, label in SEED_EVENTS.items():
        kind = by_name[name]
        assert kind["label"] == label, name
        assert isinstance(kind["description"], str) and kind["description"], name
        schema = kind["schema"]
        assert schema.get("type") == "object", name
        assert isinstance(schema.get("properties"), dict) and schema["properties"], name
        assert set(schema.get("required", [])) <= set(schema["properties"]), name
    for kind in kinds:  # extras, too, have a label and a `resource.action` name
        assert kind["label"] and kind["name"].count(".") == 1, kind["name"]


async def test_event_types_say_which_events_nothing_raises_yet(api: TenantClient) -> None:
    kinds = (await api.get("/v1/event-types")).json()["data"]
    not_raised = {kind["name"] for kind in kinds if kind["raised"] is False}
    assert not_raised == set()  # every event of the catalog is raised today
    assert all(kind["raised"] is True for kind in kinds if kind["name"] not in not_raised)


def test_raised_matches_the_code_that_raises_events() -> None:
    """An event is `raised` exactly when some module besides the two catalogs (names and labels;
    the shapes of `data`) names its type (every emit_event / emit_events call does), so the flag
    cannot go stale when a feature lands."""
    catalogs = {Path(catalog_module.__file__), Path(data_catalog.__file__)}
    source = Path(catalog_module.__file__).parents[1]
    named: set[str] = set()
    for path in source.rglob("*.py"):
        if path not in catalogs:
            named |= set(re.findall(r"EventType\.([A-Z_]+)", path.read_text()))
    for kind in CATALOG:
        assert kind.raised == (kind.name.name in named), kind.name


def test_every_event_type_has_its_label_and_the_shape_of_its_data() -> None:
    assert [kind.name for kind in CATALOG] == list(EventType)
    assert list(data_catalog.DATA_MODELS) == list(EventType)


@pytest.mark.parametrize(
    ("resource", "body", "types"),
    [
        (
            "customers",
            {"name": "Ana"},
            ["customer.created", "customer.updated", "customer.deactivated"],
        ),
        (
            "products",
            {"name": "P", "amount": 1},
            ["product.created", "product.updated", "product.deactivated", "product.deleted"],
        ),
    ],
)
async def test_catalog_schemas_describe_the_data_sent(
    api: TenantClient, resource: str, body: dict[str, Any], types: list[str]
) -> None:
    catalog = {k["name"]: k["schema"] for k in (await api.get("/v1/event-types")).json()["data"]}
    created = (await api.post(f"/v1/{resource}", body)).json()
    await api.patch(f"/v1/{resource}/{created['id']}", {"name": "Outro"})
    await api.post(f"/v1/{resource}/{created['id']}/deactivate")
    if resource == "products":
        await api.delete(f"/v1/{resource}/{created['id']}")
    events = await all_events(api)
    assert [e["type"] for e in events] == types
    for event in events:
        schema = catalog[event["type"]]
        assert set(event["data"]) == set(schema["properties"]), event["type"]
        assert set(schema.get("required", [])) <= set(event["data"])


async def test_event_labels_come_from_the_catalog(api: TenantClient) -> None:
    catalog = {k["name"]: k["label"] for k in (await api.get("/v1/event-types")).json()["data"]}
    await api.post("/v1/customers", {"name": "Ana"})
    await api.post("/v1/products", {"name": "P", "amount": 1})
    events = await all_events(api)
    assert [e["label"] for e in events] == ["Cliente novo", "Produto ou serviço novo"]
    assert all(e["label"] == catalog[e["type"]] for e in events)


async def test_an_event_has_the_documented_fields(api: TenantClient) -> None:
    await api.post("/v1/customers", {"name": "Ana"})
    (event,) = await all_events(api)
    assert set(event) == {
        "id",
        "type",
        "label",
        "timestamp",
        "sequence",
        "tenant_id",
        "data",
        "previous",
    }
