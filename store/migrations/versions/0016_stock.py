"""Stock: materials and spare parts, and their append-only ledger (the database refuses UPDATE and DELETE of a
ledger row).

Revision ID: 0016_stock
Revises: 0015_reports
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_stock"
down_revision: str | None = "0015_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stock_item",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_zh", sa.String(length=120), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("warehouse", sa.String(length=120), nullable=False),
        sa.Column("reorder_milli", sa.BigInteger(), nullable=False),
        sa.Column("ordered_milli", sa.BigInteger(), nullable=False),
        sa.Column("reserved_milli", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "stock_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("qty_milli", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_e4", sa.BigInteger(), nullable=True),
        sa.Column("value_cents", sa.BigInteger(), nullable=False),
        sa.Column("on_hand_milli", sa.BigInteger(), nullable=False),
        sa.Column("avg_cost_e4", sa.BigInteger(), nullable=False),
        sa.Column("stock_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stock_ledger_item", "stock_ledger", ["item_id", "id"])
    op.create_index("ix_stock_ledger_ts", "stock_ledger", ["ts"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION stock_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'stock_ledger is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER stock_ledger_append_only BEFORE UPDATE OR DELETE ON stock_ledger "
            "FOR EACH ROW EXECUTE FUNCTION stock_ledger_append_only()"
        )
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER stock_ledger_no_{what.lower()} BEFORE {what} ON stock_ledger "
                "BEGIN SELECT RAISE(ABORT, 'stock_ledger is append-only'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS stock_ledger_append_only ON stock_ledger")
        op.execute("DROP FUNCTION IF EXISTS stock_ledger_append_only()")
    op.drop_index("ix_stock_ledger_ts", table_name="stock_ledger")
    op.drop_index("ix_stock_ledger_item", table_name="stock_ledger")
    op.drop_table("stock_ledger")
    op.drop_table("stock_item")
