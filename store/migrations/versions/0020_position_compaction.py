"""How far each badge's positions are compressed: one row per badge, the last fix kept.

Revision ID: 0020_position_compaction
Revises: 0019_safety_index
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_position_compaction"
down_revision: str | None = "0019_safety_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "position_compaction",
        sa.Column("badge", sa.String(length=64), nullable=False),
        sa.Column("through_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("badge"),
    )


def downgrade() -> None:
    op.drop_table("position_compaction")
