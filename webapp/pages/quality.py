"""Quality (``/production/quality``), the production page's quality view: an SPC chart per lab assay
(individuals and moving range, ``engine.spc`` over ``store.spc``), the Nelson rules to apply, the baseline
the limits are frozen from, the excluded results with their reasons, Cpk and Ppk against the assay's
specification with 95 % confidence intervals, and a warning when the results are autocorrelated.

Read only: choosing an assay, the rules, the window and the baseline changes the view, not the store.
Executives see it too (no person names: an exclusion shows its reason, not who made it).
"""

from __future__ import annotations

import base64
import logging
import math
from typing import Any

import dash
import dash_bootstrap_components as dbc
import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from plotly.subplots import make_subplots

from auth.policy import Perm
from engine.clock import DATE_MINUTE, format_local
from engine.spc import ALL_RULES, XBAR_R, Chart, chart_capability
from i18n import label, t
from plant.schema import Plant, Tag
from store.db import session_scope
from store.spc import ALARM_RULES, CHART_KINDS, DAY_MS, LabImportError, assay_chart, assay_tags
from store.tags import tag_ids
from webapp import commands
from webapp import context as web
from webapp.gate import current_user

logger = logging.getLogger(__name__)

# not in the navbar (the production page links to it): ten links and the user's block must fit one line on a wall
dash.register_page(
    __name__,
    path="/production/quality",
    name="nav.quality",
    order=16,
    title=web.page_title("nav.quality"),
    nav=False,
)

WINDOWS_DAYS = (7, 30, 90)
BASELINES = ("first10", "first5", "all")
GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True}
POINT, LIMIT, CENTRE, FLAG, EXCLUDED = "#58a6ff", "#ff7b72", "#8b949e", "#ff4d4f", "#8b949e"


class ids:  # noqa: N801 - a namespace of this page's component ids
    ASSAY = "quality-assay"
    RULES = "quality-rules"
    WINDOW = "quality-window"
    BASELINE = "quality-baseline"
    CHART = "quality-chart"
    FIGURES = "quality-figures"
    WARN = "quality-warn"
    EXCLUDED = "quality-excluded"
    PICKED = "quality-picked"  # the result clicked on the chart: {"tag", "ts", "text"}
    PICKED_TEXT = "quality-picked-text"
    REASON = "quality-reason"
    EXCLUDE = "quality-exclude"
    INCLUDE = "quality-include"
    MSG = "quality-exclude-msg"  # the action's answer (its line in auth.policy.ACTION_OUTPUTS)
    KIND = "quality-kind"  # individuals and moving range, or X-bar and R of the plant days' results
    LAB_UPLOAD = "quality-lab-upload"
    LAB_MSG = "quality-lab-msg"  # the lab import's answer (its line in auth.policy.ACTION_OUTPUTS)


def _name(tag: Tag, lang: str) -> str:
    return label(tag.description, tag.description_zh, lang)


def _fixed(v: float, sigma: float) -> str:
    """A figure to one decimal beyond the sigma's first significant digit (0.656, 62.05, 99.99503)."""
    places = max(0, math.ceil(-math.log10(sigma)) + 1) if sigma > 0 else 3
    return f"{v:.{min(places, 7)}f}"


def _spec(low: float | None, high: float | None, unit: str) -> str:
    if low is None:
        return f"≤ {high:g} {unit}".strip()
    if high is None:
        return f"≥ {low:g} {unit}".strip()
    return f"{low:g} – {high:g} {unit}".strip()


