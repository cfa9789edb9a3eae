"""secrets at rest: stored idempotent answers and webhook custom header values sealed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Sealing needs the SecretBox: `assina migrate` hands it over in `config.attributes`; the
`alembic` command line builds it from the settings (ASSINA_SECRET_KEY or the data dir's
assina.secret), as `serve` would. A database with nothing to seal needs no key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from assina.core.secrets import SecretBox, load_or_create_secret_key

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_keys = sa.table(
    "idempotency_keys",
    sa.column("tenant_id", sa.String),
    sa.column("key", sa.String),
    sa.column("response_body", JSON_TYPE),
    sa.column("response_sealed", sa.Text),
)
_tenants = sa.table("tenants", sa.column("validation_token_sealed", sa.String))
_endpoints = sa.table("webhook_endpoints", sa.column("id", sa.String), sa.column("headers", JSON_TYPE))


def _checked_box() -> SecretBox:
    """The box, refused (SecretKeyMismatch) when it cannot open a stored validation token:
    values sealed with a foreign key could never be opened by `serve`."""
    given = context.config.attributes.get("secret_box")
    if isinstance(given, SecretBox):
        box = given
    else:
        from assina.config import Settings

        settings = Settings()
        box = SecretBox(load_or_create_secret_key(settings.secret_key, settings.data_dir))
    token = op.get_bind().scalar(sa.select(_tenants.c.validation_token_sealed).limit(1))
    if token is not None:
        box.open(token)
    return box


def _rewrite_headers(change: Callable[[str], str]) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_endpoints.c.id, _endpoints.c.headers)).all()
    for endpoint_id, headers in rows:
        if not headers:
            continue
        changed = {name: change(value) for name, value in headers.items()}
        bind.execute(
            _endpoints.update().where(_endpoints.c.id == endpoint_id).values(headers=changed)
        )


def _rewrite_answers(source: str, target: str, change: Callable[[Any], Any]) -> None:
    bind = op.get_bind()
    columns = _keys.c
    rows = bind.execute(sa.select(columns.tenant_id, columns.key, columns[source])).all()
    for tenant_id, key, value in rows:
        bind.execute(
            _keys.update()
            .where(columns.tenant_id == tenant_id, columns.key == key)
            .values({target: change(value)})
        )


def upgrade() -> None:
    box = cache(_checked_box)  # the key is read only when a row needs sealing
    if op.get_bind().scalar(sa.select(sa.func.count()).select_from(_tenants)):
        box()  # a foreign key stops the migration before it changes anything

    def seal_answer(body: Any) -> str:
        return box().seal(json.dumps(body, separators=(",", ":")))

    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("response_sealed", sa.Text()))
    _rewrite_answers("response_body", "response_sealed", seal_answer)
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("response_body")
        batch.alter_column("response_sealed", existing_type=sa.Text(), nullable=False)
    _rewrite_headers(lambda value: box().seal(value))


def downgrade() -> None:
    box = cache(_checked_box)

    def open_answer(sealed: str) -> Any:
        return json.loads(box().open(sealed)) if sealed else {}

    _rewrite_headers(lambda value: box().open(value))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("response_body", JSON_TYPE))
    _rewrite_answers("response_sealed", "response_body", open_answer)
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("response_sealed")
        batch.alter_column("response_body", existing_type=JSON_TYPE, nullable=False)
