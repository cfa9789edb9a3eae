"""indexes for the Painel (reports/dashboard.py): a tenant's settled charges by currency and
settlement instant, with the settled amount, so each month's revenue reads only the index; and
live contracts by status and customer, with what the MRR needs

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

INDEX = "ix_charges_tenant_id_status_currency_settled_at"
LIVE_CONTRACTS = "ix_contracts_tenant_id_status_customer_id_live"


def upgrade() -> None:
    op.create_index(
        INDEX,
        "charges",
        ["tenant_id", "status", "currency", "settled_at", "settled_amount"],
        unique=False,
    )
    # Live contracts by status and customer, with what the MRR needs: the Painel's contract
    # sums and customer count read the index alone on PostgreSQL.
    op.create_index(
        LIVE_CONTRACTS,
        "contracts",
        ["tenant_id", "status", "customer_id"],
        unique=False,
        postgresql_include=["currency", "amount", "interval", "interval_count"],
        postgresql_where=sa.text("deleted_at IS NULL"),
        sqlite_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(LIVE_CONTRACTS, table_name="contracts")
    op.drop_index(INDEX, table_name="charges")
