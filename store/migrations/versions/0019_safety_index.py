"""The safety early-warning index's series: one row per minute for every zone and for the plant.

Revision ID: 0019_safety_index
Revises: 0018_user_badge
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_safety_index"
down_revision: str | None = "0018_user_badge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "safety_index_point",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("zone", "ts"),
    )


def downgrade() -> None:
    op.drop_table("safety_index_point")
