"""A user's own badge (the plant file's badge id), so the on-call phone lists the special-work permits the user is
on as guardian or crew.

Revision ID: 0018_user_badge
Revises: 0017_energy_forecast
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_user_badge"
down_revision: str | None = "0017_energy_forecast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("badge", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("badge")
