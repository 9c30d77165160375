"""Stack emissions: one row per pollutant tag and hour as judged at the hour's close.

Revision ID: 0007_emission_hour
Revises: 0006_production_plan
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_emission_hour"
down_revision: str | None = "0006_production_plan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emission_hour",
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("stack", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("normal", sa.Integer(), nullable=False),
        sa.Column("maintenance", sa.Integer(), nullable=False),
        sa.Column("calibration", sa.Integer(), nullable=False),
        sa.Column("fault", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.String(length=8), nullable=False),
        sa.Column("limit", sa.Float(), nullable=True),
        sa.Column("exceedance", sa.Boolean(), nullable=False),
        sa.Column("flow", sa.Float(), nullable=True),
        sa.Column("mass_kg", sa.Float(), nullable=True),
        sa.Column("judged_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tag", "hour"),
    )
    op.create_index("ix_emission_hour_start", "emission_hour", ["hour"])


def downgrade() -> None:
    op.drop_index("ix_emission_hour_start", table_name="emission_hour")
    op.drop_table("emission_hour")
