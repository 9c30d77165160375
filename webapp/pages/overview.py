"""Executive overview (``/``): a wall screen readable from across the room.

Production this shift and today vs plan, people on site, equipment availability, the smelting chain's key
values with two-hour sparklines, energy used today, zones at orange or red, limit violations, data
sources, and a compact 3D view drawn by the scene's own renderer (``ids.SCENE``).

The page is rendered complete by :func:`layout` and its structure stays fixed: lists (zones, busiest
areas, violations) are rows of slots shown or hidden by class. After that the refresh callback (every
shell tick) sends only what changed. Every text, class and bar style is filed in a group (a production
tile, one key value, one list row, one data source); the browser keeps a digest per group (``ids.SENT``)
and the server answers with the groups whose digest moved, as one small dict (``ids.DELTA``) that a
clientside callback (``assets/30_overview.js``) spreads onto the pattern-matching components, so neither
the request nor the answer carries the page's ids; the digests come back as a ``Patch``. Sparkline data
goes the same way when the cached trends moved on. The callback reads the cached snapshot, summary and
trends and never queries the database itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    Patch,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)

from engine.chain import Stage, chain, decimals, value_status
from engine.metering import site_meters
from engine.production import products
from i18n import label, t
from plant.schema import Plant, RiskLevel
from webapp import context as web
from webapp.live.personnel import names_visible
from webapp.live.scene import live_payload, static_spec
from webapp.live.snapshot import format_age, snapshot
from webapp.live.summary import amount, fmt_number, pct, sparklines, summary, unit_symbol
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/", name="nav.overview", order=0, title=web.page_title("nav.overview"))

HEADLINE_PRODUCTS = 4
TOP_AREAS = 4
MAX_ZONES = 8
MAX_VIOLATIONS = 10
STATES = ("run", "idle", "stopped", "maintenance", "fault")
SPARK_CONFIG = {"displayModeBar": False, "staticPlot": True, "responsive": True}
SPARK_COLOR = "#58a6ff"


class ids:  # noqa: N801 - a namespace of this page's component ids
    SOURCES = "overview-sources"
    VIOLATIONS = "overview-violations"
    VIOLATION_COUNT = "overview-violation-count"
    SCENE = "overview-scene"  # the compact 3D view's card body
    SCENE_DECK = "overview-scene-deck"
    SCENE_STATIC = "overview-scene-static"
    SCENE_LIVE = "overview-scene-live"
    SCENE_LAYERS = "overview-scene-layers"
    SCENE_SELECTED = "overview-scene-selected"
    SCENE_RENDERED = "overview-scene-rendered"
    SENT = "overview-sent"  # digests of the groups and blocks and the sparkline version the browser shows
    DELTA = "overview-delta"  # the groups that changed, applied in the browser
    TEXT = "overview-text"
    STATUS = "overview-status"
    BAR = "overview-bar"
    SPARK = "overview-spark"

    @staticmethod
    def text(key: str) -> dict[str, str]:
        return {"type": ids.TEXT, "key": key}

    @staticmethod
    def status(key: str) -> dict[str, str]:
        return {"type": ids.STATUS, "key": key}

    @staticmethod
    def bar(key: str) -> dict[str, str]:
        return {"type": ids.BAR, "key": key}

    @staticmethod
    def spark(key: str) -> dict[str, str]:
        return {"type": ids.SPARK, "key": key}


# --- the view: every value the page shows, as plain data ------------------------------------------------


class _Values(dict[str, Any]):
    """A dict that files every key it is given under its view's current group."""

    def __init__(self, view: View) -> None:
        super().__init__()
        self._view = view

    def __setitem__(self, key: str, value: Any) -> None:
        self._view.group_of[key] = self._view.group
        super().__setitem__(key, value)


