"""Users, their sessions and the security audit log.

The audit log refuses UPDATE and DELETE at the database level (a trigger on SQLite and PostgreSQL), like
the alarm journal.

Revision ID: 0004_users
Revises: 0003_alarms
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_users"
down_revision: str | None = "0003_alarms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "security audit log is append-only"


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("areas", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("password_changed_at", sa.BigInteger(), nullable=False),
        sa.Column("last_login_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_session_user", "user_session", ["user_id"])
    op.create_table(
        "security_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_security_audit_ts", "security_audit", ["ts"])
    op.create_index("ix_security_audit_event_ts", "security_audit", ["event", "ts"])
    op.create_index("ix_security_audit_user_ts", "security_audit", ["user", "ts"])
    op.create_index("ix_security_audit_address_ts", "security_audit", ["address", "ts"])
    op.create_index("ix_security_audit_target_ts", "security_audit", ["target", "ts"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER security_audit_no_{verb.lower()} BEFORE {verb} ON security_audit "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION security_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER security_audit_append_only BEFORE UPDATE OR DELETE ON security_audit "
            "FOR EACH ROW EXECUTE FUNCTION security_audit_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS security_audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS security_audit_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS security_audit_append_only ON security_audit")
        op.execute("DROP FUNCTION IF EXISTS security_audit_append_only()")
    op.drop_index("ix_security_audit_target_ts", table_name="security_audit")
    op.drop_index("ix_security_audit_address_ts", table_name="security_audit")
    op.drop_index("ix_security_audit_user_ts", table_name="security_audit")
    op.drop_index("ix_security_audit_event_ts", table_name="security_audit")
    op.drop_index("ix_security_audit_ts", table_name="security_audit")
    op.drop_table("security_audit")
    op.drop_index("ix_user_session_user", table_name="user_session")
    op.drop_table("user_session")
    op.drop_table("app_user")
