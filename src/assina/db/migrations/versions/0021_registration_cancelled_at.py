"""payment_registrations.cancelled_at: when the provider cancelled what it made for a charge
no longer open (payments/registration_cancel.py)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assina.db.base import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_registrations") as table:
        table.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_registrations") as table:
        table.drop_column("cancelled_at")