class View:
    """Texts, status classes and bar styles by key, filed in groups (one tile, one key value, one list row,
    one source), and the models of the blocks re-rendered whole (the data sources). A group is sent whole
    when anything in it changed."""

    def __init__(self) -> None:
        self.group = ""
        self.group_of: dict[str, str] = {}
        self.text = _Values(self)
        self.status = _Values(self)
        self.style = _Values(self)
        self.blocks: dict[str, Any] = {}

    def grouped(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for prop, values in (("text", self.text), ("status", self.status), ("style", self.style)):
            for key, value in values.items():
                out.setdefault(self.group_of[key], {"text": {}, "status": {}, "style": {}})[prop][key] = value
        return out

    def digests(self) -> dict[str, str]:
        groups = {f"g:{name}": _digest(values) for name, values in self.grouped().items()}
        return groups | {name: _digest(model) for name, model in self.blocks.items()}


def _digest(model: Any) -> str:
    raw = json.dumps(model, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(raw, digest_size=6).hexdigest()


def _unit(key_or_unit: str, lang: str) -> str:
    return t(key_or_unit, lang) if key_or_unit.startswith("unit.") else key_or_unit


def _amount_text(value: float | None, unit: str, lang: str) -> str:
    number, unit_key = amount(value, unit, coarse=True)
    return f"{number} {_unit(unit_key, lang)}".strip()


def _bar_style(fraction: float, status: str) -> dict[str, str]:
    width = max(0.0, min(1.0, fraction)) * 100
    return {"width": f"{width:.1f}%", "backgroundColor": f"var(--sw-st-{status})"}


def _mark_style(fraction: float) -> dict[str, str]:
    return {"left": f"{max(0.0, min(1.0, fraction)) * 100:.1f}%"}


def _duration(ms: int, lang: str) -> str:
    minutes = max(0, ms) // 60_000
    return t("overview.duration", lang, h=minutes // 60, m=f"{minutes % 60:02d}")


def _local_hm(ms: int, plant: Plant) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(plant.tz()).strftime("%H:%M")


def build_view(plant: Plant, snap: dict[str, Any], summ: dict[str, Any], lang: str) -> View:
    v = View()
    now = snap["now_ms"]
    _view_header(v, plant, summ, now, lang)
    _view_production(v, summ, lang)
    _view_people(v, plant, snap, lang)
    _view_equipment(v, snap)
    _view_energy(v, summ, lang)
    _view_chain(v, plant, snap, lang)
    _view_zones(v, plant, snap, lang)
    _view_violations(v, plant, snap, lang)
    _view_sources(v, snap, lang)
    return v


def _view_header(v: View, plant: Plant, summ: dict[str, Any], now: int, lang: str) -> None:
    v.group = "shift"
    shift = summ["periods"].get("shift")
    if shift is None:
        v.text["shift"] = t("overview.no_shift", lang)
        return
    v.text["shift"] = t(
        "overview.shift_now",
        lang,
        shift=shift["label"],
        start=_local_hm(shift["start_ms"], plant),
        end=_local_hm(shift["end_ms"], plant),
        elapsed=_duration(now - shift["start_ms"], lang),
    )


def _view_production(v: View, summ: dict[str, Any], lang: str) -> None:
    for row in summ["production"][:HEADLINE_PRODUCTS]:
        key = f"prod.{row['key']}"
        v.group = key
        for kind in ("shift", "day"):
            pa = row.get(kind)
            k = f"{key}.{kind}"
            if pa is None:  # between shifts
                v.text[k] = "–"
                v.text[f"{k}.unit"] = ""
                v.text[f"{k}.pct"] = ""
                v.text[f"{k}.plan"] = ""
                v.status[f"{k}.pct"] = "sw-st sw-st-none"
                v.style[f"{k}.fill"] = _bar_style(0, "none")
                v.style[f"{k}.mark"] = _mark_style(0)
                continue
            number, unit = amount(pa["actual"], row["unit"])
            v.text[k] = number
            v.text[f"{k}.unit"] = _unit(unit, lang)
            v.text[f"{k}.pct"] = pct(pa["completion"])
            v.status[f"{k}.pct"] = f"sw-st sw-st-{pa['status']}"
            to_date = _amount_text(pa["plan_to_date"], row["unit"], lang)
            full = _amount_text(pa["plan_full"], row["unit"], lang)
            plan_key = "overview.plan_shift" if kind == "shift" else "overview.plan_day"
            v.text[f"{k}.plan"] = f"{t('overview.plan_to_date', lang, value=to_date)} · {t(plan_key, lang, value=full)}"
            v.style[f"{k}.fill"] = _bar_style(pa["progress"], pa["status"])
            v.style[f"{k}.mark"] = _mark_style(pa["expected"])


def _view_people(v: View, plant: Plant, snap: dict[str, Any], lang: str) -> None:
    v.group = "people"
    people = [b for b in snap["badges"] if b["kind"] == "person"]
    roles = Counter(b["role"] for b in people)
    v.text["people.total"] = f"{len(people):,}"
    v.text["people.roles"] = t(
        "overview.people_roles",
        lang,
        employees=roles.get("employee", 0),
        contractors=roles.get("contractor", 0),
        visitors=roles.get("visitor", 0),
    )
    area_of = {z.id: z.area for z in plant.zones}
    areas = {a.id: label(a.name, a.name_zh, lang) for a in plant.areas}
    per_area = Counter(area_of[b["zone"]] for b in people if b["zone"] in area_of)
    top = per_area.most_common(TOP_AREAS)
    most = max((n for _a, n in top), default=1) or 1
    v.status["areas.empty"] = "d-none" if top else "sw-muted"
    for i in range(TOP_AREAS):
        v.group = f"area.{i}"
        area, n = top[i] if i < len(top) else (None, 0)
        v.status[f"area.{i}"] = "sw-area" if area is not None else "d-none"
        v.text[f"area.{i}.name"] = areas.get(area, area) if area is not None else ""
        v.text[f"area.{i}.n"] = str(n)
        v.style[f"area.{i}.bar"] = {"width": f"{n / most * 100:.0f}%"}


def _view_equipment(v: View, snap: dict[str, Any]) -> None:
    v.group = "eq"
    states = Counter(snap["equipment_state"].values())
    total = sum(states.values())
    for s in STATES:
        v.text[f"eq.{s}"] = str(states.get(s, 0))
        v.style[f"eq.{s}"] = {"flexGrow": str(states.get(s, 0))}
    down = states.get("fault", 0) + states.get("maintenance", 0)
    v.text["eq.available"] = pct((total - down) / total) if total else "–"
    v.text["eq.total"] = f"{total - down} / {total}" if total else ""


def _view_energy(v: View, summ: dict[str, Any], lang: str) -> None:
    v.group = "energy"
    for row in summ["energy"]:
        number, unit = amount(row["day"], row["unit"])
        v.text[f"energy.{row['medium']}"] = number
        v.text[f"energy.{row['medium']}.unit"] = _unit(unit, lang)


def _view_chain(v: View, plant: Plant, snap: dict[str, Any], lang: str) -> None:
    tags = {tg.id: tg for tg in plant.tags}
    latest = snap["latest"]
    for stage in chain(plant):
        for item in stage.items:
            v.group = f"kv.{item.tag}"
            tag = tags[item.tag]
            current = latest.get(item.tag)
            status = value_status(tag, current)
            value = current[1] if current is not None and status != "none" else None
            v.text[f"kv.{item.tag}"] = fmt_number(value, decimals(tag))
            v.status[f"kv.{item.tag}"] = f"sw-kv-value sw-st sw-st-{status}"
            if item.phase_tag is not None:
                phase = latest.get(item.phase_tag)
                code = int(phase[1]) if phase is not None and phase[1] is not None else None
                v.text[f"kv.{item.tag}.phase"] = t(f"overview.phase.{code}", lang) if code in (0, 1, 2, 3) else ""
                v.status[f"kv.{item.tag}.phase"] = f"sw-phase sw-phase-{code}"


def _reason_text(reason: dict[str, Any], plant: Plant, lang: str) -> str:
    params = {k: val for k, val in reason.items() if k != "code"}
    if "equipment" in params:
        eq = next((e for e in plant.equipment if e.id == params["equipment"]), None)
        if eq is not None:
            params["equipment"] = label(eq.name, eq.name_zh, lang)
    for k in ("value", "limit"):
        if isinstance(params.get(k), float):
            params[k] = fmt_number(params[k])
    try:
        return t(f"risk.reason.{reason['code']}", lang, **params)
    except (KeyError, IndexError):
        return reason["code"]


def _view_zones(v: View, plant: Plant, snap: dict[str, Any], lang: str) -> None:
    v.group = "zones"
    zones = {z.id: z for z in plant.zones}
    hot = []
    for zone_id, r in snap["risk"].items():
        level = RiskLevel(r["level"])
        if level not in (RiskLevel.RED, RiskLevel.ORANGE) or zone_id not in zones:
            continue
        z = zones[zone_id]
        reason = (
            _reason_text(r["reasons"][0], plant, lang)
            if r["reasons"]
            else t("overview.risk_register", lang, score=fmt_number(r["score"], 0))
        )
        raised = RiskLevel(r["static"]).rank < level.rank
        hot.append((-level.rank, not raised, -r["score"], label(z.name, z.name_zh, lang), zone_id, level.value, reason))
    hot.sort()
    v.status["zones.empty"] = "d-none" if hot else "sw-ok"
    more = max(0, len(hot) - MAX_ZONES)
    v.text["zones.more"] = t("overview.more", lang, count=more) if more else ""
    v.status["zones.more"] = "sw-muted sw-more" if more else "d-none"
    for i in range(MAX_ZONES):
        v.group = f"zone.{i}"
        if i >= len(hot):
            v.status[f"zone.{i}"] = "d-none"
            continue
        _r, static, _s, name, _zone_id, level, reason = hot[i]
        v.status[f"zone.{i}"] = "sw-zone" if static else "sw-zone sw-zone-raised"
        v.status[f"zone.{i}.chip"] = f"sw-chip sw-chip-{level}"
        v.text[f"zone.{i}.chip"] = t(f"risk.level.{level}", lang)
        v.text[f"zone.{i}.name"] = name
        v.text[f"zone.{i}.reason"] = reason


def _view_violations(v: View, plant: Plant, snap: dict[str, Any], lang: str) -> None:
    violations = snap["violations"]
    v.group = "violations"
    v.text["violations.count"] = str(len(violations))
    tags = {tg.id: tg for tg in plant.tags}
    zones = {z.id: z for z in plant.zones}
    tz = plant.tz()
    shown = [(viol, tags[viol["tag"]]) for viol in violations if viol["tag"] in tags][:MAX_VIOLATIONS]
    v.status["viol.empty"] = "d-none" if shown else "sw-ok"
    v.status["viol.table"] = "sw-table sw-vtable mb-0 table table-sm" if shown else "d-none"
    more = len(violations) - len(shown)
    v.text["viol.more"] = t("overview.more", lang, count=more) if more > 0 else ""
    v.status["viol.more"] = "sw-muted sw-more" if more > 0 else "d-none"
    for i in range(MAX_VIOLATIONS):
        v.group = f"viol.{i}"
        if i >= len(shown):
            v.status[f"viol.{i}"] = "d-none"
            continue
        viol, tag = shown[i]
        zone = zones.get(tag.zone or "")
        v.status[f"viol.{i}"] = f"sw-limit-{viol['limit']}"
        v.text[f"viol.{i}.tag"] = tag.id
        v.text[f"viol.{i}.desc"] = label(tag.description, tag.description_zh, lang)
        digits = decimals(tag)
        if fmt_number(viol["value"], digits) == fmt_number(viol["threshold"], digits):
            digits = min(digits + 2, 4)  # just beyond the limit: show the digits that tell them apart
        v.text[f"viol.{i}.value"] = f"{fmt_number(viol['value'], digits)} {unit_symbol(tag.unit)}".strip()
        v.text[f"viol.{i}.limit"] = (
            f"{t('limit.' + viol['limit'], lang)} {fmt_number(viol['threshold'], decimals(tag))}"
        )
        v.text[f"viol.{i}.zone"] = label(zone.name, zone.name_zh, lang) if zone else ""
        v.text[f"viol.{i}.time"] = datetime.fromtimestamp(viol["ts"] / 1000, UTC).astimezone(tz).strftime("%H:%M:%S")


def _view_sources(v: View, snap: dict[str, Any], lang: str) -> None:
    v.blocks["sources"] = [[h["endpoint"], h["name"], h["name_zh"]] for h in snap["health"]]
    for h in snap["health"]:
        k = f"src.{h['endpoint']}"
        v.group = k
        ok = h["connected"]
        v.text[f"{k}.state"] = t("health.connected", lang) if ok else t("health.disconnected", lang)
        v.status[f"{k}.state"] = f"badge ms-2 {'bg-success' if ok else 'bg-danger'}"
        v.status[k] = f"sw-card sw-src {'' if ok else 'sw-card-bad'}"
        v.text[f"{k}.age"] = t("health.age", lang, age=format_age(h["data_age_s"], lang))
        v.text[f"{k}.written"] = f"{h['written']:,}"
        v.text[f"{k}.spooled"] = f"{h['spooled']:,}"
        v.text[f"{k}.rejected"] = f"{h['rejected']:,}"
        v.text[f"{k}.lag"] = f"{h['lag_ms_p50']:.0f} ms"


# --- rendering -------------------------------------------------------------------------------------------


def _txt(v: View, key: str, className: str | None = None) -> html.Span:  # noqa: N803 - Dash prop name
    return html.Span(v.text.get(key, "–"), id=ids.text(key), className=className)


def _st(v: View, key: str, children: Any, element: Any = html.Div) -> Any:
    """An element whose class (visibility, color) the refresh may change."""
    return element(children, id=ids.status(key), className=v.status.get(key))


def _bar(v: View, key: str, thin: bool = False) -> html.Div:
    return html.Div(
        [
            html.Div(id=ids.bar(f"{key}.fill"), className="sw-bar-fill", style=v.style.get(f"{key}.fill")),
            html.Div(id=ids.bar(f"{key}.mark"), className="sw-bar-mark", style=v.style.get(f"{key}.mark")),
        ],
        className="sw-bar sw-bar-thin" if thin else "sw-bar",
    )


def _tile(children: list[Any], extra: str = "") -> dbc.Col:
    return dbc.Col(html.Div(children, className=f"sw-card sw-tile {extra}"), xs=12, md=6, lg=4, xxl=2)


def _production_tile(v: View, product: dict[str, Any], lang: str) -> dbc.Col:
    key = f"prod.{product['key']}"
    title = t(f"kpi.product.{product['key']}", lang)
    if title == f"kpi.product.{product['key']}":
        title = label(product["name"], product["name_zh"], lang)
    return _tile(
        [
            html.Div(title, className="sw-tile-title"),
            html.Div(
                [
                    html.Span(t("overview.this_shift", lang), className="sw-tile-label"),
                    html.Span(
                        _txt(v, f"{key}.shift.pct"),
                        id=ids.status(f"{key}.shift.pct"),
                        className=v.status.get(f"{key}.shift.pct"),
                    ),
                ],
                className="sw-tile-row",
            ),
            html.Div([_txt(v, f"{key}.shift"), _txt(v, f"{key}.shift.unit", "sw-unit")], className="sw-kpi"),
            _bar(v, f"{key}.shift"),
            html.Div(_txt(v, f"{key}.shift.plan"), className="sw-tile-caption"),
            html.Div(
                [
                    html.Span(t("overview.today", lang), className="sw-tile-label"),
                    html.Span(
                        [_txt(v, f"{key}.day"), " ", _txt(v, f"{key}.day.unit", "sw-unit-sm")], className="sw-kpi-sm"
                    ),
                    html.Span(
                        _txt(v, f"{key}.day.pct"),
                        id=ids.status(f"{key}.day.pct"),
                        className=v.status.get(f"{key}.day.pct"),
                    ),
                ],
                className="sw-tile-row mt-2",
            ),
            _bar(v, f"{key}.day", thin=True),
            html.Div(_txt(v, f"{key}.day.plan"), className="sw-tile-caption"),
        ]
    )


def _people_tile(v: View, lang: str) -> dbc.Col:
    return _tile(
        [
            html.Div(t("overview.people", lang), className="sw-tile-title"),
            html.Div(_txt(v, "people.total"), className="sw-kpi"),
            html.Div(_txt(v, "people.roles"), className="sw-tile-caption mb-1"),
            html.Div(_areas(v, lang), className="sw-areas"),
        ]
    )


def _areas(v: View, lang: str) -> list[Any]:
    rows: list[Any] = [_st(v, "areas.empty", t("overview.no_people", lang))]
    for i in range(TOP_AREAS):
        rows.append(
            _st(
                v,
                f"area.{i}",
                [
                    _txt(v, f"area.{i}.name", "sw-area-name"),
                    html.Span(
                        html.Span(id=ids.bar(f"area.{i}.bar"), style=v.style.get(f"area.{i}.bar")),
                        className="sw-area-bar",
                    ),
                    _txt(v, f"area.{i}.n", "sw-area-n"),
                ],
            )
        )
    return rows


def _equipment_tile(v: View, lang: str) -> dbc.Col:
    legend = [
        html.Div(
            [html.Span(className=f"sw-dot sw-eq-{s}"), t(f"overview.state.{s}", lang), _txt(v, f"eq.{s}", "sw-eq-n")],
            className="sw-eq-item",
        )
        for s in STATES
    ]
    segments = [
        html.Div(id=ids.bar(f"eq.{s}"), className=f"sw-eq-seg sw-eq-{s}", style=v.style.get(f"eq.{s}")) for s in STATES
    ]
    return _tile(
        [
            html.Div(t("overview.equipment", lang), className="sw-tile-title"),
            html.Div(
                [_txt(v, "eq.available"), html.Span(t("overview.available", lang), className="sw-unit")],
                className="sw-kpi",
            ),
            html.Div(_txt(v, "eq.total"), className="sw-tile-caption"),
            html.Div(segments, className="sw-eq-bar"),
            html.Div(legend, className="sw-eq-legend"),
        ]
    )


def spark_figure(series: dict[str, list[Any]] | None) -> dict[str, Any]:
    x, y = (series or {}).get("x", []), (series or {}).get("y", [])
    last = [(a, b) for a, b in zip(x, y, strict=True) if b is not None][-1:]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": y,
                "line": {"width": 1.5, "color": SPARK_COLOR},
                "connectgaps": False,
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": [p[0] for p in last],
                "y": [p[1] for p in last],
                "marker": {"size": 5, "color": "#e6edf3"},
                "hoverinfo": "skip",
            },
        ],
        "layout": {
            "margin": {"l": 0, "r": 3, "t": 3, "b": 3},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "xaxis": {"visible": False, "range": [-120, 0], "fixedrange": True},
            "yaxis": {"visible": False, "fixedrange": True},
            "showlegend": False,
            "autosize": True,
        },
    }


