"""Special-work permits (GB 30871-2022) and the log of their steps.

Revision ID: 0014_work_permits
Revises: 0013_incident
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_work_permits"
down_revision: str | None = "0013_incident"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_permit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("area", sa.JSON(), nullable=False),
        sa.Column("guardian", sa.String(length=64), nullable=True),
        sa.Column("crew", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("valid_to", sa.BigInteger(), nullable=False),
        sa.Column("isolations", sa.JSON(), nullable=False),
        sa.Column("applicant", sa.String(length=64), nullable=False),
        sa.Column("applied_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("isolations_confirmed", sa.Boolean(), nullable=False),
        sa.Column("gas_test", sa.JSON(), nullable=True),
        sa.Column("activated_at", sa.BigInteger(), nullable=True),
        sa.Column("paused_at", sa.BigInteger(), nullable=True),
        sa.Column("suspend_reason", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_permit_state", "work_permit", ["state"])
    op.create_table(
        "work_permit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_permit_log_permit", "work_permit_log", ["permit_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_work_permit_log_permit", table_name="work_permit_log")
    op.drop_table("work_permit_log")
    op.drop_index("ix_work_permit_state", table_name="work_permit")
    op.drop_table("work_permit")
