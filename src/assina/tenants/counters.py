"""Per-tenant gap-free counters (object `number`s), bumped inside the caller's transaction."""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from sqlalchemy import Insert, Table, bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from assina.db.dialect import BuiltOnce, insert_on_conflict
from assina.tenants.models import TenantCounter


class Counter(StrEnum):
    CUSTOMER_NUMBER = "customer_number"
    PRODUCT_NUMBER = "product_number"
    CONTRACT_NUMBER = "contract_number"
    CHARGE_NUMBER = "charge_number"
    ORDER_NUMBER = "order_number"
    SUPPLIER_NUMBER = "supplier_number"
    EXPENSE_NUMBER = "expense_number"
    BOLETO_NUMBER = "boleto_number"  # nosso número of the boletos assina numbers itself
    FISCAL_INVOICE_NUMBER = "fiscal_invoice_number"
    SANDBOX_NFSE_NUMBER = "sandbox_nfse_number"  # the sandbox fiscal issuer's own numbers


async def next_value(session: AsyncSession, tenant_id: str, counter: Counter) -> int:
    """Take the counter's next value. The row stays locked until the transaction ends."""
    return await reserve_values(session, tenant_id, counter, 1)


async def reserve_values(
    session: AsyncSession, tenant_id: str, counter: Counter, count: int
) -> int:
    """Take the counter's next `count` values in one statement (a batch of charges); returns
    the first, the others follow it. Gap-free as long as the caller uses them all in this
    transaction, which keeps the row locked until it ends."""
    if count < 1:
        raise ValueError("reserve at least one value")
    parameters = {"tenant": tenant_id, "counter": counter.value, "count": count}
    result = await session.execute(_RESERVE.of(session), parameters)
    return int(result.scalar_one()) - count + 1


def _reserve_statement(session: AsyncSession) -> Insert:
    table = cast(Table, TenantCounter.__table__)
    count = bindparam("count", type_=table.c.value.type)
    return (
        insert_on_conflict(session, table)
        .values(tenant_id=bindparam("tenant"), name=bindparam("counter"), value=count)
        .on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c.name],
            set_={"value": table.c.value + count},
        )
        .returning(table.c.value)
    )


_RESERVE = BuiltOnce(_reserve_statement)
