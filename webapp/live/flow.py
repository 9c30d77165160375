"""The process flow view's live data: each unit's status and key values, each stream's value, and the
trends of one unit's key values; from the shared live snapshot and alarm snapshot (no extra queries per
screen) and, for a unit's trends, one pixel-aware trend query per key tag, cached per unit."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from engine.chain import decimals, value_status
from engine.flow import Flow, flowsheet, unit_status
from plant.schema import Plant
from store.db import session_scope
from store.tags import tag_ids
from store.trend import trend
from webapp import context as web
from webapp.live.alarms import alarm_snapshot
from webapp.live.snapshot import snapshot
from webapp.live.summary import fmt_number, unit_symbol

TREND_SECONDS = 30
TREND_SPAN_MS = 8 * 3_600_000  # a unit's trends: the last eight hours
TREND_BUCKETS = 480


def _value(plant: Plant, tag_id: str, latest: dict[str, Any]) -> dict[str, Any]:
    tags = {t.id: t for t in plant.tags}
    tag = tags.get(tag_id)
    if tag is None:
        return {"tag": tag_id, "text": "–", "status": "none", "unit": ""}
    current = latest.get(tag_id)
    status = value_status(tag, current)
    value = current[1] if current is not None and status != "none" else None
    return {
        "tag": tag_id,
        "text": fmt_number(value, decimals(tag)),
        "status": status,
        "unit": unit_symbol(tag.unit or ""),
    }


def flow_live(plant: Plant, flow: Flow | None = None) -> dict[str, Any]:
    """Per unit: worst state, running / known, open alarms, key values; per stream: its value."""
    flow = flow or flowsheet(plant)
    snap = snapshot()
    latest = snap["latest"]
    states = snap["equipment_state"]
    process_of = {e.id: e.process for e in plant.equipment}
    alarms: dict[str, int] = defaultdict(int)
    for a in alarm_snapshot().get("alarms") or []:
        if a.get("active") and a.get("equipment") in process_of and a.get("state") != "shelved":
            alarms[process_of[a["equipment"]]] += 1
    units: dict[str, Any] = {}
    for u in flow.units:
        st = unit_status(u, states, alarms.get(u.process, 0))
        units[u.id] = {
            "state": st.state,
            "running": st.running,
            "known": st.known,
            "total": len(u.equipment),
            "alarms": st.alarms,
            "counts": st.counts,
            "values": [_value(plant, tg, latest) for tg in u.tags],
        }
    streams = {s.id: _value(plant, s.tag, latest) if s.tag else None for s in flow.streams}
    return {"now_ms": snap["now_ms"], "units": units, "streams": streams, "states": states}


def _sig(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.4g}")


def unit_trends(tags: tuple[str, ...]) -> dict[str, Any]:
    """The last eight hours of ``tags`` (a unit's key values), x in epoch ms; shared per unit for a while."""
    key = "sw:flow:trends:" + ",".join(tags)

    def build() -> dict[str, Any]:
        now = web.now_ms()
        series: dict[str, dict[str, list[Any]]] = {}
        with session_scope(web.engine()) as session:
            ids = tag_ids(session)
            for name in tags:
                if name not in ids:
                    continue
                tr = trend(session, ids[name], now - TREND_SPAN_MS, now, TREND_BUCKETS)
                ts, values = tr.with_breaks()
                series[name] = {"x": list(ts), "y": [_sig(v) for v in values]}
        return {"now_ms": now, "series": series}

    return web.cached(key, TREND_SECONDS, build)
