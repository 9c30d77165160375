"""Reports: the schedules and the archive of issued report files.

Revision ID: 0015_reports
Revises: 0014_work_permits
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_reports"
down_revision: str | None = "0014_work_permits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_schedule",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("formats", sa.String(length=64), nullable=False),
        sa.Column("at_minute", sa.Integer(), nullable=False),
        sa.Column("named", sa.Boolean(), nullable=False),
        sa.Column("recipients", sa.String(length=400), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_end", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "report_issue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("t0", sa.BigInteger(), nullable=False),
        sa.Column("t1", sa.BigInteger(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("fmt", sa.String(length=16), nullable=False),
        sa.Column("named", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_report_issue_period", "report_issue", ["kind", "period", "lang", "fmt", "named", "version"], unique=True
    )
    op.create_index("ix_report_issue_ts", "report_issue", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_report_issue_ts", table_name="report_issue")
    op.drop_index("ix_report_issue_period", table_name="report_issue")
    op.drop_table("report_issue")
    op.drop_table("report_schedule")