def _measure(tag_id: str, lang: str) -> str:
    key = f"overview.measure.{tag_id.rsplit('.', 1)[-1].lower()}"
    text = t(key, lang)
    return tag_id if text == key else text


def _chain_card(v: View, plant: Plant, stages: list[Stage], spark: dict[str, Any], lang: str) -> html.Div:
    units = {tg.id: tg.unit for tg in plant.tags}
    columns = []
    for i, stage in enumerate(stages):
        items = []
        for item in stage.items:
            equipment = item.tag.rsplit(".", 1)[0]
            head = [html.Span(equipment, className="sw-kv-eq"), html.Span(_measure(item.tag, lang))]
            if item.phase_tag is not None:
                k = f"kv.{item.tag}.phase"
                head.append(html.Span(_txt(v, k), id=ids.status(k), className=v.status.get(k)))
            items.append(
                html.Div(
                    [
                        html.Div(head, className="sw-kv-label"),
                        html.Div(
                            [
                                html.Span(
                                    [
                                        _txt(v, f"kv.{item.tag}"),
                                        html.Span(unit_symbol(units.get(item.tag, "")), className="sw-unit"),
                                    ],
                                    id=ids.status(f"kv.{item.tag}"),
                                    className=v.status.get(f"kv.{item.tag}"),
                                ),
                                dcc.Graph(
                                    id=ids.spark(item.tag),
                                    figure=spark_figure(spark["series"].get(item.tag)),
                                    config=SPARK_CONFIG,
                                    responsive=True,
                                    className="sw-spark",
                                    style={"height": "2.2rem"},
                                ),
                            ],
                            className="sw-kv-row",
                        ),
                    ],
                    className="sw-kv",
                )
            )
        columns.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(t(f"overview.stage.{stage.key}", lang)),
                            html.Span("›", className="sw-stage-arrow") if i < len(stages) - 1 else None,
                        ],
                        className="sw-stage-title",
                    ),
                    *items,
                ],
                className="sw-stage",
            )
        )
    return html.Div(
        [
            html.Div(
                [
                    html.Span(t("overview.chain", lang), className="sw-card-title"),
                    html.Span(t("overview.trend_span", lang), className="sw-muted ms-auto"),
                ],
                className="sw-card-head",
            ),
            html.Div(columns, className="sw-chain"),
        ],
        className="sw-card sw-panel",
    )


