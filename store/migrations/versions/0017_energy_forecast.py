"""Issued energy forecasts, append-only.

A forecast of a medium's site total for a plant day is stored when the energy service issues it and never
changed: the table refuses UPDATE and DELETE at the database level (a trigger on SQLite and PostgreSQL), so
the forecast's real error is measured against what came.

Revision ID: 0017_energy_forecast
Revises: 0016_stock
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_energy_forecast"
down_revision: str | None = "0016_stock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "issued forecasts are append-only"


def upgrade() -> None:
    op.create_table(
        "energy_forecast",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("issue_day", sa.String(length=10), nullable=False),
        sa.Column("medium", sa.String(length=32), nullable=False),
        sa.Column("meter", sa.String(length=200), nullable=False),
        sa.Column("target_day", sa.String(length=10), nullable=False),
        sa.Column("target_t0", sa.BigInteger(), nullable=False),
        sa.Column("target_t1", sa.BigInteger(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("plan", sa.Float(), nullable=True),
        sa.Column("driver", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.String(length=64), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_energy_forecast_issue",
        "energy_forecast",
        ["medium", "meter", "issue_day", "target_day", "version"],
        unique=True,
    )
    op.create_index("ix_energy_forecast_target", "energy_forecast", ["medium", "target_day"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER energy_forecast_no_{verb.lower()} BEFORE {verb} ON energy_forecast "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION energy_forecast_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER energy_forecast_append_only BEFORE UPDATE OR DELETE ON energy_forecast "
            "FOR EACH ROW EXECUTE FUNCTION energy_forecast_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS energy_forecast_no_update")
        op.execute("DROP TRIGGER IF EXISTS energy_forecast_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS energy_forecast_append_only ON energy_forecast")
        op.execute("DROP FUNCTION IF EXISTS energy_forecast_append_only()")
    op.drop_index("ix_energy_forecast_target", table_name="energy_forecast")
    op.drop_index("ix_energy_forecast_issue", table_name="energy_forecast")
    op.drop_table("energy_forecast")
