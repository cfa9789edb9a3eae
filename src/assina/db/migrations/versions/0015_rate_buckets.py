"""rate_buckets: the token buckets of rate limits, shared by every process on PostgreSQL

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

SQLite keeps its buckets in memory (one process); the table exists there too, unused, so both
databases have one schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assina.db.base import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("tokens", sa.Float(precision=53), nullable=False),
        sa.Column("refilled_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_buckets")),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