def _energy_card(v: View, plant: Plant, lang: str) -> html.Div:
    cells = [
        html.Div(
            [
                html.Div(t(f"overview.medium.{m.medium.value}", lang), className="sw-tile-label"),
                html.Div(
                    [
                        _txt(v, f"energy.{m.medium.value}"),
                        " ",
                        _txt(v, f"energy.{m.medium.value}.unit", "sw-unit-sm"),
                    ],
                    className="sw-kpi-md",
                ),
            ],
            className="sw-energy-cell",
        )
        for m in site_meters(plant)
    ]
    return html.Div(
        [
            html.Div(t("overview.energy", lang), className="sw-card-title sw-card-head"),
            html.Div(cells, className="sw-energy"),
        ],
        className="sw-card sw-panel sw-panel-auto",
    )


def _zones(v: View, lang: str) -> list[Any]:
    rows: list[Any] = [_st(v, "zones.empty", t("overview.no_zones", lang))]
    for i in range(MAX_ZONES):
        rows.append(
            _st(
                v,
                f"zone.{i}",
                [
                    html.Span(
                        _txt(v, f"zone.{i}.chip"),
                        id=ids.status(f"zone.{i}.chip"),
                        className=v.status.get(f"zone.{i}.chip"),
                    ),
                    _txt(v, f"zone.{i}.name", "sw-zone-name"),
                    _txt(v, f"zone.{i}.reason", "sw-zone-reason"),
                ],
            )
        )
    rows.append(_st(v, "zones.more", _txt(v, "zones.more")))
    return rows


