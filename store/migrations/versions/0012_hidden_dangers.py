"""Hidden-danger register: dangers, their report photos and the log of every move.

Revision ID: 0012_hidden_dangers
Revises: 0011_emergency
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_hidden_dangers"
down_revision: str | None = "0011_emergency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hidden_danger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("owner", sa.String(length=120), nullable=True),
        sa.Column("deadline_ms", sa.BigInteger(), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("rectified_at", sa.BigInteger(), nullable=True),
        sa.Column("rectified_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("has_photo", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hidden_danger_state", "hidden_danger", ["state"])
    op.create_table(
        "hidden_danger_photo",
        sa.Column("danger_id", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("danger_id"),
    )
    op.create_table(
        "hidden_danger_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("danger_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hidden_danger_log_danger", "hidden_danger_log", ["danger_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_hidden_danger_log_danger", table_name="hidden_danger_log")
    op.drop_table("hidden_danger_log")
    op.drop_table("hidden_danger_photo")
    op.drop_index("ix_hidden_danger_state", table_name="hidden_danger")
    op.drop_table("hidden_danger")