def figure(chart: Chart | None, tag: Tag, plant: Plant, lang: str) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06)
    if chart is not None:
        tz = plant.tz()
        when = [format_local(int(x), tz, DATE_MINUTE) for x in chart.ts]
        lim = chart.limits
        flagged = chart.flagged()
        fig.add_trace(
            go.Scatter(
                x=when,
                y=chart.values,
                customdata=[int(x) for x in chart.ts],
                mode="lines+markers",
                line={"color": POINT, "width": 1.5},
            ),
            row=1,
            col=1,
        )
        for y, color, dash_ in ((lim.ucl, LIMIT, "dash"), (lim.centre, CENTRE, "solid"), (lim.lcl, LIMIT, "dash")):
            fig.add_hline(y=y, line={"color": color, "dash": dash_, "width": 1}, row=1, col=1)
        if flagged:
            idx = sorted(flagged)
            texts = [t("quality.rules_broken", lang, rules=", ".join(str(r) for r in flagged[i])) for i in idx]
            fig.add_trace(
                go.Scatter(
                    x=[when[i] for i in idx],
                    y=[chart.values[i] for i in idx],
                    customdata=[int(chart.ts[i]) for i in idx],
                    mode="markers",
                    marker={"color": FLAG, "size": 10},
                    text=texts,
                    hovertemplate="%{x}<br>%{y}<br>%{text}<extra></extra>",
                ),
                row=1,
                col=1,
            )
        if chart.excluded:
            idx = sorted(chart.excluded)
            fig.add_trace(
                go.Scatter(
                    x=[when[i] for i in idx],
                    y=[chart.values[i] for i in idx],
                    customdata=[int(chart.ts[i]) for i in idx],
                    mode="markers",
                    marker={"color": EXCLUDED, "size": 11, "symbol": "x"},
                    text=[chart.excluded[i] for i in idx],
                    hovertemplate="%{x}<br>%{y}<br>%{text}<extra></extra>",
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(x=when, y=chart.spread, mode="lines+markers", line={"color": POINT, "width": 1}), row=2, col=1
        )
        fig.add_hline(y=lim.spread_ucl, line={"color": LIMIT, "dash": "dash", "width": 1}, row=2, col=1)
        fig.add_hline(y=lim.spread_centre, line={"color": CENTRE, "width": 1}, row=2, col=1)
        # the limits inside the plot, whatever the results
        low, high = min(lim.lcl, float(chart.values.min())), max(lim.ucl, float(chart.values.max()))
        pad = (high - low) * 0.06 or 1.0
        fig.update_yaxes(range=[low - pad, high + pad], row=1, col=1)
        top = max(lim.spread_ucl, float(np.nanmax(chart.spread)) if np.isfinite(chart.spread).any() else 0.0)
        fig.update_yaxes(range=[0, top * 1.08 or 1.0], row=2, col=1)
    unit = tag.unit
    xbar = chart is not None and chart.kind == XBAR_R
    top_title = t("quality.subgroup_mean" if xbar else "quality.individuals", lang)
    fig.update_yaxes(title_text=f"{top_title} ({unit})" if unit else top_title, row=1, col=1)
    fig.update_yaxes(title_text=t("quality.range" if xbar else "quality.moving_range", lang), row=2, col=1)
    fig.update_layout(
        template="plotly_dark",
        height=520,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 13, "color": "#e6edf3", "family": "system-ui, 'Noto Sans CJK SC', sans-serif"},
        margin={"l": 56, "r": 16, "t": 8, "b": 40},
        showlegend=False,
    )
    fig.update_xaxes(gridcolor="#222a35", zeroline=False, nticks=8)
    fig.update_yaxes(gridcolor="#222a35", zeroline=False)
    return fig


def _card(value: str, text: str, cid: str | None = None) -> html.Div:
    v = html.Div(value, className="sw-kpi-v", id=cid) if cid else html.Div(value, className="sw-kpi-v")
    return html.Div([v, html.Div(text, className="sw-kpi-l")], className="sw-kpi-card")


