"""the dispatcher's claim per endpoint: due pending messages by endpoint

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("webhook_messages") as batch:
        batch.create_index(
            "ix_webhook_messages_due_by_endpoint",
            ["endpoint_id", "next_attempt_at", "id"],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_messages") as batch:
        batch.drop_index(
            "ix_webhook_messages_due_by_endpoint",
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )
