"""an index for the Painel's revenue by month: a tenant's settled charges by currency and
settlement instant, with the settled amount, so each month's sum reads only the index
(reports/dashboard.py)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-15
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

INDEX = "ix_charges_tenant_id_status_currency_settled_at"


def upgrade() -> None:
    op.create_index(
        INDEX,
        "charges",
        ["tenant_id", "status", "currency", "settled_at", "settled_amount"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="charges")