def view(
    tag_id: str | None,
    rules: list[int] | None,
    days: int | str | None,
    baseline: str | None,
    kind: str | None = "imr",
) -> dict[str, Any]:
    """The chart, the figures, the warning and the exclusions of one assay as chosen."""
    kind = kind if kind in CHART_KINDS else "imr"
    days = int(days) if isinstance(days, int | str) and str(days).isdigit() else 30
    lang = web.lang()
    plant = web.plant()
    tags = {t_.id: t_ for t_ in assay_tags(plant)}
    if not tags:
        return {"figure": go.Figure(), "figures": [], "warn": t("quality.no_assays", lang), "excluded": []}
    tag = tags.get(tag_id or "") or next(iter(tags.values()))
    chosen = tuple(sorted({int(r) for r in (rules or []) if int(r) in ALL_RULES}))
    days = days if days in WINDOWS_DAYS else 30
    now = web.now_ms()
    t0, t1 = now - days * DAY_MS, now + 1
    with session_scope(web.engine()) as session:
        tid = tag_ids(session).get(tag.id)
        base = (t0, t1) if baseline == "all" else None
        first_days = 5 if baseline == "first5" else 10
        ac = (
            assay_chart(session, tag, tid, t0, t1, base, chosen, first_days, kind=kind, tz=plant.tz())
            if tid is not None
            else None
        )
    chart = ac.chart if ac is not None else None
    figures: list[html.Div] = []
    warn: list[Any] = []
    excluded: list[Any] = []
    if chart is None:
        warn.append(t("quality.too_few", lang, n=ac.count if ac is not None else 0))
    else:
        lim = chart.limits
        low, high = tag.spec or (None, None)
        raw = ac.raw.tolist() if ac is not None and ac.raw is not None else None
        cap = chart_capability(chart, lsl=low, usl=high, raw=raw) if tag.spec else None
        n_flagged = len(chart.flagged())
        count = (
            _card(f"{len(chart.values)} × {ac.subgroup}", t("quality.subgroups", lang), "quality-subgroups")
            if kind == "xbar_r" and ac is not None
            else _card(str(len(chart.values)), t("quality.results", lang))
        )
        figures = [
            count,
            _card(_fixed(lim.centre, lim.sigma), t("quality.centre", lang)),
            _card(f"{_fixed(lim.lcl, lim.sigma)} – {_fixed(lim.ucl, lim.sigma)}", t("quality.limits", lang)),
            _card(str(n_flagged), t("quality.out_of_control", lang), "quality-flagged"),
        ]
        for name, c in zip(("Cpk", "Ppk"), cap or (None, None), strict=True):
            if c is None:
                figures.append(_card("–", name))
            else:
                ci = t("quality.ci", lang, low=f"{c.low:.2f}", high=f"{c.high:.2f}")
                figures.append(_card(f"{c.index:.2f}", f"{name} · {ci}", f"quality-{name.lower()}"))
        figures.append(_card(_spec(low, high, tag.unit), t("quality.spec_label", lang)))
        ac1 = chart.autocorrelation
        if ac1 is not None and ac1.significant:
            warn.append(t("quality.autocorrelated", lang, r1=f"{ac1.r1:.2f}", bound=f"{ac1.bound:.2f}"))
        if kind == "xbar_r" and ac is not None and ac.left_out:
            warn.append(t("quality.left_out", lang, n=ac.left_out, size=ac.subgroup))
        tz = plant.tz()
        excluded = [
            html.Li(f"{format_local(int(chart.ts[i]), tz, DATE_MINUTE)} · {float(chart.values[i]):g} · {reason}")
            for i, reason in sorted(chart.excluded.items())
        ] or [html.Li(t("quality.none_excluded", lang), className="sw-muted")]
    return {"figure": figure(chart, tag, plant, lang), "figures": figures, "warn": warn, "excluded": excluded}


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    tags = assay_tags(plant)
    first = tags[0].id if tags else None
    rules = list(ALARM_RULES)
    v = view(first, rules, 30, "first10")
    rule_options = [{"label": t(f"quality.rule.{r}", lang), "value": r} for r in ALL_RULES]
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("nav.quality", lang), className="sw-page-title"),
                    dcc.Link(t("nav.production", lang), href="/production", className="sw-muted"),
                ],
                className="sw-page-head",
            ),
            html.Div(
                [
                    dbc.Select(
                        id=ids.ASSAY,
                        options=[{"label": _name(x, lang), "value": x.id} for x in tags],
                        value=first,
                        size="sm",
                    ),
                    dbc.Select(
                        id=ids.WINDOW,
                        options=[{"label": t("quality.window", lang, n=d), "value": str(d)} for d in WINDOWS_DAYS],
                        value="30",
                        size="sm",
                    ),
                    dbc.Select(
                        id=ids.KIND,
                        options=[{"label": t(f"quality.kind.{k}", lang), "value": k} for k in CHART_KINDS],
                        value="imr",
                        size="sm",
                    ),
                    dbc.Select(
                        id=ids.BASELINE,
                        options=[{"label": t(f"quality.baseline.{b}", lang), "value": b} for b in BASELINES],
                        value="first10",
                        size="sm",
                    ),
                ],
                className="sw-controls",
            ),
            html.Div(v["warn"], id=ids.WARN, className="text-warning", role="status"),
            html.Div(v["figures"], id=ids.FIGURES, className="sw-kpi-grid"),
            dcc.Graph(id=ids.CHART, figure=v["figure"], config=GRAPH_CONFIG),
            html.Details(
                [
                    html.Summary(t("quality.rules_title", lang)),
                    dcc.Checklist(id=ids.RULES, options=rule_options, value=rules, className="sw-rules"),
                ],
                open=True,
            ),
            html.Div(
                [
                    html.Div(t("quality.pick_hint", lang), id=ids.PICKED_TEXT, className="sw-muted small"),
                    dbc.Input(id=ids.REASON, placeholder=t("quality.reason", lang), maxLength=200, size="sm"),
                    dbc.Button(t("quality.exclude", lang), id=ids.EXCLUDE, size="sm", color="secondary"),
                    dbc.Button(t("quality.include", lang), id=ids.INCLUDE, size="sm", color="secondary", outline=True),
                    html.Div(id=ids.MSG, className="small", role="status"),
                ],
                className="sw-exclude-box",
                style=None if _can_exclude() else {"display": "none"},
            ),
            dcc.Store(id=ids.PICKED),
            html.H3(t("quality.excluded_title", lang), className="h6 mt-2"),
            html.Ul(v["excluded"], id=ids.EXCLUDED, className="small"),
            html.Div(
                [
                    dcc.Upload(
                        id=ids.LAB_UPLOAD,
                        children=html.Div(t("quality.lab_upload", lang)),
                        accept=".csv,.txt",
                        multiple=False,
                        max_size=10 * 1024 * 1024,
                        className="sw-upload",
                    ),
                    html.Div(id=ids.LAB_MSG, className="small", role="status"),
                ],
                className="sw-upload-box mt-2",
                style=None if _can(Perm.LAB) else {"display": "none"},
            ),
        ],
        className="sw-quality",
    )


