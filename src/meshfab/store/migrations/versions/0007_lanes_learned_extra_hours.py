"""lanes: learned extra hours on top of the stated transit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lanes", sa.Column("learned_extra_hours", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("lanes", "learned_extra_hours")
