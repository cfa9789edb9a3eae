"""contracts: why the last status move happened

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("status_reason", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.drop_column("status_reason")
