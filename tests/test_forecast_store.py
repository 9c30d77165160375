"""Issued energy forecasts (store.forecasts, migration 0017): stored as issued and never changed. A second issue
of the same target on the same plant day is a new version beside the first, which stays as it was; the store
refuses to change or delete an issued row, and so does the database itself (a trigger, SQLite and PostgreSQL);
the first version is the one judged; the real error per horizon is the one computed by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from engine.forecast import MODEL, issued_errors
from store.db import alembic_config, make_engine, migrate, session_scope
from store.forecasts import AppendOnlyError, Issued, add_issue, first_issues, has_issue
from store.models import EnergyForecast

DAY = 86_400_000
T0 = 1_772_380_800_000  # 2026-03-01 16:00 UTC, 00:00 in Shanghai (only a number here: no clock is read)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _issue(engine: Engine, issue_day: str, values: list[float], inputs: str = "a1") -> None:
    rows = [
        Issued(f"2026-03-{2 + i:02d}", T0 + i * DAY, T0 + (i + 1) * DAY, i + 1, v, v * 0.9, v * 1.1, 100.0 + i)
        for i, v in enumerate(values)
    ]
    with session_scope(engine) as s:
        add_issue(
            s,
            medium="electricity",
            meter="E",
            issue_day=issue_day,
            issued_at=T0 + 600_000,
            unit="kWh",
            driver="blow-power",
            model=MODEL,
            inputs=inputs,
            plan_version=1,
            rows=rows,
        )


def _snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with session_scope(engine) as s:
        f = EnergyForecast
        stmt = select(f.id, f.issue_day, f.target_day, f.horizon, f.value, f.low, f.high, f.version, f.inputs)
        return [tuple(r) for r in s.execute(stmt.order_by(f.id))]


def test_an_issue_is_never_changed_and_a_second_one_is_a_new_version(engine: Engine) -> None:
    _issue(engine, "2026-03-02", [1000.0, 1100.0])
    first = _snapshot(engine)
    assert [r[7] for r in first] == [1, 1]
    with session_scope(engine) as s:
        assert has_issue(s, "electricity", "E", "2026-03-02")
        assert not has_issue(s, "electricity", "E", "2026-03-03")
        assert not has_issue(s, "compressed_air", "E", "2026-03-02")
    # the same targets issued again on the same day: new rows, version 2; the first ones as they were
    _issue(engine, "2026-03-02", [5000.0, 5100.0], inputs="b2")
    both = _snapshot(engine)
    assert both[:2] == first
    assert [(r[2], r[4], r[7]) for r in both[2:]] == [("2026-03-02", 5000.0, 2), ("2026-03-03", 5100.0, 2)]
    # the first version is the one judged, whatever came later
    with session_scope(engine) as s:
        judged = first_issues(s, "electricity", "2026-03-01", "2026-03-31")
        assert [(r.target_day, r.value, r.version) for r in judged] == [
            ("2026-03-03", 1100.0, 1),
            ("2026-03-02", 1000.0, 1),
        ]
    # the store refuses to change or delete an issued row
    with pytest.raises(AppendOnlyError), session_scope(engine) as s:
        row = s.scalars(select(EnergyForecast).where(EnergyForecast.version == 1)).first()
        assert row is not None
        row.value = 1.0
    with pytest.raises(AppendOnlyError), session_scope(engine) as s:
        row = s.scalars(select(EnergyForecast)).first()
        s.delete(row)
    # and so does the database, whatever the client
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE energy_forecast SET value = 1"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM energy_forecast"))
    assert _snapshot(engine) == both


def test_migration_0017_down_and_up(engine: Engine, db_url: str) -> None:
    from alembic import command

    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0016_stock")
    with engine.connect() as conn:
        assert "energy_forecast" not in inspect(conn).get_table_names()
    command.upgrade(cfg, "head")
    _issue(engine, "2026-03-02", [1000.0])
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE energy_forecast SET low = 0"))


def test_the_real_error_per_horizon_is_the_one_by_hand() -> None:
    # (horizon, forecast, low, high, actual): a worked example
    rows = [(1, 110.0, 100.0, 120.0, 100.0), (1, 90.0, 85.0, 95.0, 100.0), (2, 130.0, 110.0, 150.0, 100.0)]
    h1, h2 = issued_errors(rows)
    assert (h1.horizon, h1.n, h2.horizon, h2.n) == (1, 2, 2, 1)
    assert h1.mape == pytest.approx(0.10)  # |110-100|/100 and |90-100|/100
    assert h1.rmse == pytest.approx(10.0)
    assert h1.coverage == pytest.approx(0.5)  # 100 is inside [100, 120], not inside [85, 95]
    assert h2.mape == pytest.approx(0.30) and h2.coverage == 0.0 and h2.mase is None
    assert issued_errors([]) == []