def _violations(v: View, lang: str) -> list[Any]:
    wide = {"col.description", "col.zone", "overview.col_time"}  # hidden on phones
    columns = (
        ("col.tag", 22, "tag"),
        ("col.description", 24, "desc"),
        ("col.value", 15, "value"),
        ("col.limit", 12, "limit"),
        ("col.zone", 16, "zone"),
        ("overview.col_time", 11, "time"),
    )
    cell_class = {"tag": "font-monospace", "value": "sw-num"}
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(k, lang), className="d-none d-md-table-cell" if k in wide else None, style={"width": f"{w}%"})
                for k, w, _f in columns
            ]
        )
    )
    body = [
        _st(
            v,
            f"viol.{i}",
            [
                html.Td(
                    _txt(v, f"viol.{i}.{f}"),
                    className=" ".join(
                        c for c in (cell_class.get(f), "d-none d-md-table-cell" if k in wide else "") if c
                    )
                    or None,
                )
                for k, _w, f in columns
            ],
            element=html.Tr,
        )
        for i in range(MAX_VIOLATIONS)
    ]
    table = html.Table([head, html.Tbody(body)], id=ids.status("viol.table"), className=v.status.get("viol.table"))
    return [
        _st(v, "viol.empty", t("overview.no_violations", lang)),
        table,
        _st(v, "viol.more", _txt(v, "viol.more")),
    ]


