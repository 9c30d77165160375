"""The overview's tiles: production this shift and today vs plan, people on site by role and area, equipment
availability by state."""

from __future__ import annotations

from collections import Counter
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from engine.equipment import available_now
from i18n import label, t
from plant.schema import Plant
from store.figures import product_label
from webapp.live.summary import amount, pct
from webapp.panels.overview.ids import ids
from webapp.panels.overview.view import View, st, txt, unit_text

HEADLINE_PRODUCTS = 4
TOP_AREAS = 4
STATES = ("run", "idle", "stopped", "maintenance", "fault")


def _amount_text(value: float | None, unit: str, lang: str) -> str:
    number, unit_key = amount(value, unit, coarse=True)
    return f"{number} {unit_text(unit_key, lang)}".strip()


def _bar_style(fraction: float, status: str) -> dict[str, str]:
    width = max(0.0, min(1.0, fraction)) * 100
    return {"width": f"{width:.1f}%", "backgroundColor": f"var(--sw-st-{status})"}


def _mark_style(fraction: float) -> dict[str, str]:
    return {"left": f"{max(0.0, min(1.0, fraction)) * 100:.1f}%"}


def fill_production(v: View, summ: dict[str, Any], lang: str) -> None:
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
            v.text[f"{k}.unit"] = unit_text(unit, lang)
            v.text[f"{k}.pct"] = pct(pa["completion"])
            v.status[f"{k}.pct"] = f"sw-st sw-st-{pa['status']}"
            to_date = _amount_text(pa["plan_to_date"], row["unit"], lang)
            full = _amount_text(pa["plan_full"], row["unit"], lang)
            plan_key = "overview.plan_shift" if kind == "shift" else "overview.plan_day"
            v.text[f"{k}.plan"] = f"{t('overview.plan_to_date', lang, value=to_date)} · {t(plan_key, lang, value=full)}"
            v.style[f"{k}.fill"] = _bar_style(pa["progress"], pa["status"])
            v.style[f"{k}.mark"] = _mark_style(pa["expected"])


def fill_people(v: View, plant: Plant, snap: dict[str, Any], lang: str) -> None:
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


def fill_equipment(v: View, snap: dict[str, Any]) -> None:
    v.group = "eq"
    states = Counter(snap["equipment_state"].values())
    for s in STATES:
        v.text[f"eq.{s}"] = str(states.get(s, 0))
        v.style[f"eq.{s}"] = {"flexGrow": str(states.get(s, 0))}
    up, known = available_now(snap["equipment_state"])  # the one definition, shared with /production
    v.text["eq.available"] = pct(up / known) if known else "–"
    v.text["eq.total"] = f"{up} / {known}" if known else ""


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


def production_tile(v: View, product: dict[str, Any], lang: str) -> dbc.Col:
    key = f"prod.{product['key']}"
    title = product_label(product, lang)
    return _tile(
        [
            html.Div(title, className="sw-tile-title"),
            html.Div(
                [
                    html.Span(t("overview.this_shift", lang), className="sw-tile-label"),
                    html.Span(
                        txt(v, f"{key}.shift.pct"),
                        id=ids.status(f"{key}.shift.pct"),
                        className=v.status.get(f"{key}.shift.pct"),
                    ),
                ],
                className="sw-tile-row",
            ),
            html.Div([txt(v, f"{key}.shift"), txt(v, f"{key}.shift.unit", "sw-unit")], className="sw-kpi"),
            _bar(v, f"{key}.shift"),
            html.Div(txt(v, f"{key}.shift.plan"), className="sw-tile-caption"),
            html.Div(
                [
                    html.Span(t("overview.today", lang), className="sw-tile-label"),
                    html.Span(
                        [txt(v, f"{key}.day"), " ", txt(v, f"{key}.day.unit", "sw-unit-sm")], className="sw-kpi-sm"
                    ),
                    html.Span(
                        txt(v, f"{key}.day.pct"),
                        id=ids.status(f"{key}.day.pct"),
                        className=v.status.get(f"{key}.day.pct"),
                    ),
                ],
                className="sw-tile-row mt-2",
            ),
            _bar(v, f"{key}.day", thin=True),
            html.Div(txt(v, f"{key}.day.plan"), className="sw-tile-caption"),
        ]
    )


def people_tile(v: View, lang: str) -> dbc.Col:
    return _tile(
        [
            html.Div(t("overview.people", lang), className="sw-tile-title"),
            html.Div(txt(v, "people.total"), className="sw-kpi"),
            html.Div(txt(v, "people.roles"), className="sw-tile-caption mb-1"),
            html.Div(_areas(v, lang), className="sw-areas"),
        ]
    )


def _areas(v: View, lang: str) -> list[Any]:
    rows: list[Any] = [st(v, "areas.empty", t("overview.no_people", lang))]
    for i in range(TOP_AREAS):
        rows.append(
            st(
                v,
                f"area.{i}",
                [
                    txt(v, f"area.{i}.name", "sw-area-name"),
                    html.Span(
                        html.Span(id=ids.bar(f"area.{i}.bar"), style=v.style.get(f"area.{i}.bar")),
                        className="sw-area-bar",
                    ),
                    txt(v, f"area.{i}.n", "sw-area-n"),
                ],
            )
        )
    return rows


def equipment_tile(v: View, lang: str) -> dbc.Col:
    legend = [
        html.Div(
            [html.Span(className=f"sw-dot sw-eq-{s}"), t(f"overview.state.{s}", lang), txt(v, f"eq.{s}", "sw-eq-n")],
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
                [txt(v, "eq.available"), html.Span(t("overview.available", lang), className="sw-unit")],
                className="sw-kpi",
            ),
            html.Div(txt(v, "eq.total"), className="sw-tile-caption"),
            html.Div(segments, className="sw-eq-bar"),
            html.Div(legend, className="sw-eq-legend"),
        ]
    )
