"""contracts charges billing settings price indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from assina.db.base import UTCDateTime

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = UTCDateTime()
# assina.db.base.Percent: an integer count of 0.0001 %.
PERCENT = sa.BigInteger()

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_settings',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('fine_percent', PERCENT, nullable=False),
    sa.Column('monthly_interest_percent', PERCENT, nullable=False),
    sa.Column('charge_lead_days', sa.Integer(), nullable=False),
    sa.Column('order_expiry_days', sa.Integer(), nullable=False),
    sa.Column('pix_key', sa.String(length=77), nullable=True),
    sa.Column('merchant_name', sa.String(length=25), nullable=True),
    sa.Column('merchant_city', sa.String(length=15), nullable=True),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_billing_settings_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_billing_settings'))
    )
    op.create_table('price_index_values',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('index', sa.String(length=8), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('percent', PERCENT, nullable=False),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_price_index_values_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'index', 'month', name=op.f('pk_price_index_values'))
    )
    op.create_table('contracts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('items', JSON_TYPE, nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('interval_count', sa.Integer(), nullable=False),
    sa.Column('billing_day', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('trial_end', sa.Date(), nullable=True),
    sa.Column('anchor_date', sa.Date(), nullable=False),
    sa.Column('next_period', sa.Integer(), nullable=False),
    sa.Column('stub_amount', sa.BigInteger(), nullable=False),
    sa.Column('payment_method', sa.String(length=8), nullable=False),
    sa.Column('pending_adjustment', sa.BigInteger(), nullable=False),
    sa.Column('readjustment_index', sa.String(length=8), nullable=True),
    sa.Column('last_readjusted_on', sa.Date(), nullable=True),
    sa.Column('next_step_on', sa.Date(), nullable=True),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
    sa.Column('cancelled_at', UTC_DATETIME, nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('dunning_exempt', sa.Boolean(), nullable=False),
    sa.Column('metadata', JSON_TYPE, nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.Column('deleted_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contracts_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_contracts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_contracts_tenant_id_number'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index('ix_contracts_next_step_on', ['next_step_on'], unique=False)
        batch_op.create_index('ix_contracts_tenant_id_customer_id', ['tenant_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_contracts_tenant_id_id', ['tenant_id', 'id'], unique=False)

    op.create_table('charges',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('contract_id', sa.String(length=40), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('items', JSON_TYPE, nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payment_method', sa.String(length=8), nullable=False),
    sa.Column('settled_at', UTC_DATETIME, nullable=True),
    sa.Column('settled_amount', sa.BigInteger(), nullable=True),
    sa.Column('settlement_method', sa.String(length=16), nullable=True),
    sa.Column('fine_amount', sa.BigInteger(), nullable=False),
    sa.Column('interest_amount', sa.BigInteger(), nullable=False),
    sa.Column('pix_code', sa.String(length=512), nullable=True),
    sa.Column('boleto_line', sa.String(length=64), nullable=True),
    sa.Column('dunning_exempt', sa.Boolean(), nullable=False),
    sa.Column('metadata', JSON_TYPE, nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_charges_contract_id_contracts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_charges_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_charges_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charges')),
    sa.UniqueConstraint('tenant_id', 'contract_id', 'period_start', name=op.f('uq_charges_tenant_id_contract_id_period_start')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_charges_tenant_id_number'))
    )
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.create_index('ix_charges_tenant_id_customer_id', ['tenant_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_charges_tenant_id_id', ['tenant_id', 'id'], unique=False)
        batch_op.create_index('ix_charges_tenant_id_status_due_date', ['tenant_id', 'status', 'due_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index('ix_charges_tenant_id_status_due_date')
        batch_op.drop_index('ix_charges_tenant_id_id')
        batch_op.drop_index('ix_charges_tenant_id_customer_id')

    op.drop_table('charges')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index('ix_contracts_tenant_id_id')
        batch_op.drop_index('ix_contracts_tenant_id_customer_id')
        batch_op.drop_index('ix_contracts_next_step_on')

    op.drop_table('contracts')
    op.drop_table('price_index_values')
    op.drop_table('billing_settings')
