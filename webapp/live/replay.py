"""Incident replay (S5): a window of history read once and packed for the browser, which plays it without
asking the server again (``assets/95_replay.js``; ``engine.replay.Timeline`` is the same seek in Python).

What a window holds (times ``s`` in seconds from its start, to 0.1 s):

- ``trips``/``badges``/``sb``: everybody's movements (``store.people.replay_people``, the viewer's scope:
  no names for executives, nothing for viewers of counts); ``sb`` maps a packed badge to the scene's badge;
- ``zl``, ``eq``, ``hc``, ``hz``, ``hs``: zone levels, equipment states, headcounts and hazard readings as
  they were, as lists of changes ``[s, value]``, computed for every frame from the stored samples and
  positions by the live screens' own rules (``engine.risk.zone_risks`` via ``scene.layers.live_scene``);
- ``al``: the scene's alarm markers as they were, one change per journal row that changed them;
- ``journal``: every journal row of the window, its text in the reader's language, built now;
- ``video``: detections with their snapshot and clip addresses (only for users who may see video);
- ``viol``: personnel violations (their badges, for the SOS ring of a man-down);
- ``muster``: musters with the roll and the arrival times, for counts at the cursor;
- ``events``: the moments "step" goes to (alarms raised, detections, violations, musters);
- ``permits``: special-work permits of the window with their state changes (active, suspended...) for the
  cursor; titles only for readers who may see names (a title may name the crew).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from engine.alarm_text import alarm_text, plant_names
from engine.clock import DATE_TIME, format_local
from engine.replay import changes, frame_step, frame_times, latest_at
from engine.risk import zone_risks
from engine.shifts import current_shift
from i18n import label, t
from plant import Plant
from plant.schema import TagKind
from scene.layers import alarm_markers, hazard_sources, live_scene
from store import incidents
from store import replay as store_replay
from store.db import session_scope
from store.people import Access, Viewer, access, replay_people
from store.people import identities as people_identities
from store.tags import tag_ids
from store.trend import trend
from store.video import Scope
from webapp.live.alarms import condition_text
from webapp.live.snapshot import POSITION_MAX_AGE_MS, equipment_states
from webapp.live.summary import fmt_number
from webapp.live.tracks import pack_playback

logger = logging.getLogger(__name__)

MAX_WINDOW_MS = 4 * 3_600_000  # the longest replay window
DEFAULT_BEFORE_MS = 10 * 60_000  # a replay opened on a moment starts this long before it
DEFAULT_AFTER_MS = 5 * 60_000  # ... and ends this long after it
MAX_TRENDS = 20
PEOPLE_POINTS = 360  # positions per badge in a window (10 s apart in an hour; people between them interpolated)
DEFAULT_TRENDS = 6
TREND_WIDTH = 600
SOS_RULES = ("man_down", "sos")


class WindowError(ValueError):
    """A replay window that cannot be read: ``key`` is its message's translation key."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def check_window(t0: int, t1: int) -> tuple[int, int]:
    if not (isinstance(t0, int) and isinstance(t1, int)) or t1 <= t0:
        raise WindowError("replay.error.window")
    if t1 - t0 > MAX_WINDOW_MS:
        raise WindowError("replay.error.too_long", hours=MAX_WINDOW_MS // 3_600_000)
    return t0, t1


def _s(ms: int, t0: int) -> float:
    return round((ms - t0) / 1000, 1)


def _num(v: float | None) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.5g}")


@dataclass(frozen=True)
class Who:
    """Who reads the replay: their scope of people, whether they may see video and operator names, their areas
    (on-call: only what happened in them)."""

    viewer: Viewer
    video: bool
    areas: tuple[str, ...] | None = None

    @property
    def names(self) -> bool:
        return access(self.viewer) == Access.FULL


def default_tags(
    plant: Plant, equipment: Sequence[str], zones: Sequence[str], limit: int = DEFAULT_TRENDS
) -> list[str]:
    """The trends a replay opens with: the process and gas tags of the incident's equipment, then of its zone."""
    kinds = (TagKind.PROCESS, TagKind.GAS, TagKind.EMISSION)
    out: list[str] = []
    for eq in equipment:
        out += [tg.id for tg in plant.tags if tg.equipment == eq and tg.kind in kinds and tg.id not in out]
    for z in zones:
        out += [tg.id for tg in plant.tags if tg.zone == z and tg.kind == TagKind.GAS and tg.id not in out]
        zone_eq = {e.id for e in plant.equipment if e.zone == z}
        out += [tg.id for tg in plant.tags if tg.equipment in zone_eq and tg.kind in kinds and tg.id not in out]
    return out[:limit]


