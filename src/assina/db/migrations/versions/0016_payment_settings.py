"""payment_settings, payment_inbound_tokens: a tenant's payment providers and inbound tokens

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

The Asaas credentials and the inbound tokens are stored sealed (core/secrets.py); a token's
SHA-256 is unique, so a notification finds its tenant by hashing the token it carries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from assina.db.base import UTCDateTime

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_settings",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("card_provider", sa.String(length=16), nullable=True),
        sa.Column("card_retry_days", JSON_TYPE, nullable=False),
        sa.Column("boleto_provider", sa.String(length=16), nullable=True),
        sa.Column("boleto_bank", JSON_TYPE, nullable=True),
        sa.Column("pix_provider", sa.String(length=16), nullable=True),
        sa.Column("asaas_environment", sa.String(length=16), nullable=False),
        sa.Column("asaas_api_key_sealed", sa.String(length=2048), nullable=True),
        sa.Column("asaas_api_key_last4", sa.String(length=4), nullable=True),
        sa.Column("asaas_webhook_token_sealed", sa.String(length=2048), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_payment_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_payment_settings")),
    )
    op.create_table(
        "payment_inbound_tokens",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("token_sealed", sa.String(length=512), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_payment_inbound_tokens_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "provider", name=op.f("pk_payment_inbound_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_payment_inbound_tokens_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("payment_inbound_tokens")
    op.drop_table("payment_settings")
