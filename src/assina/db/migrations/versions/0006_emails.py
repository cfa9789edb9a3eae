"""e-mail templates, settings and the emails outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assina.db.base import UTCDateTime

UTC_DATETIME = UTCDateTime()
SENDABLE = sa.text("status IN ('pending', 'not_configured')")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_templates",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_email_templates_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "kind", name=op.f("pk_email_templates")),
    )
    op.create_table(
        "email_settings",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("from_name", sa.String(length=100), nullable=True),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_email_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_email_settings")),
    )
    op.create_table(
        "emails",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("charge_id", sa.String(length=40), nullable=True),
        sa.Column("contract_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("notice_key", sa.String(length=200), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("from_name", sa.String(length=100), nullable=True),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("locked_until", UTC_DATETIME, nullable=True),
        sa.Column("last_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_emails_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_emails_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_emails_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_emails_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emails")),
        sa.UniqueConstraint("tenant_id", "notice_key", name=op.f("uq_emails_tenant_id_notice_key")),
    )
    with op.batch_alter_table("emails") as batch:
        batch.create_index(
            "ix_emails_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=SENDABLE,
            sqlite_where=SENDABLE,
        )
        batch.create_index(
            "ix_emails_tenant_id_customer_id_id", ["tenant_id", "customer_id", "id"], unique=False
        )
        batch.create_index("ix_emails_tenant_id_id", ["tenant_id", "id"], unique=False)
        batch.create_index(
            "ix_emails_tenant_id_status_id", ["tenant_id", "status", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("emails") as batch:
        batch.drop_index("ix_emails_tenant_id_status_id")
        batch.drop_index("ix_emails_tenant_id_id")
        batch.drop_index("ix_emails_tenant_id_customer_id_id")
        batch.drop_index("ix_emails_due", postgresql_where=SENDABLE, sqlite_where=SENDABLE)
    op.drop_table("emails")
    op.drop_table("email_settings")
    op.drop_table("email_templates")
