"""dunning: the tenant's policy, and customers exempt from it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from assina.db.base import UTCDateTime

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = UTCDateTime()

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dunning_policies",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("suspend_after_days", sa.Integer(), nullable=False),
        sa.Column("cancel_after_days", sa.Integer(), nullable=False),
        sa.Column("reminder_days_before_due", JSON_TYPE, nullable=False),
        sa.Column("overdue_notice_days", JSON_TYPE, nullable=False),
        sa.Column("resume_on_payment", sa.Boolean(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_dunning_policies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_dunning_policies")),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("dunning_exempt", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("dunning_exempt")
    op.drop_table("dunning_policies")
