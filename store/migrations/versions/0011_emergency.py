"""Emergencies: proposed, declared and ended, with their timeline.

Revision ID: 0011_emergency
Revises: 0010_sample_partitions
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_emergency"
down_revision: str | None = "0010_sample_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emergency",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("proposed_ms", sa.BigInteger(), nullable=True),
        sa.Column("alarm", sa.String(length=128), nullable=True),
        sa.Column("declared_ms", sa.BigInteger(), nullable=True),
        sa.Column("declared_by", sa.String(length=64), nullable=True),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("muster_event", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emergency_state", "emergency", ["state", "id"])
    op.create_table(
        "emergency_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("emergency_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emergency_step", "emergency_step", ["emergency_id", "ts"])


def downgrade() -> None:
    op.drop_index("ix_emergency_step", table_name="emergency_step")
    op.drop_table("emergency_step")
    op.drop_index("ix_emergency_state", table_name="emergency")
    op.drop_table("emergency")
