"""promises, offers and setup families

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:17:10.889609
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("principal", sa.String(length=80), nullable=False),
        sa.Column("template_key", sa.String(length=63), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("destination_country", sa.String(length=2), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("plan", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("delivery_by", sa.Date(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["template_key"], ["templates.key"], name=op.f("fk_offers_template_key_templates")),
        sa.ForeignKeyConstraint(
            ["used_by"], ["order_lines.id"], name=op.f("fk_offers_used_by_order_lines"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index(op.f("ix_offers_principal"), "offers", ["principal"], unique=False)
    op.create_table(
        "promises",
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("factory_id", sa.String(length=63), nullable=False),
        sa.Column("lane_id", sa.String(length=63), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ship_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("risk", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["factory_id"], ["factories.id"], name=op.f("fk_promises_factory_id_factories")),
        sa.ForeignKeyConstraint(["lane_id"], ["lanes.id"], name=op.f("fk_promises_lane_id_lanes")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_lines.id"], name=op.f("fk_promises_line_id_order_lines"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_promises_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_promises")),
    )
    op.create_index(op.f("ix_promises_factory_id"), "promises", ["factory_id"], unique=False)
    op.create_index(op.f("ix_promises_order_id"), "promises", ["order_id"], unique=False)
    op.create_index(op.f("ix_promises_status"), "promises", ["status"], unique=False)
    op.add_column("reservations", sa.Column("setup_family", sa.String(length=200), server_default="", nullable=False))
    op.add_column("reservations", sa.Column("setup_minutes", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("reservations", "setup_minutes")
    op.drop_column("reservations", "setup_family")
    op.drop_index(op.f("ix_promises_status"), table_name="promises")
    op.drop_index(op.f("ix_promises_order_id"), table_name="promises")
    op.drop_index(op.f("ix_promises_factory_id"), table_name="promises")
    op.drop_table("promises")
    op.drop_index(op.f("ix_offers_principal"), table_name="offers")
    op.drop_table("offers")