def _sources(v: View, lang: str) -> list[Any]:
    cards = []
    for endpoint, name, name_zh in v.blocks["sources"]:
        k = f"src.{endpoint}"
        stats = [
            ("health.written", f"{k}.written"),
            ("health.spooled", f"{k}.spooled"),
            ("health.rejected", f"{k}.rejected"),
            ("health.lag", f"{k}.lag"),
        ]
        cards.append(
            dbc.Col(
                html.Div(
                    [
                        html.Div(
                            [
                                html.Span(label(name, name_zh, lang), className="sw-card-title"),
                                html.Span(
                                    _txt(v, f"{k}.state"),
                                    id=ids.status(f"{k}.state"),
                                    className=v.status.get(f"{k}.state"),
                                ),
                                html.Span(_txt(v, f"{k}.age"), className="sw-src-age ms-auto"),
                            ],
                            className="d-flex align-items-center",
                        ),
                        html.Div(
                            [
                                html.Span([t(lk, lang), " ", _txt(v, tk, "sw-stat-v")], className="sw-stat")
                                for lk, tk in stats
                            ],
                            className="sw-stats",
                        ),
                    ],
                    id=ids.status(k),
                    className=v.status.get(k),
                ),
                xs=12,
            )
        )
    return cards or [dbc.Col(html.Div(t("health.never", lang), className="sw-muted"))]


