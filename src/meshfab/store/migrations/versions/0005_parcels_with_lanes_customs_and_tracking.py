"""parcels with lanes, customs and tracking

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 07:48:29.125920
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("parcels", sa.Column("key", sa.String(length=200), nullable=False))
    op.add_column("parcels", sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=False))
    op.add_column("parcels", sa.Column("size_class", sa.String(length=16), nullable=False))
    op.add_column("parcels", sa.Column("cost", sa.BigInteger(), nullable=False))
    op.add_column("parcels", sa.Column("currency", sa.String(length=3), nullable=False))
    op.add_column("parcels", sa.Column("ship_at", sa.DateTime(timezone=True), nullable=False))
    op.add_column("parcels", sa.Column("promised_by", sa.Date(), nullable=False))
    op.add_column("parcels", sa.Column("carrier", sa.String(length=100), nullable=True))
    op.add_column("parcels", sa.Column("service", sa.String(length=100), nullable=True))
    op.add_column("parcels", sa.Column("tracking", postgresql.JSONB(astext_type=sa.Text()), nullable=False))
    op.add_column("parcels", sa.Column("customs", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("parcels", sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))
    op.add_column("parcels", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_parcels_factory_id"), "parcels", ["factory_id"], unique=False)
    op.create_index(op.f("ix_parcels_status"), "parcels", ["status"], unique=False)
    op.create_unique_constraint(op.f("uq_parcels_key"), "parcels", ["key"])
    op.drop_column("parcels", "events")
    op.add_column("promises", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("promises", sa.Column("late_hours", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("promises", "late_hours")
    op.drop_column("promises", "delivered_at")
    op.add_column(
        "parcels", sa.Column("events", postgresql.JSONB(astext_type=sa.Text()), autoincrement=False, nullable=False)
    )
    op.drop_constraint(op.f("uq_parcels_key"), "parcels", type_="unique")
    op.drop_index(op.f("ix_parcels_status"), table_name="parcels")
    op.drop_index(op.f("ix_parcels_factory_id"), table_name="parcels")
    op.drop_column("parcels", "delivered_at")
    op.drop_column("parcels", "created_at")
    op.drop_column("parcels", "customs")
    op.drop_column("parcels", "tracking")
    op.drop_column("parcels", "service")
    op.drop_column("parcels", "carrier")
    op.drop_column("parcels", "promised_by")
    op.drop_column("parcels", "ship_at")
    op.drop_column("parcels", "currency")
    op.drop_column("parcels", "cost")
    op.drop_column("parcels", "size_class")
    op.drop_column("parcels", "items")
    op.drop_column("parcels", "key")
