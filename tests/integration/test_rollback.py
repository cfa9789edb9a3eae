"""The event is part of the use case's transaction: when the transaction fails, neither the
state nor its event exists, whether the failure comes from our code or from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from assina.core.clock import FrozenClock
from assina.core.secrets import SecretBox
from assina.customers import service as customers
from assina.customers.models import Customer
from assina.customers.schemas import CustomerCreate
from assina.db.database import Database
from assina.events.models import Event
from assina.products import service as products
from assina.products.models import Product
from assina.products.schemas import ProductCreate
from assina.tenants.models import TenantCounter
from assina.tenants.schemas import CreatedTenant
from tests.conftest import make_tenant


class Boom(Exception):
    pass


@pytest.fixture
async def tenant(database: Database, clock: FrozenClock, secret_box: SecretBox) -> CreatedTenant:
    return await make_tenant(database, clock, secret_box, "Escola Alfa")


async def _counts(database: Database, tenant_id: str) -> tuple[int, int, int]:
    async with database.read() as session:
        customer_rows = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.tenant_id == tenant_id)
        )
        event_rows = await session.scalar(
            select(func.count()).select_from(Event).where(Event.tenant_id == tenant_id)
        )
        counter_rows = await session.scalar(
            select(func.count())
            .select_from(TenantCounter)
            .where(TenantCounter.tenant_id == tenant_id)
        )
    return int(customer_rows or 0), int(event_rows or 0), int(counter_rows or 0)


async def _assert_next_customer_is_number_one(
    database: Database, clock: FrozenClock, tenant_id: str
) -> None:
    """After the rollback the tenant can still write, and no number was used up."""
    async with database.write() as session:
        customer = await customers.create_customer(
            session, clock, tenant_id, CustomerCreate(name="Bia")
        )
    assert customer.number == 1
    assert await _counts(database, tenant_id) == (1, 1, 1)


async def test_an_exception_before_commit_leaves_neither_state_nor_event(
    database: Database, clock: FrozenClock, tenant: CreatedTenant
) -> None:
    tenant_id = tenant.tenant_id
    with pytest.raises(Boom):
        async with database.write() as session:
            customer = await customers.create_customer(
                session, clock, tenant_id, CustomerCreate(name="Ana", document="529.982.247-25")
            )
            # Inside the transaction both are written...
            assert await session.get(Customer, customer.id) is not None
            event_ids = list(
                await session.scalars(
                    select(Event.id).where(
                        Event.tenant_id == tenant_id, Event.customer_id == customer.id
                    )
                )
            )
            assert len(event_ids) == 1
            raise Boom("the use case fails after writing")

    # ...and after the rollback neither is.
    async with database.read() as session:
        assert await session.get(Customer, customer.id) is None
        assert await session.get(Event, event_ids[0]) is None
    assert await _counts(database, tenant_id) == (0, 0, 0)
    await _assert_next_customer_is_number_one(database, clock, tenant_id)


# --- the database itself refuses the event -----------------------------------------------


@pytest.fixture
async def refuse_events_after_a_customer(
    database: Database, tenant: CreatedTenant
) -> AsyncIterator[None]:
    """A trigger that makes the database refuse this tenant's event insert, but only once the
    customer row is already written in the same transaction: so the failure comes after the
    state write. It names the tenant, so it cannot touch other tests' data."""
    tenant_id = tenant.tenant_id
    assert tenant_id.replace("_", "").isalnum()
    if database.engine.dialect.name == "sqlite":
        create = [
            f"""CREATE TRIGGER refuse_event_{tenant_id} BEFORE INSERT ON events
            WHEN NEW.tenant_id = '{tenant_id}'
             AND EXISTS (SELECT 1 FROM customers WHERE tenant_id = '{tenant_id}')
            BEGIN SELECT RAISE(ABORT, 'event refused by the test trigger'); END"""  # noqa: S608
        ]
        drop = [f"DROP TRIGGER IF EXISTS refuse_event_{tenant_id}"]
    else:
        create = [
            f"""CREATE FUNCTION refuse_event_{tenant_id}() RETURNS trigger AS $$
            BEGIN
              IF NEW.tenant_id = '{tenant_id}' AND EXISTS (
                   SELECT 1 FROM customers WHERE tenant_id = '{tenant_id}') THEN
                RAISE EXCEPTION 'event refused by the test trigger';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""",  # noqa: S608
            f"""CREATE TRIGGER refuse_event_{tenant_id} BEFORE INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION refuse_event_{tenant_id}()""",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS refuse_event_{tenant_id} ON events",
            f"DROP FUNCTION IF EXISTS refuse_event_{tenant_id}()",
        ]
    async with database.write() as session:
        for statement in create:
            await session.execute(text(statement))
    try:
        yield
    finally:
        async with database.write() as session:
            for statement in drop:
                await session.execute(text(statement))


