"""The stock service: every minute, each material and spare part below its reorder level opens a ``stock`` event
and its return to the level closes it; the alarm service raises and returns the alarm from the event
(``engine.alarms``: source type "stock", condition "LOW"), with its text built when shown in the reader's
language from the item's names, on hand and level kept in the event's facts. A step reads the positions as of
its own moment (the entries stamped at or before it), so ``demo.history`` runs it over the backfilled days."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from plant.schema import Plant
from store.db import session_scope
from store.events import add_event, close_event, open_events
from store.stock import stock_list

logger = logging.getLogger(__name__)

STOCK = "stock"  # the event kind (and the alarm source type)


class StockService:
    name = "stock"
    interval_s = 60.0

    def __init__(self, plant: Plant, engine: Engine) -> None:
        self.plant = plant
        self.engine = engine

    def step(self, now_ms: int) -> None:
        with session_scope(self.engine) as session:
            items = stock_list(session, at_ms=now_ms)  # as of its clock: the history pass steps a simulated one
            open_now = {ev.source: ev for ev in open_events(session, STOCK)}
            for it in items:
                was = it.code in open_now
                at = min(now_ms, it.last_ts) if it.last_ts is not None else now_ms  # the entry that did it
                if it.low and not was:
                    data: dict[str, Any] = {
                        "value": float(it.on_hand),
                        "limit": float(it.reorder),
                        "unit": it.unit,
                        "item": it.name or it.name_zh,
                        "item_zh": it.name_zh or None,
                    }
                    add_event(session, STOCK, it.code, at, severity="info", data=data)
                    logger.info("stock: %s at %s below its reorder level %s", it.code, it.on_hand, it.reorder)
                elif was and not it.low:
                    close_event(session, open_now[it.code].id, max(at, open_now[it.code].ts_start))
                    logger.info("stock: %s back at %s", it.code, it.on_hand)
            known = {it.code for it in items}
            for code, ev in open_now.items():
                if code not in known:
                    close_event(session, ev.id, now_ms)


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> StockService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return StockService(plant, engine)
