"""Collector health counts the values read back from a server's history after an outage.

Revision ID: 0021_collector_backfilled
Revises: 0020_position_compaction
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_collector_backfilled"
down_revision: str | None = "0020_position_compaction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("collector_health") as batch:
        batch.add_column(sa.Column("backfilled", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("collector_health") as batch:
        batch.drop_column("backfilled")