@callback(
    Output(ids.CHART, "figure"),
    Output(ids.FIGURES, "children"),
    Output(ids.WARN, "children"),
    Output(ids.EXCLUDED, "children"),
    Input(ids.ASSAY, "value"),
    Input(ids.RULES, "value"),
    Input(ids.WINDOW, "value"),
    Input(ids.BASELINE, "value"),
    Input(ids.MSG, "children"),
    Input(ids.KIND, "value"),
    Input(ids.LAB_MSG, "children"),
    prevent_initial_call=True,
)
def refresh(
    tag_id: str | None,
    rules: list[int] | None,
    days: str | None,
    baseline: str | None,
    _msg: Any = None,
    kind: str | None = "imr",
    _lab: Any = None,
) -> tuple[Any, ...]:
    v = view(tag_id, rules, days, baseline, kind)
    return v["figure"], v["figures"], v["warn"], v["excluded"]


def _can(perm: Perm) -> bool:
    user = current_user()
    return user is not None and user.can(perm)


def _can_exclude() -> bool:
    return _can(Perm.SPC_EXCLUDE)


@callback(
    Output(ids.PICKED, "data"),
    Output(ids.PICKED_TEXT, "children"),
    Input(ids.CHART, "clickData"),
    State(ids.ASSAY, "value"),
    State(ids.KIND, "value"),
    prevent_initial_call=True,
)
def pick(click: dict[str, Any] | None, tag_id: str | None, kind: str | None = "imr") -> tuple[Any, Any]:
    """The result clicked on the chart, for the exclusion box (a single result: not on an X-bar chart)."""
    points = (click or {}).get("points") or []
    if kind == "xbar_r":
        return None, t("quality.pick_imr", web.lang())
    if not points or points[0].get("customdata") is None or not tag_id:
        raise PreventUpdate
    p = points[0]
    text = t("quality.picked", web.lang(), when=str(p.get("x", ""))[:20], value=str(p.get("y", ""))[:20])
    return {"tag": str(tag_id)[:64], "ts": int(p["customdata"]), "text": text}, text


@callback(
    Output(ids.MSG, "children"),
    Input(ids.EXCLUDE, "n_clicks"),
    Input(ids.INCLUDE, "n_clicks"),
    State(ids.PICKED, "data"),
    State(ids.REASON, "value"),
    prevent_initial_call=True,
)
def exclude_result(_ex: int | None, _in: int | None, picked: dict[str, Any] | None, reason: str | None) -> str:
    """Exclude the picked result with the reason given, or take it back (checked, audited)."""
    lang = web.lang()
    if not picked or "ts" not in picked:
        raise PreventUpdate
    back = dash.ctx.triggered_id == ids.INCLUDE
    if not back and not (reason or "").strip():
        return t("quality.need_reason", lang)
    try:
        with commands.operator_session((Perm.SPC_EXCLUDE,)) as (session, op):
            commands.spc_exclusion(
                session,
                op,
                str(picked.get("tag", "")),
                int(picked["ts"]),
                None if back else str(reason),
                now_ms=web.now_ms(),
                plant=web.plant(),
            )
    except commands.REFUSALS as exc:
        return commands.refusal_message(exc, lang, what="spc exclusion", refused_key="quality.refused")
    except (ValueError, TypeError) as exc:
        return t("quality.refused", lang, error=str(exc)[:200])
    key = "quality.included_ok" if back else "quality.excluded_ok"
    return t(key, lang, when=str(picked.get("text", "")))


@callback(
    Output(ids.LAB_MSG, "children"),
    Input(ids.LAB_UPLOAD, "contents"),
    State(ids.LAB_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def import_lab(contents: str | None, filename: str | None) -> Any:
    """Import the uploaded lab CSV as assay results (checked, audited, all or nothing), or list why not."""
    if not contents:
        raise PreventUpdate
    lang = web.lang()
    name = str(filename or "lab.csv")[:200]
    try:
        data = base64.b64decode(contents.split(",", 1)[1] if "," in contents else contents, validate=False)
        with commands.operator_session((Perm.LAB,)) as (session, op):
            n = commands.import_lab_file(session, op, data, name, plant=web.plant())
    except LabImportError as exc:
        items = [html.Li(p) for p in exc.errors[:30]]
        return html.Div([html.Div(t("quality.lab_refused", lang, file=name)), html.Ul(items)], className="text-danger")
    except commands.REFUSALS as exc:
        return commands.refusal_message(exc, lang, what="lab import", refused_key="quality.refused")
    return t("quality.lab_imported", lang, n=n, file=name)
