"""webhook endpoints, messages and attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

from assina.db.base import UTCDateTime

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = UTCDateTime()

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('event_types', JSON_TYPE, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('headers', JSON_TYPE, nullable=False),
    sa.Column('rate_limit', sa.Integer(), nullable=True),
    sa.Column('ordering', sa.String(length=16), nullable=False),
    sa.Column('secret_sealed', sa.String(length=512), nullable=False),
    sa.Column('previous_secret_sealed', sa.String(length=512), nullable=True),
    sa.Column('previous_secret_expires_at', UTC_DATETIME, nullable=True),
    sa.Column('disabled_reason', sa.String(length=200), nullable=True),
    sa.Column('failing_since', UTC_DATETIME, nullable=True),
    sa.Column('metadata', JSON_TYPE, nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.Column('deleted_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_webhook_endpoints_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_endpoints_tenant_id_enabled', ['tenant_id', 'enabled'], unique=False)
        batch_op.create_index('ix_webhook_endpoints_tenant_id_id', ['tenant_id', 'id'], unique=False)

    op.create_table('webhook_messages',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('endpoint_id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempt_count', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTC_DATETIME, nullable=False),
    sa.Column('locked_until', UTC_DATETIME, nullable=True),
    sa.Column('last_attempt_at', UTC_DATETIME, nullable=True),
    sa.Column('delivered_at', UTC_DATETIME, nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_messages_endpoint_id_webhook_endpoints')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_webhook_messages_event_id_events')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_webhook_messages_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_messages'))
    )
    with op.batch_alter_table('webhook_messages', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_messages_due', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_webhook_messages_pending_by_customer', ['endpoint_id', 'customer_id', 'id'], unique=False, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_webhook_messages_tenant_id_endpoint_id_id', ['tenant_id', 'endpoint_id', 'id'], unique=False)
        batch_op.create_index('ix_webhook_messages_tenant_id_event_id', ['tenant_id', 'event_id'], unique=False)

    op.create_table('webhook_attempts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('message_id', sa.String(length=40), nullable=False),
    sa.Column('endpoint_id', sa.String(length=40), nullable=False),
    sa.Column('attempted_at', UTC_DATETIME, nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('response_excerpt', sa.String(length=4096), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_attempts_endpoint_id_webhook_endpoints')),
    sa.ForeignKeyConstraint(['message_id'], ['webhook_messages.id'], name=op.f('fk_webhook_attempts_message_id_webhook_messages')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_webhook_attempts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_attempts_tenant_id_message_id_id', ['tenant_id', 'message_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_attempts_tenant_id_message_id_id')

    op.drop_table('webhook_attempts')
    with op.batch_alter_table('webhook_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_messages_tenant_id_event_id')
        batch_op.drop_index('ix_webhook_messages_tenant_id_endpoint_id_id')
        batch_op.drop_index('ix_webhook_messages_pending_by_customer', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_webhook_messages_due', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))

    op.drop_table('webhook_messages')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_endpoints_tenant_id_id')
        batch_op.drop_index('ix_webhook_endpoints_tenant_id_enabled')

    op.drop_table('webhook_endpoints')
