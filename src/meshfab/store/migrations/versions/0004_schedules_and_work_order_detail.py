"""schedules and work order detail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:37:56.785447
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "factory_schedules",
        sa.Column("factory_id", sa.String(length=63), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("objective", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("bound", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("timeline", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["factory_id"], ["factories.id"], name=op.f("fk_factory_schedules_factory_id_factories")
        ),
        sa.PrimaryKeyConstraint("factory_id", name=op.f("pk_factory_schedules")),
    )
    op.add_column("work_orders", sa.Column("lot_id", sa.String(length=200), server_default="", nullable=False))
    op.add_column(
        "work_orders",
        sa.Column("operations", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
    )
    op.add_column("work_orders", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("work_orders", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("work_orders", sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("work_orders", "finished_at")
    op.drop_column("work_orders", "started_at")
    op.drop_column("work_orders", "released_at")
    op.drop_column("work_orders", "operations")
    op.drop_column("work_orders", "lot_id")
    op.drop_table("factory_schedules")