def _placeholder_view(plant: Plant, lang: str) -> tuple[View, dict[str, Any]]:
    """What the page shows while the store cannot be read: the structure with dashes."""
    now = web.now_ms()
    snap = {
        "now_ms": now,
        "health": [],
        "latest": {},
        "equipment_state": {},
        "badges": [],
        "risk": {},
        "violations": [],
    }
    summ = {
        "periods": {},
        "production": [
            {"key": p.key, "unit": p.unit, "name": p.name, "name_zh": p.name_zh, "shift": None, "day": None}
            for p in products(plant)
        ],
        "energy": [{"medium": m.medium.value, "unit": m.unit, "day": None} for m in site_meters(plant)],
    }
    return build_view(plant, snap, summ, lang), summ


COMPACT_LAYERS = ["zones", "equipment", "people", "vehicles", "alarms"]


def _compact_scene(lang: str) -> html.Div:
    """The 3D plant at a glance: zones in their live colors, equipment by state, people; /scene for more."""
    spec = static_spec(str(web.settings().plant_file), lang, ids.SCENE_DECK, ids.SCENE_SELECTED, names_visible())
    try:
        live = live_payload()
    except Exception:  # the view still draws without a store; the first refresh fills it in
        logger.exception("overview: no live scene data for the first paint")
        live = None
    return html.Div(
        [
            dcc.Store(id=ids.SCENE_STATIC, data=spec),
            dcc.Store(id=ids.SCENE_LIVE, data=live),
            dcc.Store(id=ids.SCENE_LAYERS, data=COMPACT_LAYERS),
            dcc.Store(id=ids.SCENE_SELECTED),
            dcc.Store(id=ids.SCENE_RENDERED),
            html.Div(id=ids.SCENE_DECK, className="sw-scene-deck sw-scene-compact"),
        ],
        id=ids.SCENE,
        className="sw-scene-slot",
    )


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    try:
        summ = summary()
        view = build_view(plant, snapshot(), summ, lang)
        spark = sparklines()
    except Exception:  # the page must come up even when the store does not; the refresh fills it in
        logger.exception("overview: store not readable, showing the page without data")
        view, summ = _placeholder_view(plant, lang)
        spark = {"version": 0, "series": {}}
    sent = view.digests() | {"spark": spark["version"]}
    stages = chain(plant)
    tiles = [_production_tile(view, row, lang) for row in summ["production"][:HEADLINE_PRODUCTS]]
    tiles += [_people_tile(view, lang), _equipment_tile(view, lang)]
    return html.Div(
        [
            dcc.Store(id=ids.SENT, data=sent),
            dcc.Store(id=ids.DELTA),
            html.Div(
                [
                    html.H1(t("overview.title", lang), className="sw-page-title"),
                    html.Span(_txt(view, "shift"), className="sw-shift"),
                ],
                className="sw-page-head",
            ),
            dbc.Row(tiles, className="g-2 mb-2"),
            dbc.Row(
                [
                    dbc.Col(_chain_card(view, plant, stages, spark, lang), xs=12, xxl=9),
                    dbc.Col(
                        html.Div(
                            [
                                html.Div(
                                    [
                                        html.Span(t("overview.scene", lang)),
                                        dcc.Link(t("overview.scene_open", lang), href="/scene", className="sw-more"),
                                    ],
                                    className="sw-card-title sw-card-head d-flex justify-content-between",
                                ),
                                _compact_scene(lang),
                            ],
                            className="sw-card sw-panel sw-scene-card",
                        ),
                        xs=12,
                        xxl=3,
                        className="d-none d-md-block",
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            _energy_card(view, plant, lang),
                            html.Div(t("overview.sources", lang), className="sw-section-sm"),
                            dbc.Row(_sources(view, lang), id=ids.SOURCES, className="g-2"),
                        ],
                        xs=12,
                        lg=6,
                        xxl=3,
                    ),
                    dbc.Col(
                        html.Div(
                            [
                                html.Div(t("overview.zones", lang), className="sw-card-title sw-card-head"),
                                html.Div(_zones(view, lang)),
                            ],
                            className="sw-card sw-panel",
                        ),
                        xs=12,
                        lg=6,
                        xxl=4,
                    ),
                    dbc.Col(
                        html.Div(
                            [
                                html.Div(
                                    [
                                        html.Span(t("overview.violations", lang), className="sw-card-title"),
                                        dbc.Badge(
                                            _txt(view, "violations.count"),
                                            id=ids.VIOLATION_COUNT,
                                            color="danger",
                                            className="ms-2",
                                        ),
                                    ],
                                    className="sw-card-head",
                                ),
                                html.Div(_violations(view, lang), id=ids.VIOLATIONS),
                            ],
                            className="sw-card sw-panel",
                        ),
                        xs=12,
                        xxl=5,
                    ),
                ],
                className="g-2",
            ),
        ],
        className="sw-overview",
    )


