"""The skipping claim takes at most an endpoint's in-flight share from each endpoint: every
row it reads is locked on PostgreSQL, and the dispatcher keeps no more (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql

from assina.webhooks.dispatcher import due_messages_query

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def compiled(limit: int, per_endpoint: int) -> tuple[str, dict[str, object]]:
    query = due_messages_query(NOW, limit, skip=["wep_1"], per_endpoint=per_endpoint)
    sql = query.compile(dialect=postgresql.asyncpg.dialect())
    return str(sql), dict(sql.params)


def test_each_endpoint_gives_at_most_its_share_and_the_batch_its_limit() -> None:
    sql, params = compiled(limit=100, per_endpoint=10)
    assert "LATERAL" in sql and "SKIP LOCKED" in sql
    assert params["per_endpoint"] == 10
    assert params["limit"] == 100


def test_a_batch_smaller_than_a_share_bounds_each_endpoint_too() -> None:
    _, params = compiled(limit=3, per_endpoint=10)
    assert params["per_endpoint"] == 3
