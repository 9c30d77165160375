"""Incident records: a replay window saved with its notes and findings.

It also joins the two migrations that both followed 0009_sample_compaction (the emergency tables and the sample
partitions) into one line again, so ``head`` names one revision.

Revision ID: 0011_incident
Revises: 0010_emergency, 0010_sample_partitions
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_incident"
down_revision: str | tuple[str, ...] | None = ("0010_emergency", "0010_sample_partitions")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("t0", sa.BigInteger(), nullable=False),
        sa.Column("t1", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("zones", sa.JSON(), nullable=True),
        sa.Column("areas", sa.JSON(), nullable=True),
        sa.Column("alarms", sa.JSON(), nullable=True),
        sa.Column("events", sa.JSON(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incident_t0", "incident", ["t0"])


def downgrade() -> None:
    op.drop_index("ix_incident_t0", table_name="incident")
    op.drop_table("incident")
