"""Alarms: current state, the append-only journal, operator commands, notifications.

The journal refuses UPDATE and DELETE at the database level (a trigger on SQLite and PostgreSQL), so
nothing in it can be edited from the app or by a bug.

Revision ID: 0003_alarms
Revises: 0002_sample_null_index
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_alarms"
down_revision: str | None = "0002_sample_null_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "alarm journal is append-only"


def upgrade() -> None:
    op.create_table(
        "alarm",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("condition", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("area", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("equipment", sa.String(length=64), nullable=True),
        sa.Column("badge", sa.String(length=64), nullable=True),
        sa.Column("camera", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("acked", sa.Boolean(), nullable=False),
        sa.Column("shelved_until", sa.BigInteger(), nullable=True),
        sa.Column("shelved_by", sa.String(length=64), nullable=True),
        sa.Column("shelve_reason", sa.Text(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("out_of_service", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("limit", sa.Float(), nullable=True),
        sa.Column("activated_at", sa.BigInteger(), nullable=True),
        sa.Column("returned_at", sa.BigInteger(), nullable=True),
        sa.Column("acked_at", sa.BigInteger(), nullable=True),
        sa.Column("acked_by", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alarm_open", "alarm", ["active", "acked"])
    op.create_table(
        "alarm_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("alarm_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("acked", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("user", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alarm_journal_ts", "alarm_journal", ["ts"])
    op.create_index("ix_alarm_journal_alarm_ts", "alarm_journal", ["alarm_id", "ts"])
    op.create_index("ix_alarm_journal_kind_ts", "alarm_journal", ["kind", "ts"])
    op.create_table(
        "alarm_command",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("alarm_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alarm_command_pending", "alarm_command", ["done_at", "id"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("alarm_ids", sa.JSON(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_ts", "notification", ["ts"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER alarm_journal_no_{verb.lower()} BEFORE {verb} ON alarm_journal "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION alarm_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER alarm_journal_append_only BEFORE UPDATE OR DELETE ON alarm_journal "
            "FOR EACH ROW EXECUTE FUNCTION alarm_journal_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS alarm_journal_no_update")
        op.execute("DROP TRIGGER IF EXISTS alarm_journal_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS alarm_journal_append_only ON alarm_journal")
        op.execute("DROP FUNCTION IF EXISTS alarm_journal_append_only()")
    op.drop_index("ix_notification_ts", table_name="notification")
    op.drop_table("notification")
    op.drop_index("ix_alarm_command_pending", table_name="alarm_command")
    op.drop_table("alarm_command")
    op.drop_index("ix_alarm_journal_kind_ts", table_name="alarm_journal")
    op.drop_index("ix_alarm_journal_alarm_ts", table_name="alarm_journal")
    op.drop_index("ix_alarm_journal_ts", table_name="alarm_journal")
    op.drop_table("alarm_journal")
    op.drop_index("ix_alarm_open", table_name="alarm")
    op.drop_table("alarm")