def _alarm_state(row: Any, flags: dict[str, bool]) -> str:
    kind = row.kind
    if kind in ("shelve", "unshelve", "shelve_expired"):
        flags["shelved"] = kind == "shelve"
    elif kind in ("suppress", "unsuppress"):
        flags["suppressed"] = kind == "suppress"
    elif kind in ("out_of_service", "in_service"):
        flags["oos"] = kind == "out_of_service"
    if flags.get("oos"):
        return "out_of_service"
    if flags.get("suppressed"):
        return "suppressed"
    if flags.get("shelved"):
        return "shelved"
    if row.active:
        return "active_acked" if row.acked else "active_unacked"
    return "normal" if row.acked else "returned_unacked"


def load(
    engine: Any,
    plant: Plant,
    t0: int,
    t1: int,
    who: Who,
    lang: str,
    *,
    tags: Sequence[str] = (),
    now_ms: int,
) -> dict[str, Any]:
    """The packed replay of ``[t0, t1]`` for ``who`` (see the module docstring)."""
    t0, t1 = check_window(int(t0), int(t1))
    step = frame_step(t0, t1)
    times = frame_times(t0, t1, step)
    hazards = hazard_sources(plant)
    risk_tags = {tg.id for tg in plant.tags if tg.kind in (TagKind.GAS, TagKind.STATE)}
    risk_tags |= {h.tag for h in hazards}
    wanted = [tg for tg in tags if tg in {x.id for x in plant.tags}][:MAX_TRENDS]
    with session_scope(engine) as session:
        ids = tag_ids(session)
        series = store_replay.series_between(session, {tg: ids[tg] for tg in risk_tags if tg in ids}, t0, t1)
        pb, counts = replay_people(
            session, plant, t0, t1, times, viewer=who.viewer, max_age_ms=POSITION_MAX_AGE_MS, points=PEOPLE_POINTS
        )
        journal = store_replay.journal_between(session, t0, t1, areas=who.areas)
        scope = None if who.areas is None else Scope.of_areas(plant, who.areas)
        video = store_replay.video_between(session, t0, t1, scope=scope, now_ms=now_ms) if who.video else []
        musters = store_replay.musters_between(session, plant, t0, t1)
        emergencies = store_replay.emergencies_between(session, t0, t1)
        dangers = store_replay.major_dangers_between(session, t0, t1)
        permits = store_replay.permits_between(session, t0, t1)
        trends = {tg: trend(session, ids[tg], t0, t1, TREND_WIDTH) for tg in wanted if tg in ids}

    # the scene's live fields at every frame, by the live screens' rules
    # a frame is computed only where something it depends on changed: a sample, a headcount, the shift, an
    # open major hidden danger
    frames: list[dict[str, Any]] = []
    marks = np.array(
        [np.searchsorted(np.asarray(sr.ts, dtype=np.int64), times, side="right") for sr in series.values()]
    )
    shifts = [found[0].id if (found := current_shift(plant, at)) else None for at in times]
    majors: list[dict[str, int]] = []
    for at in times:
        open_now: dict[str, int] = {}
        for zone, a, b in dangers:
            if a <= at and (b is None or at < b):
                open_now[zone] = open_now.get(zone, 0) + 1
        majors.append(open_now)
    for f, (at, hc) in enumerate(zip(times, counts, strict=True)):
        same = f > 0 and hc == counts[f - 1] and shifts[f] == shifts[f - 1] and majors[f] == majors[f - 1]
        if same and (marks.size == 0 or not (marks[:, f] != marks[:, f - 1]).any()):
            frames.append(dict(frames[-1], t=at))
            continue
        latest = latest_at(series, at)
        states = equipment_states(plant, latest)
        risks = zone_risks(plant, latest, states, hc, shifts[f], majors[f])
        snap = {
            "now_ms": at,
            "latest": latest,
            "equipment_state": states,
            "headcount": hc,
            "risk": {z: r.as_dict() for z, r in risks.items()},
            "badges": [],
        }
        frames.append(live_scene(plant, snap, hazards))
    secs = [_s(t, t0) for t in times]
    packed: dict[str, Any] = {
        "t0": t0,
        "t1": t1,
        "step_s": step / 1000,
        "tz": plant.site.timezone,
        "zl": [list(c) for c in changes(secs, [f["zl"] for f in frames])],
        "eq": [list(c) for c in changes(secs, [f["eq"] for f in frames])],
        "hc": [list(c) for c in changes(secs, [f["hc"] for f in frames])],
        "hz": [list(c) for c in changes(secs, [[f["hz"], f["hs"]] for f in frames])],
    }

    # people
    trips = pack_playback(pb)
    index = {b.id: i for i, b in enumerate(plant.badges)}
    packed["badges"] = trips["badges"]
    packed["sb"] = [index.get(b["id"], -1) for b in trips["badges"]]
    packed["trips"] = trips["trips"]
    packed["access"] = trips["access"]
    packed["viol"] = [
        [
            _s(max(v.start_ms, t0), t0),
            None if v.end_ms is None else _s(min(v.end_ms, t1), t0),
            v.rule,
            v.zone,
            index.get(v.badge, -1) if v.badge else -1,
            1 if v.rule in SOS_RULES else 0,
        ]
        for v in pb.violations
    ]

    # the alarm journal and the scene's alarm markers as they were
    names = {z.id: label(z.name, z.name_zh, lang) for z in plant.zones}
    areas = {a.id: label(a.name, a.name_zh, lang) for a in plant.areas}
    state: dict[str, dict[str, Any]] = {}
    flags: dict[str, dict[str, bool]] = {}

    def alarm_row(r: Any) -> dict[str, Any]:
        place = journal.places.get(r.alarm_id)
        f = flags.setdefault(r.alarm_id, {})
        return {
            "state": _alarm_state(r, f),
            "priority": r.priority,
            "source": r.source or (place.source if place else r.alarm_id),
            "equipment": place.equipment if place else None,
            "zone": r.zone or (place.zone if place else None),
        }

    for r in journal.at_start:
        state[r.alarm_id] = alarm_row(r)
    al: list[list[Any]] = [[0.0, alarm_markers(plant, list(state.values()))]]
    rows: list[dict[str, Any]] = []
    events: set[float] = set()
    for r in journal.rows:
        state[r.alarm_id] = alarm_row(r)
        s = _s(r.ts, t0)
        markers = alarm_markers(plant, list(state.values()))
        if markers != al[-1][1]:
            if al[-1][0] == s:
                al[-1][1] = markers
            else:
                al.append([s, markers])
        place = journal.places.get(r.alarm_id)
        text = alarm_text(
            {
                "source_type": r.source_type,
                "condition": r.condition,
                "source": r.source,
                "badge": place.badge if place else None,
                "zone": r.zone,
                "camera": place.camera if place else None,
                "message": r.message,
            },
            plant_names(plant),
            lang,
            show_names=who.names,
        )
        rows.append(
            {
                "s": s,
                "ts": r.ts,
                "id": r.id,
                "alarm": r.alarm_id,
                "kind": r.kind,
                "k": t(f"alarm.kind.{r.kind}", lang),
                "prio": r.priority,
                "p": t(f"alarm.priority.{r.priority}", lang),
                "src": r.source or r.alarm_id,
                "cond": condition_text(r.condition or "", lang),
                "text": text,
                "area": areas.get(r.area or "", r.area or ""),
                "zone": names.get(r.zone or "", r.zone or ""),
                "value": "" if r.value is None else fmt_number(r.value),
                "user": (r.user or "") if who.names else "",
                "comment": (r.comment or "") if who.names else "",
            }
        )
        if r.kind == "active":
            events.add(s)
    packed["al"] = al
    packed["journal"] = rows

    # video detections
    cams = {c.id: label(c.name, c.name_zh, lang) for c in plant.cameras}
    vids = []
    for v in video:
        s = _s(v.ts_start, t0)
        base = f"/video/media/{v.event_id}"
        vids.append(
            {
                "s": s,
                "id": v.event_id,
                "cam": cams.get(v.camera, v.camera),
                "cls": condition_text(v.cls, lang) if v.cls else "",
                "conf": None if v.confidence is None else round(v.confidence, 2),
                "zone": names.get(v.zone or "", v.zone or ""),
                "thumb": f"{base}/thumb.jpg" if v.media.get("thumb") or v.media.get("snapshot") else "",
                "snap": f"{base}/snapshot.jpg" if v.media.get("snapshot") else "",
                "clip": f"{base}/clip.mjpg" if v.media.get("clip") else "",
                "alarm": v.alarm_id,
            }
        )
        events.add(s)
    packed["video"] = vids
    for v in packed["viol"]:
        events.add(v[0])
    packed["muster"] = [
        {
            "id": m.event_id,
            "s0": _s(m.declared_ms, t0),
            "s1": None if m.ended_ms is None else _s(m.ended_ms, t0),
            "roll": m.on_roll,
            "arr": [_s(a, t0) for a in m.arrivals_ms],
            "extra": [_s(a, t0) for a in m.extra_ms],
        }
        for m in musters
    ]
    for m in packed["muster"]:
        if m["s0"] >= 0:
            events.add(m["s0"])
    plans = {p.id: label(p.name, p.name_zh, lang) for p in plant.emergency.plans}
    packed["emergency"] = [
        {
            "id": e.emergency_id,
            "s0": _s(e.declared_ms, t0),
            "s1": None if e.ended_ms is None else _s(e.ended_ms, t0),
            "plan": plans.get(e.plan, e.plan),
            "zone": names.get(e.zone, e.zone),
        }
        for e in emergencies
    ]
    for em in packed["emergency"]:
        for edge in (em["s0"], em["s1"]):
            if edge is not None and edge >= 0:
                events.add(edge)
    # special-work permits: their state at the cursor (the browser lists those not closed and draws those active or
    # suspended on the scene: work area and work point, coloured by kind, outlined by state)
    idents = people_identities(plant, who.viewer)  # no names unless the reader may see them; none at COUNTS

    def person(badge: str | None) -> str:
        ident = idents.get(badge or "")
        if ident is None:
            return ""
        return f"{label(ident.name, ident.name_zh, lang)} ({badge})" if ident.name else str(badge)

    packed["permits"] = [
        {
            "id": pm.permit_id,
            "k": pm.kind,
            "kind": t(f"permit.kind.{pm.kind}", lang),
            "grade": t(f"permit.grade.{pm.grade}", lang) if pm.grade else "",
            "title": pm.title if who.names else "",
            "zone": names.get(pm.zone or "", pm.zone or ""),
            "p": [round(pm.x, 1), round(pm.y, 1)],
            "a": [[round(x, 1), round(y, 1)] for x, y in pm.area],
            "guard": person(pm.guardian),
            "crew": [c for c in (person(b) for b in pm.crew) if c],
            "n_crew": len(pm.crew),
            "st": [[max(0.0, _s(ts, t0)), st, t(f"permit.state.{st}", lang)] for ts, st in pm.changes],
        }
        for pm in permits
    ]
    for pm in packed["permits"]:
        for ch in pm["st"][1:]:
            if ch[1] in ("active", "suspended"):
                events.add(ch[0])
    packed["events"] = sorted(e for e in events if 0 <= e <= _s(t1, t0))

    # trends (the page draws them; the cursor moves on them)
    tg_by_id = {tg.id: tg for tg in plant.tags}
    tag_names = plant_names(plant)
    packed["trends"] = []
    for tg, tr in trends.items():
        ts, vals = tr.with_breaks()
        packed["trends"].append(
            {
                "tag": tg,
                "name": tg,
                "desc": tag_names.tag_text(tg, lang) or "",
                "unit": tg_by_id[tg].unit,
                "x": [format_local(x, plant.tz(), DATE_TIME) for x in ts],
                "y": [_num(v) for v in vals],
            }
        )
    return packed


