"""Initial schema: tags, raw samples, 1-minute and 1-hour rollups, events, positions, collector health.

The sample, rollup and position tables are clustered on their primary key (``WITHOUT ROWID`` on
SQLite): a trend of one tag over a range is one contiguous index range scan.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rollup_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("vmin", sa.Float(), nullable=False),
        sa.Column("vmax", sa.Float(), nullable=False),
        sa.Column("first_ts", sa.BigInteger(), nullable=False),
        sa.Column("first", sa.Float(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tag_id", "bucket"),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("medium", sa.String(length=32), nullable=True),
        sa.Column("ll", sa.Float(), nullable=True),
        sa.Column("l", sa.Float(), nullable=True),
        sa.Column("h", sa.Float(), nullable=True),
        sa.Column("hh", sa.Float(), nullable=True),
        sa.Column("equipment", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("badge", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sample",
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("quality", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tag_id", "ts"),
        sqlite_with_rowid=False,
    )
    _rollup_table("rollup_1m")
    _rollup_table("rollup_1h")
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("ts_start", sa.BigInteger(), nullable=False),
        sa.Column("ts_end", sa.BigInteger(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("badge", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_event_kind_start", "event", ["kind", "ts_start"])
    op.create_index("ix_event_start", "event", ["ts_start"])
    op.create_table(
        "position",
        sa.Column("badge", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("quality", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("badge", "ts"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "badge_current",
        sa.Column("badge", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("quality", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("badge"),
    )
    op.create_table(
        "collector_health",
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("written", sa.BigInteger(), nullable=False),
        sa.Column("spooled", sa.BigInteger(), nullable=False),
        sa.Column("replayed", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("late", sa.BigInteger(), nullable=False),
        sa.Column("bad_quality", sa.BigInteger(), nullable=False),
        sa.Column("lag_ms_p50", sa.Float(), nullable=False),
        sa.Column("lag_ms_max", sa.Float(), nullable=False),
        sa.Column("queue_depth", sa.Integer(), nullable=False),
        sa.Column("spool_bytes", sa.BigInteger(), nullable=False),
        sa.Column("last_data_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint"),
    )


def downgrade() -> None:
    op.drop_table("collector_health")
    op.drop_table("badge_current")
    op.drop_table("position")
    op.drop_index("ix_event_start", table_name="event")
    op.drop_index("ix_event_kind_start", table_name="event")
    op.drop_table("event")
    op.drop_table("rollup_1h")
    op.drop_table("rollup_1m")
    op.drop_table("sample")
    op.drop_table("tag")
