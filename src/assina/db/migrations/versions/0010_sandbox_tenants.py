"""sandbox tenants and their test clocks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assina.db.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("mode", sa.String(8), nullable=False, server_default=sa.text("'live'"))
        )
        batch.add_column(
            sa.Column(
                "clock_offset_us", sa.BigInteger(), nullable=False, server_default=sa.text("0")
            )
        )
        batch.add_column(sa.Column("clock_advancing_until", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("clock_advancing_until")
        batch.drop_column("clock_offset_us")
        batch.drop_column("mode")
