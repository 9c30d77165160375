"""Safety (``/safety``), in tabs: the safety early-warning index (``webapp.panels.safety.index``), the plant's major
hazard sources (GB 18218-2018) and the hidden-danger register
(``webapp.panels.safety.hidden``; ``?tab=hidden`` opens it) and the special-work permits
(``webapp.panels.safety.permits``; ``?tab=permits``).

Per source: its grade and R with the inputs they come from (alpha from the people within 500 m, and per
substance q, Q, beta, beta x q / Q and the table row cited), S = sum(q / Q), its zone, its live readings against
the source's thresholds (from ``webapp.live.safety``) and its safety leads (包保). Readers that may not see who
a person is (executives, ``webapp.live.personnel.names_visible``) read the lead's role and badge id only. The
standard and the review note of the plant file head the page. The cards refresh every ``REFRESH_TICKS``
shell ticks (readings and alarms live); each card lists the source's annunciated alarms (readings over their
thresholds and intrusions into its fence) with a link to the alarm list, and opens the 3D scene on its fence
(``/scene?at=x,y``). Every text is a Dash child (a text node), never markup.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from auth.policy import Perm
from engine.hazards import NO_VALUE, OVER, UNDER, Assessment, ReadingState
from i18n import label, t
from plant import Plant
from plant.schema import HazardSource
from store.alarm_views import AlarmView
from webapp import context as web
from webapp.gate import current_user
from webapp.live.alarms import alarm_text
from webapp.live.personnel import names_visible
from webapp.live.safety import fence_centre, latest_readings, source_alarms, sources
from webapp.panels import register_panels
from webapp.panels.safety import hidden, index, permits
from webapp.shell import ids as shell_ids

dash.register_page(__name__, path="/safety", name="nav.safety", order=17, title=web.page_title("nav.safety"))

register_panels(hidden, permits, index)

REFRESH_TICKS = 3  # shell ticks (2 s) between refreshes: readings and alarms at most 6 s old


class ids:  # noqa: N801 - a namespace of this page's component ids
    CARDS = "safety-hz-cards"
    TABS = "safety-tabs"


GRADE_CLASS = {1: "sw-hz-g1", 2: "sw-hz-g2", 3: "sw-hz-g3", 4: "sw-hz-g4"}
STATE_CLASS = {OVER: "sw-hz-over", UNDER: "sw-hz-over", NO_VALUE: "sw-muted"}


def _num(v: float | None, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def _substances(a: Assessment, lang: str) -> dbc.Table:
    head = html.Thead(
        html.Tr([html.Th(t(f"safety.col.{c}", lang)) for c in ("substance", "cas", "q", "Q", "beta", "term", "basis")])
    )
    rows = [
        html.Tr(
            [
                html.Td(label(term.name, term.name_zh, lang)),
                html.Td(term.cas or "-"),
                html.Td(_num(term.q_t, 6)),
                html.Td(_num(term.critical_t, 6) if term.listed else t("safety.unlisted", lang)),
                html.Td(_num(term.beta)),
                html.Td(_num(term.weighted)),
                html.Td(term.basis, className="sw-hz-basis"),
            ]
        )
        for term in a.terms
    ]
    return dbc.Table([head, html.Tbody(rows)], size="sm", className="sw-table", responsive=True)


def _readings(states: list[ReadingState], plant: Plant, lang: str) -> html.Div | dbc.Table:
    if not states:
        return html.Div(t("safety.no_readings", lang), className="sw-muted")
    tags = {tg.id: tg for tg in plant.tags}
    head = html.Thead(
        html.Tr([html.Th(t(f"safety.col.{c}", lang)) for c in ("reading", "value", "threshold", "state")])
    )
    rows = []
    for r in states:
        tg = tags.get(r.tag)
        unit = tg.unit if tg is not None else ""
        what = label(tg.description or r.tag, tg.description_zh, lang) if tg is not None else r.tag
        limits = " / ".join(
            f"{t(k, lang)} {_num(v)} {unit}"
            for k, v in (("safety.low", r.low), ("safety.high", r.high))
            if v is not None
        )
        rows.append(
            html.Tr(
                [
                    html.Td([html.Div(what), html.Div(r.tag, className="sw-muted small")]),
                    html.Td(f"{_num(r.value)} {unit}" if r.value is not None else "-"),
                    html.Td(limits),
                    html.Td(t(f"safety.state.{r.state}", lang), className=STATE_CLASS.get(r.state, "")),
                ]
            )
        )
    return dbc.Table([head, html.Tbody(rows)], size="sm", className="sw-table", responsive=True)


def _leads(hs: HazardSource, plant: Plant, lang: str, names: bool) -> html.Ul:
    badges = {b.id: b for b in plant.badges}
    items = []
    for lead in hs.responsible:
        role = t(f"safety.lead.{lead.role.value}", lang)
        if lead.badge is not None:
            b = badges.get(lead.badge)
            who = f"{label(b.name, b.name_zh, lang)} ({lead.badge})" if names and b is not None else lead.badge
        else:
            who = lead.user if names and lead.user else t("safety.lead.user", lang)
        items.append(html.Li(f"{role}: {who}"))
    return html.Ul(items, className="sw-hz-leads")


def _replay_link(a: AlarmView, lang: str) -> Any:
    """The alarm's minutes in the incident replay, opened at its activation (for readers of the replay: executives
    too, who have no alarm list)."""
    principal = current_user()
    if principal is None or not principal.can(Perm.REPLAY):
        return None
    at = f"&at={a.activated_at}" if a.activated_at else ""
    return dcc.Link(
        t("replay.link", lang),
        href=f"/replay?alarm={quote(a.id, safe='')}{at}",
        title=t("replay.open", lang),
        className="ms-2 small sw-hz-replay",
    )


def _alarms(alarms: list[AlarmView], plant: Plant, lang: str) -> html.Div:
    if not alarms:
        return html.Div(t("safety.no_alarms", lang), className="sw-muted small")
    items = [
        html.Li(
            [
                html.Span(t(f"alarm.priority.{a.priority}", lang), className=f"badge sw-prio-{a.priority} me-2"),
                html.Span(alarm_text(a, plant, lang)),
                _replay_link(a, lang),
            ]
        )
        for a in alarms[:5]
    ]
    more = [html.Li(t("safety.more_alarms", lang, n=len(alarms) - 5), className="sw-muted")] if len(alarms) > 5 else []
    return html.Div(
        [
            html.Ul(items + more, className="sw-hz-alarms"),
            html.A(t("safety.to_alarms", lang), href="/alarms", className="small"),
        ]
    )


def _card(
    a: Assessment,
    states: list[ReadingState],
    hs: HazardSource,
    plant: Plant,
    lang: str,
    names: bool,
    alarms: list[AlarmView],
) -> dbc.Card:
    zones = {z.id: z for z in plant.zones}
    zone = zones.get(hs.zone)
    grade = t(f"safety.grade.{a.grade}", lang) if a.grade is not None else t("safety.not_major", lang)
    facts = [
        (t("safety.r", lang), _num(a.r)),
        (t("safety.s", lang), _num(a.s)),
        (t("safety.alpha", lang, people=a.people_500m), _num(a.alpha)),
        (t("safety.zone", lang), label(zone.name, zone.name_zh, lang) if zone else hs.zone),
        (t("safety.unit", lang), t(f"safety.unit.{hs.unit}", lang)),
    ]
    note = label(hs.note, hs.note_zh, lang) if hs.note else ""
    x, y = fence_centre(hs)
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span(label(hs.name, hs.name_zh, lang), className="fw-bold me-2"),
                    html.Span(grade, className=f"badge {GRADE_CLASS.get(a.grade or 0, 'sw-hz-none')}"),
                    html.Span(t("safety.alarm_count", lang, n=len(alarms)), className="badge sw-hz-alarmed ms-2")
                    if alarms
                    else None,
                    html.A(t("safety.on_map", lang), href=f"/scene?at={x:.0f},{y:.0f}", className="ms-auto small"),
                ],
                className="d-flex align-items-center flex-wrap gap-1",
            ),
            dbc.CardBody(
                [
                    html.Dl(
                        [x for k, v in facts for x in (html.Dt(k), html.Dd(v))],
                        className="sw-hz-facts",
                    ),
                    html.Div(t("safety.formula", lang), className="sw-muted small mb-2"),
                    html.Div(note, className="small mb-2") if note else None,
                    html.H6(t("safety.substances", lang)),
                    _substances(a, lang),
                    html.H6(t("safety.alarms", lang)),
                    _alarms(alarms, plant, lang),
                    html.H6(t("safety.readings", lang)),
                    _readings(states, plant, lang),
                    html.H6(t("safety.leads", lang)),
                    _leads(hs, plant, lang, names),
                ]
            ),
        ],
        className="sw-hz-card mb-3",
        id=f"hz-{hs.id}",
    )


def cards(plant: Plant, lang: str) -> list[dbc.Card]:
    """Every hazard source's card with its readings and alarms now."""
    names = names_visible()
    rows = sources(plant, latest_readings(plant))
    alarms = source_alarms(plant)
    by_id = {hs.id: hs for hs in plant.hazards.sources}
    return [_card(a, states, by_id[a.source], plant, lang, names, alarms.get(a.source, [])) for a, states in rows]