# --- how a replay is opened (the page's URL) ----------------------------------------------------------------------

_DT_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_time(text: str | None, plant: Plant) -> int | None:
    """A moment from a URL or a form: epoch ms, or ``YYYY-MM-DD HH:MM[:SS]`` in the plant's time zone; None
    for nothing. :class:`WindowError` for text that is neither."""
    raw = (text or "").strip()
    if not raw:
        return None
    if raw.isdigit() and len(raw) >= 10:
        return int(raw)
    m = _DT_RE.match(raw)
    if m is None:
        raise WindowError("replay.error.time", text=raw[:40])
    try:
        when = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0), tzinfo=plant.tz())
    except ValueError:
        raise WindowError("replay.error.time", text=raw[:40]) from None
    return int(when.timestamp() * 1000)


@dataclass(frozen=True)
class Opening:
    """What a replay opens on: its window, the moment of the cursor, the trends, and what it was opened from."""

    t0: int
    t1: int
    at: int
    tags: list[str]
    source: str  # alarm | event | muster | emergency | incident | range
    ref: str = ""
    equipment: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    alarms: tuple[str, ...] = ()
    events: tuple[int, ...] = ()


def _around(ms: int, end_ms: int | None, now_ms: int) -> tuple[int, int]:
    t0 = ms - DEFAULT_BEFORE_MS
    t1 = max(ms, end_ms or ms) + DEFAULT_AFTER_MS
    t1 = min(t1, max(now_ms, ms + 1000), t0 + MAX_WINDOW_MS)
    return t0, t1


