"""PostgreSQL: raw samples in monthly partitions (store.partitions), so retention drops months whole.

The table is rebuilt as ``PARTITION BY RANGE (ts)`` with a partition per month that holds rows (UTC months) and
a default partition; the rows are copied over in one transaction. SQLite: nothing changes.

Revision ID: 0010_sample_partitions
Revises: 0009_sample_compaction
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op

revision: str = "0010_sample_partitions"
down_revision: str | None = "0009_sample_compaction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _month_ms(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE sample RENAME TO sample_unpartitioned")
    op.execute("ALTER INDEX sample_pkey RENAME TO sample_unpartitioned_pkey")
    op.execute("ALTER INDEX ix_sample_null RENAME TO ix_sample_unpartitioned_null")
    op.execute(
        "CREATE TABLE sample (tag_id integer NOT NULL, ts bigint NOT NULL, value double precision, "
        "quality bigint NOT NULL, CONSTRAINT sample_pkey PRIMARY KEY (tag_id, ts)) PARTITION BY RANGE (ts)"
    )
    op.execute("CREATE INDEX ix_sample_null ON sample (tag_id, ts) WHERE value IS NULL")
    op.execute("CREATE TABLE sample_default PARTITION OF sample DEFAULT")
    lo, hi = bind.exec_driver_sql("SELECT min(ts), max(ts) FROM sample_unpartitioned").one()
    if lo is not None:
        d0 = datetime.fromtimestamp(lo / 1000, tz=UTC)
        d1 = datetime.fromtimestamp(hi / 1000, tz=UTC)
        k, last = d0.year * 12 + d0.month - 1, d1.year * 12 + d1.month - 1
        while k <= last:
            y, m = divmod(k, 12)
            ny, nm = divmod(k + 1, 12)
            op.execute(
                f"CREATE TABLE sample_y{y:04d}m{m + 1:02d} PARTITION OF sample "
                f"FOR VALUES FROM ({_month_ms(y, m + 1)}) TO ({_month_ms(ny, nm + 1)})"
            )
            k += 1
    op.execute("INSERT INTO sample SELECT tag_id, ts, value, quality FROM sample_unpartitioned")
    op.execute("DROP TABLE sample_unpartitioned")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE sample RENAME TO sample_partitioned")
    op.execute("ALTER INDEX sample_pkey RENAME TO sample_partitioned_pkey")
    op.execute("ALTER INDEX ix_sample_null RENAME TO ix_sample_partitioned_null")
    op.execute(
        "CREATE TABLE sample (tag_id integer NOT NULL, ts bigint NOT NULL, value double precision, "
        "quality bigint NOT NULL, CONSTRAINT sample_pkey PRIMARY KEY (tag_id, ts))"
    )
    op.execute("CREATE INDEX ix_sample_null ON sample (tag_id, ts) WHERE value IS NULL")
    op.execute("INSERT INTO sample SELECT tag_id, ts, value, quality FROM sample_partitioned")
    op.execute("DROP TABLE sample_partitioned")
