"""work orders: parcelled_at, and indexes that keep a factory's history out of its hot reads

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 23:58:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN_WORK = "status IN ('released', 'started', 'replacement')"
BACKFILL = """
    UPDATE work_orders w SET parcelled_at = w.finished_at
    WHERE w.status = 'finished' AND NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements_text(w.line_ids) AS l(line_id)
        WHERE NOT EXISTS (SELECT 1 FROM parcels p WHERE p.factory_id = w.factory_id AND p.line_ids ? l.line_id)
    )
"""
"""Lots made before: parcelled once every line of theirs is in one of their factory's parcels."""


def upgrade() -> None:
    op.add_column("work_orders", sa.Column("parcelled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    op.create_index("ix_work_orders_open", "work_orders", ["factory_id", "status"], postgresql_where=sa.text(OPEN_WORK))
    op.create_index(
        "ix_work_orders_unparcelled",
        "work_orders",
        ["factory_id"],
        postgresql_where=sa.text("status = 'finished' AND parcelled_at IS NULL"),
    )
    op.create_index(
        "ix_work_orders_finished",
        "work_orders",
        ["factory_id", "finished_at"],
        postgresql_where=sa.text("status = 'finished'"),
    )


def downgrade() -> None:
    op.drop_index("ix_work_orders_finished", table_name="work_orders")
    op.drop_index("ix_work_orders_unparcelled", table_name="work_orders")
    op.drop_index("ix_work_orders_open", table_name="work_orders")
    op.drop_column("work_orders", "parcelled_at")
