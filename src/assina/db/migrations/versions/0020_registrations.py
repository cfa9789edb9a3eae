"""payment_registrations, sandbox_provider_charges: charges registered with the tenant's PIX
or boleto provider (an outbox of the relay kernel), and the sandbox provider's own PIX charges
and registered boletos

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assina.db.base import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_registrations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("charge_id", sa.String(length=40), nullable=False),
        sa.Column("rail", sa.String(length=8), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("registered_at", UTCDateTime(), nullable=True),
        sa.Column("provider_payment_id", sa.String(length=128), nullable=True),
        sa.Column("txid", sa.String(length=35), nullable=True),
        sa.Column("last_error", sa.String(length=512), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_payment_registrations_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_payment_registrations_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_registrations")),
        sa.UniqueConstraint(
            "tenant_id",
            "charge_id",
            "rail",
            name=op.f("uq_payment_registrations_tenant_id_charge_id_rail"),
        ),
    )
    op.create_index(
        "ix_payment_registrations_status_next_attempt_at",
        "payment_registrations",
        ["status", "next_attempt_at"],
    )
    op.create_table(
        "sandbox_provider_charges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("charge_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("txid", sa.String(length=35), nullable=True),
        sa.Column("pix_key", sa.String(length=77), nullable=True),
        sa.Column("pix_code", sa.String(length=512), nullable=True),
        sa.Column("boleto_line", sa.String(length=64), nullable=True),
        sa.Column("boleto_barcode", sa.String(length=44), nullable=True),
        sa.Column("our_number", sa.String(length=20), nullable=True),
        sa.Column("payment_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sandbox_provider_charges_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_provider_charges")),
        sa.UniqueConstraint(
            "tenant_id",
            "idempotency_key",
            name=op.f("uq_sandbox_provider_charges_tenant_id_idempotency_key"),
        ),
    )
    op.create_index(
        "ix_sandbox_provider_charges_tenant_id_charge_id",
        "sandbox_provider_charges",
        ["tenant_id", "charge_id"],
    )


def downgrade() -> None:
    op.drop_table("sandbox_provider_charges")
    op.drop_table("payment_registrations")