@pytest.mark.usefixtures("refuse_events_after_a_customer")
async def test_a_database_failure_on_the_event_leaves_no_state(
    database: Database, clock: FrozenClock, tenant: CreatedTenant
) -> None:
    tenant_id = tenant.tenant_id
    with pytest.raises(DBAPIError, match="event refused by the test trigger"):
        async with database.write() as session:
            await customers.create_customer(session, clock, tenant_id, CustomerCreate(name="Ana"))
    assert await _counts(database, tenant_id) == (0, 0, 0)


@pytest.mark.usefixtures("refuse_events_after_a_customer")
async def test_the_trigger_only_fires_once_the_customer_is_written(
    database: Database, clock: FrozenClock, tenant: CreatedTenant
) -> None:
    """Control for the test above: while the tenant has no customer, its events go through
    (here a product's), so the refusal there proves the customer row was already written."""
    async with database.write() as session:
        product = await products.create_product(
            session, clock, tenant.tenant_id, ProductCreate(name="Plano", amount=1000)
        )
    async with database.read() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Event).where(Event.tenant_id == tenant.tenant_id)
            )
            == 1
        )
        assert await session.get(Product, product.id) is not None
    with pytest.raises(DBAPIError, match="event refused by the test trigger"):
        async with database.write() as session:
            await customers.create_customer(
                session, clock, tenant.tenant_id, CustomerCreate(name="Ana")
            )
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0


async def test_a_colliding_event_sequence_leaves_no_state(
    database: Database, clock: FrozenClock, tenant: CreatedTenant
) -> None:
    """PostgreSQL draws `sequence` from one global sequence: a row already holding the next
    value for this tenant makes the event insert hit the unique (tenant_id, sequence)."""
    if database.engine.dialect.name == "sqlite":
        pytest.skip("SQLite computes max(sequence) + 1 per tenant, which cannot collide")
    tenant_id = tenant.tenant_id
    async with database.write() as session:
        drawn = int(await session.scalar(text("SELECT nextval('event_sequence')")) or 0)
        session.add(
            Event(
                id="evt_PLANTED",
                tenant_id=tenant_id,
                sequence=drawn + 1,
                type="customer.created",
                customer_id=None,
                data={},
                previous=None,
                created_at=clock.now(),
            )
        )

    with pytest.raises(IntegrityError, match="uq_events_tenant_id_sequence"):
        async with database.write() as session:
            await customers.create_customer(session, clock, tenant_id, CustomerCreate(name="Ana"))

    async with database.read() as session:
        assert list(await session.scalars(select(Event.id))) == ["evt_PLANTED"]
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0
        assert await session.scalar(select(func.count()).select_from(TenantCounter)) == 0
    await session_cleanup(database, "evt_PLANTED")
    await _assert_next_customer_is_number_one(database, clock, tenant_id)


async def session_cleanup(database: Database, event_id: str) -> None:
    async with database.write() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        await session.delete(event)
