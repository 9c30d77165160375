"""The overview's lists: zones at orange or red with their first reason, and limit violations."""

from __future__ import annotations

from typing import Any

from dash import html

from engine.chain import decimals
from engine.clock import format_local
from i18n import label, t
from plant.schema import Plant, RiskLevel
from webapp.live.summary import fmt_number, unit_symbol
from webapp.panels.overview.ids import ids
from webapp.panels.overview.view import View, st, txt

MAX_ZONES = 5  # below the safety tile, in the height of a 1080-line wall screen ("+N more" names the rest)
MAX_VIOLATIONS = 10


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
        return str(reason["code"])


def fill_zones(v: View, plant: Plant, snap: dict[str, Any], lang: str) -> None:
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
        _r, static, _s, name, _zone_id, level_value, reason = hot[i]
        v.status[f"zone.{i}"] = "sw-zone" if static else "sw-zone sw-zone-raised"
        v.status[f"zone.{i}.chip"] = f"sw-chip sw-chip-{level_value}"
        v.text[f"zone.{i}.chip"] = t(f"risk.level.{level_value}", lang)
        v.text[f"zone.{i}.name"] = name
        v.text[f"zone.{i}.reason"] = reason


def fill_violations(v: View, plant: Plant, snap: dict[str, Any], lang: str) -> None:
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
        v.text[f"viol.{i}.time"] = format_local(viol["ts"], tz)


def zones_list(v: View, lang: str) -> list[Any]:
    rows: list[Any] = [st(v, "zones.empty", t("overview.no_zones", lang))]
    for i in range(MAX_ZONES):
        rows.append(
            st(
                v,
                f"zone.{i}",
                [
                    html.Span(
                        txt(v, f"zone.{i}.chip"),
                        id=ids.status(f"zone.{i}.chip"),
                        className=v.status.get(f"zone.{i}.chip"),
                    ),
                    txt(v, f"zone.{i}.name", "sw-zone-name"),
                    txt(v, f"zone.{i}.reason", "sw-zone-reason"),
                ],
            )
        )
    rows.append(st(v, "zones.more", txt(v, "zones.more")))
    return rows


def violations_table(v: View, lang: str) -> list[Any]:
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
        st(
            v,
            f"viol.{i}",
            [
                html.Td(
                    txt(v, f"viol.{i}.{f}"),
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
        st(v, "viol.empty", t("overview.no_violations", lang)),
        table,
        st(v, "viol.more", txt(v, "viol.more")),
    ]
