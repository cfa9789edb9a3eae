"""emails.fiscal_invoice_id: a `fiscal_invoice` e-mail's nota fiscal, whose PDF the sender
attaches (notifications/sender.py)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_emails_fiscal_invoice_id_fiscal_invoices"


def upgrade() -> None:
    with op.batch_alter_table("emails") as table:
        table.add_column(sa.Column("fiscal_invoice_id", sa.String(length=40), nullable=True))
        table.create_foreign_key(
            op.f(FOREIGN_KEY), "fiscal_invoices", ["fiscal_invoice_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("emails") as table:
        table.drop_constraint(op.f(FOREIGN_KEY), type_="foreignkey")
        table.drop_column("fiscal_invoice_id")
