"""dunning that tells the truth: each tenant's last dunning day, and the policy's rule for
charges issued after their due date

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("dunning_day", sa.Date(), nullable=True))
    with op.batch_alter_table("dunning_policies") as batch:
        batch.add_column(
            sa.Column(
                "late_issue_grace",
                sa.String(length=16),
                nullable=False,
                server_default="from_issue",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("dunning_policies") as batch:
        batch.drop_column("late_issue_grace")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("dunning_day")
