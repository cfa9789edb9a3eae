"""charges: a boleto's nosso número and barcode (the linha digitável has its column already)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Charges issued before this revision keep no boleto numbers; the tenant's nosso número sequence
is a tenant_counters row (`boleto_number`), made on its first use.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("charges") as batch:
        batch.add_column(sa.Column("boleto_our_number", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("boleto_barcode", sa.String(length=44), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("charges") as batch:
        batch.drop_column("boleto_barcode")
        batch.drop_column("boleto_our_number")
