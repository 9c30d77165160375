"""The counters' amounts per closed plant day (``store.counter_days``), so a year by day reads days, not hours.

Revision ID: 0022_counter_day
Revises: 0021_collector_backfilled
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_counter_day"
down_revision: str | None = "0021_collector_backfilled"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counter_day",
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("tag_id", "start"),
    )
    op.create_index("ix_counter_day_end", "counter_day", ["end"])


def downgrade() -> None:
    op.drop_index("ix_counter_day_end", table_name="counter_day")
    op.drop_table("counter_day")
