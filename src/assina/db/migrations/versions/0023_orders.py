"""orders, and charges.order_id: an order (pedido) and its first charge

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from assina.db.base import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("items", JSON_TYPE, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_method", sa.String(length=8), nullable=False),
        sa.Column("card_id", sa.String(length=40), nullable=True),
        sa.Column("charge_id", sa.String(length=40), nullable=True),
        sa.Column("contract_ids", JSON_TYPE, nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("fulfilled_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("expired_at", UTCDateTime(), nullable=True),
        sa.Column("metadata", JSON_TYPE, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["customer_cards.id"], name=op.f("fk_orders_card_id_customer_cards")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_orders_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_orders_tenant_id_number")),
    )
    op.create_index("ix_orders_tenant_id_id", "orders", ["tenant_id", "id"])
    op.create_index("ix_orders_tenant_id_customer_id", "orders", ["tenant_id", "customer_id"])
    op.create_index(
        "ix_orders_tenant_id_status_expires_on", "orders", ["tenant_id", "status", "expires_on"]
    )
    op.create_index("ix_orders_tenant_id_charge_id", "orders", ["tenant_id", "charge_id"])
    with op.batch_alter_table("charges") as table:
        table.add_column(sa.Column("order_id", sa.String(length=40), nullable=True))
        table.create_foreign_key(
            op.f("fk_charges_order_id_orders"), "orders", ["order_id"], ["id"]
        )
        table.create_index("ix_charges_tenant_id_order_id", ["tenant_id", "order_id"])


def downgrade() -> None:
    with op.batch_alter_table("charges") as table:
        table.drop_index("ix_charges_tenant_id_order_id")
        table.drop_constraint(op.f("fk_charges_order_id_orders"), type_="foreignkey")
        table.drop_column("order_id")
    op.drop_table("orders")
