"""SPC: assay results excluded from their chart, with the reason.

Revision ID: 0008_spc_exclusion
Revises: 0007_emission_hour
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_spc_exclusion"
down_revision: str | None = "0007_emission_hour"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spc_exclusion",
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tag", "ts"),
    )


def downgrade() -> None:
    op.drop_table("spc_exclusion")
