"""Reviews of video detections (false positive or confirmed), append-only.

Like the alarm journal and the security audit log, the table refuses UPDATE and DELETE at the database
level (a trigger on SQLite and PostgreSQL): a changed verdict is a new row, the latest one counts.

Revision ID: 0005_video_review
Revises: 0004_users
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_video_review"
down_revision: str | None = "0004_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "video reviews are append-only"


def upgrade() -> None:
    op.create_table(
        "video_review",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_video_review_event", "video_review", ["event_id", "id"])
    op.create_index("ix_video_review_ts", "video_review", ["ts"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER video_review_no_{verb.lower()} BEFORE {verb} ON video_review "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION video_review_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER video_review_append_only BEFORE UPDATE OR DELETE ON video_review "
            "FOR EACH ROW EXECUTE FUNCTION video_review_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS video_review_no_update")
        op.execute("DROP TRIGGER IF EXISTS video_review_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS video_review_append_only ON video_review")
        op.execute("DROP FUNCTION IF EXISTS video_review_append_only()")
    op.drop_index("ix_video_review_ts", table_name="video_review")
    op.drop_index("ix_video_review_event", table_name="video_review")
    op.drop_table("video_review")
