"""emails.rendered_at and emails.render_extra: an e-mail is queued with what renders it (its
kind, customer, charge, contract or nota fiscal by id, the day it was queued and the kind's
numbers in `render_extra`) and rendered by the sender just before it is sent
(notifications/rendering.py); `rendered_at` says when its subject and bodies were written.
The e-mails queued before were rendered when queued: their `rendered_at` is their
`created_at`.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assina.db.base import JSONType, UTCDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("emails") as table:
        table.add_column(sa.Column("rendered_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("render_extra", JSONType, nullable=True))
    op.execute("UPDATE emails SET rendered_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("emails") as table:
        table.drop_column("render_extra")
        table.drop_column("rendered_at")
