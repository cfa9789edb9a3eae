"""inbound_events, payment_reconciliation_marks, sandbox_provider_payments

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

What payment providers tell assina, once per provider event id; how far each provider's
reconciliation has looked; and the sandbox provider's own record of the payments it received.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from assina.db.base import UTCDateTime

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("charge_id", sa.String(length=64), nullable=True),
        sa.Column("provider_payment_id", sa.String(length=128), nullable=True),
        sa.Column("rail", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("payload", JSON_TYPE, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_inbound_events_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
        sa.UniqueConstraint(
            "tenant_id",
            "provider",
            "event_id",
            name=op.f("uq_inbound_events_tenant_id_provider_event_id"),
        ),
    )
    op.create_index("ix_inbound_events_tenant_id_id", "inbound_events", ["tenant_id", "id"])
    op.create_index(
        "ix_inbound_events_tenant_id_outcome_id", "inbound_events", ["tenant_id", "outcome", "id"]
    )
    op.create_table(
        "payment_reconciliation_marks",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("looked_until", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_payment_reconciliation_marks_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "provider", name=op.f("pk_payment_reconciliation_marks")
        ),
    )
    op.create_table(
        "sandbox_provider_payments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("charge_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("decline_code", sa.String(length=32), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=32), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("notification_url", sa.String(length=2048), nullable=True),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sandbox_provider_payments_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_provider_payments")),
        sa.UniqueConstraint(
            "tenant_id",
            "idempotency_key",
            name=op.f("uq_sandbox_provider_payments_tenant_id_idempotency_key"),
        ),
    )
    op.create_index(
        "ix_sandbox_provider_payments_tenant_id_paid_at",
        "sandbox_provider_payments",
        ["tenant_id", "paid_at"],
    )


def downgrade() -> None:
    op.drop_table("sandbox_provider_payments")
    op.drop_table("payment_reconciliation_marks")
    op.drop_table("inbound_events")
