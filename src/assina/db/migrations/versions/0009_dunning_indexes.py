"""indexes for the dunning pass's reads: a customer's open charges by due date, and trialing
contracts by customer

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("charges") as batch:
        batch.create_index(
            "ix_charges_tenant_id_customer_id_status_due_date",
            ["tenant_id", "customer_id", "status", "due_date"],
            unique=False,
        )
        batch.drop_index("ix_charges_tenant_id_customer_id")
    with op.batch_alter_table("contracts") as batch:
        batch.create_index(
            "ix_contracts_tenant_id_status_customer_id",
            ["tenant_id", "status", "customer_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.drop_index("ix_contracts_tenant_id_status_customer_id")
    with op.batch_alter_table("charges") as batch:
        batch.create_index(
            "ix_charges_tenant_id_customer_id", ["tenant_id", "customer_id"], unique=False
        )
        batch.drop_index("ix_charges_tenant_id_customer_id_status_due_date")
