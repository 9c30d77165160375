"""Production plan versions and their targets.

Revision ID: 0006_production_plan
Revises: 0005_video_review
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_production_plan"
down_revision: str | None = "0005_video_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_version",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("first_day", sa.String(length=10), nullable=False),
        sa.Column("last_day", sa.String(length=10), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "plan_target",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("shift", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "day", "shift", "product"),
    )
    op.create_index("ix_plan_target_day", "plan_target", ["day", "version_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_target_day", table_name="plan_target")
    op.drop_table("plan_target")
    op.drop_table("plan_version")