# --- refresh ---------------------------------------------------------------------------------------------


@callback(
    Output(ids.DELTA, "data"),
    Output(ids.SOURCES, "children"),
    Output(ids.SENT, "data"),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.SENT, "data"),
    prevent_initial_call=True,
)
def refresh(_n: int | None, sent: dict[str, Any] | None) -> tuple[Any, ...]:
    """What changed since the browser's last update: whole groups of numbers (applied in the browser by
    ``swOverview.apply``), list blocks re-rendered, sparkline data when the cached trends moved on."""
    lang = web.lang()
    view = build_view(web.plant(), snapshot(), summary(), lang)
    spark = sparklines()
    before = dict(sent or {})
    sent = dict(before)
    digests = view.digests()
    delta: dict[str, Any] = {"text": {}, "status": {}, "style": {}}
    for name, values in view.grouped().items():
        key = f"g:{name}"
        if sent.get(key) != digests[key]:
            sent[key] = digests[key]
            for prop in ("text", "status", "style"):
                delta[prop].update(values[prop])
    if sent.get("spark") != spark["version"]:
        sent["spark"] = spark["version"]
        delta["spark"] = spark["series"]

    def block(name: str, render: Any) -> Any:
        if sent.get(name) == digests[name]:
            return no_update
        sent[name] = digests[name]
        return render()

    changed = any(delta[p] for p in ("text", "status", "style")) or "spark" in delta
    return (
        delta if changed else no_update,
        block("sources", lambda: _sources(view, lang)),
        _patch(before, sent),
    )


def _patch(before: dict[str, Any], after: dict[str, Any]) -> Any:
    """Only the digests that moved, as a ``Patch`` of the browser's store (or nothing)."""
    changed = {k: val for k, val in after.items() if before.get(k) != val}
    if not changed:
        return no_update
    p = Patch()
    for k, val in changed.items():
        p[k] = val
    return p


clientside_callback(
    ClientsideFunction(namespace="swOverview", function_name="apply"),
    Output({"type": ids.TEXT, "key": ALL}, "children"),
    Output({"type": ids.STATUS, "key": ALL}, "className"),
    Output({"type": ids.BAR, "key": ALL}, "style"),
    Output({"type": ids.SPARK, "key": ALL}, "figure"),
    Input(ids.DELTA, "data"),
    State({"type": ids.SPARK, "key": ALL}, "figure"),
    prevent_initial_call=True,
)


clientside_callback(
    ClientsideFunction(namespace="swOverview", function_name="scene"),
    Output(ids.SCENE_RENDERED, "data"),
    Input(ids.SCENE_STATIC, "data"),
    Input(ids.SCENE_LIVE, "data"),
    Input(ids.SCENE_LAYERS, "data"),
)


@callback(Output(ids.SCENE_LIVE, "data"), Input(shell_ids.TICK, "n_intervals"), prevent_initial_call=True)
def refresh_scene(_n: int | None) -> dict[str, Any]:
    return live_payload()
