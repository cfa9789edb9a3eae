"""The dunning pass's read of a batch's open charges goes through the batch's customers, on
SQLite too, whose planner keeps no statistics: through (tenant_id, status, due_date) it read
every overdue charge of the tenant for each batch (docs/performance.md, issue 18)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from sqlalchemy.dialects import postgresql, sqlite

from assina.charges.models import Charge
from assina.db.functions import not_indexed
from assina.dunning.facts import open_charges_query

DAY = date(2026, 12, 7)


def test_not_indexed_is_a_unary_plus_on_sqlite_and_the_column_elsewhere() -> None:
    condition = not_indexed(Charge.status) == "open"
    assert str(condition.compile(dialect=sqlite.dialect())) == "+charges.status = ?"
    on_postgresql = str(condition.compile(dialect=postgresql.dialect()))
    assert on_postgresql == "charges.status = %(param_1)s::VARCHAR"


def test_a_batchs_open_charges_are_read_through_its_customers_on_sqlite(
    sqlite_template: Path,
) -> None:
    ids = [f"cus_{n:026d}" for n in range(200)]
    compiled = open_charges_query("ten_1", ids, DAY).compile(
        dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True}
    )
    values = [compiled.params[name] for name in compiled.positiontup or ()]
    values = [v.isoformat() if isinstance(v, date) else v for v in values]
    with sqlite3.connect(sqlite_template) as connection:
        plan = connection.execute(f"EXPLAIN QUERY PLAN {compiled}", values).fetchall()
    searches = [row[-1] for row in plan if row[-1].startswith("SEARCH")]
    assert searches == [
        "SEARCH charges USING INDEX ix_charges_tenant_id_customer_id_status_due_date "
        "(tenant_id=? AND customer_id=?)"
    ]
