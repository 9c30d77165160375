"""Compression of raw samples: how far each tag is compressed.

Revision ID: 0009_sample_compaction
Revises: 0008_spc_exclusion
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_sample_compaction"
down_revision: str | None = "0008_spc_exclusion"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sample_compaction",
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("through_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tag_id"),
    )


def downgrade() -> None:
    op.drop_table("sample_compaction")
