"""Low stock raises alarms through the alarm engine: the stock service opens a ``stock`` event when an item's on
hand falls below its reorder level (an issue) and closes it when a delivery brings it back; the alarm service
raises and returns the alarm, its text built in the reader's language from the item's names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from engine.alarm_text import alarm_text, plant_names
from i18n import t
from plant.loader import load_plant
from services.alarms import AlarmService
from services.stock import StockService
from store.db import make_engine, migrate, session_scope
from store.events import open_events
from store.models import Alarm, Event
from store.stock import import_stock_list, issue, receive

PLANT = load_plant(Path(__file__).parent / "fixtures" / "mini_plant.yaml")
T0 = 1_790_000_000_000
MIN = 60_000


def test_low_stock_raises_and_returns_an_alarm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    migrate(url)
    engine = make_engine(url)
    service = StockService(PLANT, engine)
    alarms = AlarmService(PLANT, engine)
    lst = (
        "物料编码,物料名称,英文名称,单位,数量,单价,安全库存\n"
        "NZ-O2,氧枪喷头,Oxygen lance tip,个,6,2300,4\n"
        "BOLT,螺栓,Bolt,个,500,2,0\n"
    )
    try:
        with session_scope(engine) as s:
            import_stock_list(s, lst.encode(), "list.csv", user="store-wang", now_ms=T0)
        states: list[bool] = []

        def step(now: int) -> None:
            service.step(now)
            with session_scope(engine) as s:
                states.append(bool(open_events(s, "stock")))
            alarms.step(now)

        step(T0 + MIN)
        with session_scope(engine) as s:
            issue(s, "NZ-O2", Decimal(3), user="fitter-li", ts=T0 + 2 * MIN)
            issue(s, "BOLT", Decimal(499), user="fitter-li", ts=T0 + 2 * MIN)  # no level: never low
        step(T0 + 3 * MIN)
        step(T0 + 4 * MIN)  # still low: one event, not two
        with session_scope(engine) as s:
            receive(s, "NZ-O2", Decimal(1), Decimal(2400), user="store-wang", ts=T0 + 5 * MIN)
        step(T0 + 6 * MIN)
        assert states == [False, True, True, False]
        with session_scope(engine) as s:
            (ev,) = s.scalars(select(Event).where(Event.kind == "stock"))
            assert (ev.source, ev.ts_start, ev.ts_end) == ("NZ-O2", T0 + 2 * MIN, T0 + 5 * MIN)
            row = s.scalars(select(Alarm).where(Alarm.source_type == "stock")).one()
            assert (row.condition, row.source, row.priority, row.active) == ("LOW", "NZ-O2", "low", False)
            names = plant_names(PLANT)
            en = alarm_text(row, names, "en", show_names=False)
            zh = alarm_text(row, names, "zh", show_names=False)
        assert en == "Oxygen lance tip (NZ-O2) below its reorder level: 3 pcs on hand, level 4 pcs"
        assert zh == "氧枪喷头（NZ-O2）低于安全库存：现有 3 个，安全库存 4 个"
        assert t("alarm.source.stock", "zh") == "库存" and t(f"alarm.cond.{row.condition}", "zh") == "低于安全库存"
    finally:
        alarms.lock.release()
        engine.dispose()
