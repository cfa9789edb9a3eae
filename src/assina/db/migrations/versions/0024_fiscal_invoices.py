"""fiscal_settings, fiscal_invoices, fiscal_issuer_jobs, and the sandbox fiscal issuer's own
sandbox_fiscal_invoices: notas fiscais (NFS-e) issued through the tenant's fiscal issuer

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from assina.db.base import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
LIVE = "status IN ('pending', 'issued')"


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
    )


def upgrade() -> None:
    op.create_table(
        "fiscal_settings",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("cnpj", sa.String(length=14), nullable=True),
        sa.Column("municipal_registration", sa.String(length=15), nullable=True),
        sa.Column("municipality_code", sa.String(length=7), nullable=True),
        sa.Column("service_code", sa.String(length=6), nullable=True),
        sa.Column("service_description", sa.String(length=2000), nullable=True),
        sa.Column("iss_rate_bp", sa.Integer(), nullable=False),
        sa.Column("iss_retained", sa.Boolean(), nullable=False),
        sa.Column("auto_issue", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _tenant_fk("fiscal_settings"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_fiscal_settings")),
    )
    op.create_table(
        "fiscal_invoices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("charge_id", sa.String(length=40), nullable=False),
        sa.Column("charge_number", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_invoice_id", sa.String(length=128), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("iss_rate_bp", sa.Integer(), nullable=False),
        sa.Column("iss_amount", sa.BigInteger(), nullable=False),
        sa.Column("iss_retained", sa.Boolean(), nullable=False),
        sa.Column("service_code", sa.String(length=6), nullable=False),
        sa.Column("service_description", sa.String(length=2000), nullable=False),
        sa.Column("competence_date", sa.Date(), nullable=False),
        sa.Column("emitter_cnpj", sa.String(length=14), nullable=False),
        sa.Column("emitter_municipal_registration", sa.String(length=15), nullable=True),
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("nfse_number", sa.String(length=20), nullable=True),
        sa.Column("verification_code", sa.String(length=64), nullable=True),
        sa.Column("access_key", sa.String(length=50), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
        sa.Column("rejection_reason", sa.String(length=512), nullable=True),
        sa.Column("cancel_reason", sa.String(length=255), nullable=True),
        sa.Column("cancel_requested_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("metadata", JSON_TYPE, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_fiscal_invoices_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_fiscal_invoices_customer_id_customers")
        ),
        _tenant_fk("fiscal_invoices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_invoices")),
        sa.UniqueConstraint(
            "tenant_id", "number", name=op.f("uq_fiscal_invoices_tenant_id_number")
        ),
    )
    op.create_index("ix_fiscal_invoices_tenant_id_id", "fiscal_invoices", ["tenant_id", "id"])
    op.create_index(
        "ix_fiscal_invoices_tenant_id_charge_id", "fiscal_invoices", ["tenant_id", "charge_id"]
    )
    op.create_index(
        "ix_fiscal_invoices_tenant_id_customer_id", "fiscal_invoices", ["tenant_id", "customer_id"]
    )
    op.create_index(
        "ix_fiscal_invoices_live_charge",
        "fiscal_invoices",
        ["tenant_id", "charge_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.create_table(
        "fiscal_issuer_jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=512), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"], ["fiscal_invoices.id"], name=op.f("fk_fiscal_issuer_jobs_id_fiscal_invoices")
        ),
        _tenant_fk("fiscal_issuer_jobs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_issuer_jobs")),
    )
    op.create_index(
        "ix_fiscal_issuer_jobs_status_next_attempt_at",
        "fiscal_issuer_jobs",
        ["status", "next_attempt_at"],
    )
    op.create_table(
        "sandbox_fiscal_invoices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("looked_up", sa.Integer(), nullable=False),
        sa.Column("emitter_cnpj", sa.String(length=14), nullable=False),
        sa.Column("municipality_code", sa.String(length=7), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("service_description", sa.String(length=2000), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.Column("verification_code", sa.String(length=64), nullable=True),
        sa.Column("access_key", sa.String(length=50), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=512), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _tenant_fk("sandbox_fiscal_invoices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_fiscal_invoices")),
        sa.UniqueConstraint(
            "tenant_id",
            "idempotency_key",
            name=op.f("uq_sandbox_fiscal_invoices_tenant_id_idempotency_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("sandbox_fiscal_invoices")
    op.drop_table("fiscal_issuer_jobs")
    op.drop_table("fiscal_invoices")
    op.drop_table("fiscal_settings")