def layout(tab: str | None = None, **_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    hz = plant.hazards
    standard = label(hz.standard, hz.standard_zh, lang)
    head = [
        html.H4(t("safety.heading", lang)),
    ]
    intro = [html.Div(t("safety.standard", lang, standard=standard), className="sw-muted")]
    if hz.review:
        intro.append(html.Div(t("safety.review", lang, note=hz.review), className="sw-hz-review small mb-3"))
    if hz.sources:
        sources_tab = html.Div([*intro, html.Div(cards(plant, lang), id=ids.CARDS, className="sw-hz-grid")])
    else:
        sources_tab = html.Div([*intro, html.Div(t("safety.none", lang), className="sw-muted")])
    tabs = dbc.Tabs(
        [
            dbc.Tab(index.layout(lang), label=t("safety.tab.index", lang), tab_id="index"),
            dbc.Tab(sources_tab, label=t("safety.title", lang), tab_id="sources"),
            dbc.Tab(hidden.layout(lang), label=t("safety.tab.hidden", lang), tab_id="hidden"),
            dbc.Tab(permits.layout(lang), label=t("safety.tab.permits", lang), tab_id="permits"),
        ],
        id=ids.TABS,
        active_tab=tab if tab in ("index", "sources", "hidden", "permits") else "index",
        className="mb-3",
    )
    return html.Div([*head, tabs], className="sw-safety p-3")


@callback(Output(ids.CARDS, "children"), Input(shell_ids.TICK, "n_intervals"), prevent_initial_call=True)
def refresh(n: int | None) -> Any:
    if (n or 0) % REFRESH_TICKS or not web.plant().hazards.sources:
        raise PreventUpdate
    return cards(web.plant(), web.lang())
