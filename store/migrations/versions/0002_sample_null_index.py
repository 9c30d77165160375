"""Partial index on NULL samples, so trends find bad-quality stretches without scanning raw data.

Revision ID: 0002_sample_null_index
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_sample_null_index"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_sample_null",
        "sample",
        ["tag_id", "ts"],
        sqlite_where=sa.text("value IS NULL"),
        postgresql_where=sa.text("value IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_sample_null", table_name="sample")