def resolve(
    query: Mapping[str, Any], plant: Plant, engine: Any, now_ms: int, *, areas: Sequence[str] | None = None
) -> Opening:
    """The replay a URL asks for: ``alarm=<id>``, ``event=<id>`` (a video detection or a violation),
    ``muster=<event id>``, ``incident=<id>`` or ``t0=...&t1=...``; ``at=`` the cursor's moment, ``tags=a,b``
    the trends (else those of the incident's equipment and zone); ``emergency=<id>`` a declared emergency.
    :class:`WindowError` for what cannot be."""
    q = {k: str(v) for k, v in query.items() if isinstance(v, str | int)}
    tags = [x for x in (q.get("tags") or "").split(",") if x][:MAX_TRENDS]
    at = parse_time(q.get("at"), plant)
    equipment: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    alarms: tuple[str, ...] = ()
    events: tuple[int, ...] = ()
    with session_scope(engine) as session:
        if q.get("incident"):
            inc = incidents.get_incident(session, _int(q["incident"]), areas=areas)
            if inc is None:
                raise WindowError("replay.error.not_found")
            t0, t1 = inc.t0, inc.t1
            at = at if at is not None else inc.at
            tags = tags or list(inc.tags)
            source, ref = "incident", str(inc.id)
            alarms, events = tuple(inc.alarms), tuple(inc.events)
            zones = tuple(inc.zones)
        elif areas is not None:  # on-call users replay only the incidents of their areas
            raise WindowError("replay.error.incident_only")
        elif q.get("alarm"):
            found = store_replay.alarm_anchor(session, q["alarm"][:128])
            if found is None:
                raise WindowError("replay.error.not_found")
            source, ref = "alarm", found.alarm_id
            ms = at if at is not None else found.ts
            t0, t1 = _around(found.ts, found.end_ms, now_ms)
            equipment = tuple(x for x in (found.equipment,) if x)
            zones = tuple(x for x in (found.zone,) if x)
            alarms = (found.alarm_id,)
            at = ms
        elif q.get("emergency"):
            em = store_replay.emergency_anchor(session, _int(q["emergency"]))
            if em is None:
                raise WindowError("replay.error.not_found")
            source, ref = "emergency", str(em.emergency_id)
            t0, t1 = _around(em.declared_ms, em.ended_ms, now_ms)
            zones = (em.zone,)
            events = tuple(x for x in (em.muster_event,) if x is not None)
            at = at if at is not None else em.declared_ms
        elif q.get("event") or q.get("muster"):
            ev = store_replay.event_anchor(session, _int(q.get("event") or q.get("muster")))
            if ev is None or (q.get("muster") and ev.kind != "muster"):
                raise WindowError("replay.error.not_found")
            source, ref = ("muster" if ev.kind == "muster" else "event"), str(ev.event_id)
            t0, t1 = _around(ev.ts, ev.end_ms, now_ms)
            zones = tuple(x for x in (ev.zone,) if x)
            equipment = tuple(e.id for e in plant.equipment if e.id == ev.source)
            events = (ev.event_id,)
            at = at if at is not None else ev.ts
        else:
            a = parse_time(q.get("t0"), plant)
            b = parse_time(q.get("t1"), plant)
            if a is None and b is None:
                b = now_ms
                a = b - DEFAULT_BEFORE_MS - DEFAULT_AFTER_MS
            elif a is None:
                a = (b or now_ms) - DEFAULT_BEFORE_MS - DEFAULT_AFTER_MS
            elif b is None:
                b = a + DEFAULT_BEFORE_MS + DEFAULT_AFTER_MS
            t0, t1 = int(a), int(b or now_ms)
            source, ref = "range", ""
            zones = tuple(z for z in (q.get("zone") or "").split(",") if z in {x.id for x in plant.zones})
    t0, t1 = check_window(t0, t1)
    if not tags:
        tags = default_tags(plant, equipment, zones)
    cursor = t0 if at is None else min(max(at, t0), t1)
    return Opening(t0, t1, cursor, tags, source, ref, equipment, zones, alarms, events)


def _int(text: Any) -> int:
    try:
        return int(str(text))
    except ValueError:
        raise WindowError("replay.error.not_found") from None
