"""factory schedules count the lines beyond their release window; promises keep the best date last told

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "factory_schedules", sa.Column("waiting_lines", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.add_column("promises", sa.Column("risk_best_by", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("promises", "risk_best_by")
    op.drop_column("factory_schedules", "waiting_lines")
