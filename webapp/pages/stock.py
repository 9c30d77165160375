"""Materials and spare parts (``/stock``): every item with on hand, projected (on hand + ordered - reserved),
reorder level, moving-average cost and value, the ledger's newest entries, recording a receipt, issue or
adjustment, and importing a stock list (CSV or Excel, Chinese or English headers; refused whole, by line and
cell, when a row is bad). The tables and their CSV and Excel downloads are the same rows (``webapp.live.stock``).

Executives, dispatchers and administrators read it; executives see quantities and values, not who made an
entry (``Perm.NAMES``). Recording (``Perm.STOCK_ENTRY``) and importing (``Perm.STOCK_IMPORT``) are checked,
stored and audited in one transaction (``webapp.commands``). Low stock raises its alarm through the alarm engine
(``services.stock``).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from auth.policy import Perm
from engine.stock import Kind, StockError, StockFileError, fmt
from i18n import label, t
from webapp import commands
from webapp import context as web
from webapp.gate import current_user
from webapp.live.stock import (
    LEDGER_ROWS,
    entries,
    item_table,
    items,
    ledger_table,
    totals,
    unit_text,
)

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/stock", name="nav.stock", order=29, title=web.page_title("nav.stock"), nav="more")


class ids:  # noqa: N801 - a namespace of this page's component ids
    CARDS = "stock-cards"
    ITEMS = "stock-items"
    LEDGER = "stock-ledger"
    ITEM = "stock-item"
    KIND = "stock-kind"
    QTY = "stock-qty"
    COST = "stock-cost"
    REF = "stock-ref"
    RECORD = "stock-record"
    ENTRY_MSG = "stock-entry-msg"  # the entry's answer (its line in auth.policy.ACTION_OUTPUTS)
    UPLOAD = "stock-upload"
    IMPORT_MSG = "stock-import-msg"  # the import's answer (its line in auth.policy.ACTION_OUTPUTS)
    DOWNLOADS = "stock-downloads"


def _can(perm: Perm) -> bool:
    user = current_user()
    return user is not None and user.can(perm)


def _table(
    head: list[str],
    rows: list[list[str]],
    empty: str,
    text_cols: tuple[int, ...],
    low: tuple[int, str] | None = None,
    nowrap: tuple[int, ...] = (0,),
) -> Any:
    if not rows:
        return html.Div(empty, className="sw-muted py-2")
    body = []
    for r in rows:
        cells = [
            html.Td(c, className="text-nowrap" if i in nowrap else "" if i in text_cols else "text-end text-nowrap")
            for i, c in enumerate(r)
        ]
        flagged = low is not None and r[low[0]] == low[1]
        body.append(html.Tr(cells, className="sw-stock-low" if flagged else None))
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="sw-kpi-table sw-table small",
        size="sm",
        responsive=True,
    )


def _card(value: str, text: str, cid: str, warn: bool = False) -> html.Div:
    return html.Div(
        [
            html.Div(value, className="sw-kpi-v text-warning" if warn else "sw-kpi-v", id=cid),
            html.Div(text, className="sw-kpi-l"),
        ],
        className="sw-kpi-card",
    )


def _panel(title: str, body: Any, extra: str = "") -> html.Div:
    return html.Div([html.H2(title), body], className=f"sw-kpi-chart {extra}".strip())


def render(lang: str) -> dict[str, Any]:
    plant = web.plant()
    stock = items()
    tot = totals(stock)
    cur = plant.energy.currency
    cards = [
        _card(str(tot["items"]), t("stock.card.items", lang), "stock-n-items"),
        _card(fmt(tot["value"], 0), t("stock.card.value", lang, currency=cur), "stock-value"),
        _card(str(tot["low"]), t("stock.card.low", lang), "stock-n-low", warn=tot["low"] > 0),
        _card(str(tot["reorder"]), t("stock.card.reorder", lang), "stock-n-reorder"),
    ]
    head, rows = item_table(stock, lang, plant)
    item_block = _table(
        head, rows, t("stock.none", lang), text_cols=(0, 1, 2, 3, 11), low=(11, t("stock.status.low", lang))
    )
    lhead, lrows = ledger_table(entries(LEDGER_ROWS), lang, plant, names=_can(Perm.NAMES))
    text_cols = tuple(i for i, h in enumerate(lhead) if i < 3 or i >= 7)
    ledger_block = _table(lhead, lrows, t("stock.no_entries", lang), text_cols=text_cols, nowrap=(0, 1))
    options = [
        {
            "label": f"{s.code} · {label(s.name or s.name_zh, s.name_zh or None, lang)} ({unit_text(s.unit, lang)})",
            "value": s.code,
        }
        for s in stock
    ]
    return {"cards": cards, "items": item_block, "ledger": ledger_block, "options": options}


def downloads(lang: str) -> list[Any]:
    return [
        html.Span(t("stock.download", lang), className="sw-muted me-1"),
        html.Span(
            [
                t("stock.table.items", lang),
                " ",
                html.A("CSV", href=f"/stock/export.csv?table=items&lang={lang}", className="sw-dl"),
            ],
            className="sw-dl-item",
        ),
        html.Span(
            [
                t("stock.table.ledger", lang),
                " ",
                html.A("CSV", href=f"/stock/export.csv?table=ledger&lang={lang}", className="sw-dl"),
            ],
            className="sw-dl-item",
        ),
        html.Span(html.A("Excel", href=f"/stock/export.xlsx?lang={lang}", className="sw-dl"), className="sw-dl-item"),
    ]


def entry_block(lang: str, options: list[dict[str, Any]]) -> Any:
    kinds = [{"label": t(f"stock.kind.{k.value}", lang), "value": k.value} for k in Kind]
    return html.Div(
        [
            dbc.Select(id=ids.ITEM, options=options, value=options[0]["value"] if options else None, size="sm"),
            dbc.RadioItems(id=ids.KIND, options=kinds, value=Kind.ISSUE.value, inline=True, className="sw-by"),
            html.Div(
                [
                    dbc.Input(
                        id=ids.QTY,
                        type="text",
                        inputMode="decimal",
                        placeholder=t("stock.qty_placeholder", lang),
                        size="sm",
                        maxLength=20,
                    ),
                    dbc.Input(
                        id=ids.COST,
                        type="text",
                        inputMode="decimal",
                        placeholder=t("stock.cost_placeholder", lang),
                        size="sm",
                        maxLength=20,
                    ),
                    dbc.Input(
                        id=ids.REF, type="text", placeholder=t("stock.ref_placeholder", lang), size="sm", maxLength=120
                    ),
                    dbc.Button(t("stock.record", lang), id=ids.RECORD, size="sm", color="primary"),
                ],
                className="sw-stock-form",
            ),
            html.Div(id=ids.ENTRY_MSG, className="small", role="status"),
        ],
        style=None if _can(Perm.STOCK_ENTRY) else {"display": "none"},
    )


def import_block(lang: str) -> Any:
    return html.Div(
        [
            html.Div(t("stock.import_hint", lang), className="sw-muted small mb-1"),
            dcc.Upload(
                id=ids.UPLOAD,
                children=html.Div(t("stock.upload", lang)),
                accept=".csv,.txt,.xlsx",
                multiple=False,
                max_size=20 * 1024 * 1024,
                className="sw-upload",
            ),
            html.Div(id=ids.IMPORT_MSG, className="small", role="status"),
        ],
        className="sw-upload-box",
        style=None if _can(Perm.STOCK_IMPORT) else {"display": "none"},
    )


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    b = render(lang)
    acts = _can(Perm.STOCK_ENTRY) or _can(Perm.STOCK_IMPORT)
    return html.Div(
        [
            html.Div([html.H1(t("stock.title", lang), className="sw-page-title")], className="sw-al-head"),
            html.Div(b["cards"], id=ids.CARDS, className="sw-kpi-grid"),
            html.Div(
                [
                    _panel(
                        t("stock.items_title", lang),
                        html.Div(
                            [
                                html.Div(t("stock.projected_note", lang), className="sw-muted small mb-1"),
                                html.Div(b["items"], id=ids.ITEMS, className="sw-scroll"),
                            ]
                        ),
                        "sw-kpi-wide",
                    ),
                    _panel(
                        t("stock.ledger_title", lang),
                        html.Div(b["ledger"], id=ids.LEDGER, className="sw-scroll"),
                        "sw-kpi-wide",
                    ),
                    _panel(
                        t("stock.entry_title", lang) + " · " + t("stock.import_title", lang),
                        html.Div([entry_block(lang, b["options"]), html.Hr(), import_block(lang)]),
                        "sw-kpi-wide",
                    )
                    if acts
                    else html.Div([entry_block(lang, b["options"]), import_block(lang)], style={"display": "none"}),
                ],
                className="sw-kpi-charts",
            ),
            html.Div(downloads(lang), id=ids.DOWNLOADS, className="sw-downloads"),
        ],
        className="sw-stock",
    )


@callback(
    Output(ids.CARDS, "children"),
    Output(ids.ITEMS, "children"),
    Output(ids.LEDGER, "children"),
    Output(ids.ITEM, "options"),
    Input(ids.ENTRY_MSG, "children"),
    Input(ids.IMPORT_MSG, "children"),
    prevent_initial_call=True,
)
def refresh(_entry: Any, _import: Any) -> tuple[Any, ...]:
    b = render(web.lang())
    return b["cards"], b["items"], b["ledger"], b["options"]


@callback(
    Output(ids.ENTRY_MSG, "children"),
    Input(ids.RECORD, "n_clicks"),
    State(ids.ITEM, "value"),
    State(ids.KIND, "value"),
    State(ids.QTY, "value"),
    State(ids.COST, "value"),
    State(ids.REF, "value"),
    prevent_initial_call=True,
)
def record(
    n: int | None, code: str | None, kind: str | None, qty: str | None, cost: str | None, ref: str | None
) -> Any:
    """Append the entry to the ledger as the logged-in user (checked, audited), or say why it was refused."""
    if not n:
        raise PreventUpdate
    lang = web.lang()
    try:
        with commands.operator_session((Perm.STOCK_ENTRY,)) as (session, op):
            row, unit = commands.stock_entry(
                session,
                op,
                str(code or "")[:32],
                str(kind or ""),
                str(qty or "").strip(),
                unit_cost=str(cost or "").strip() if kind != Kind.ISSUE.value else None,
                reference=str(ref or "")[:120],
                now_ms=web.now_ms(),
            )
    except StockError as exc:
        return html.Span(t("stock.refused", lang, error=exc.text(lang)), className="text-danger")
    except commands.REFUSALS as exc:
        return commands.refusal_message(exc, lang, what="stock entry", refused_key="stock.refused")
    return t(
        "stock.recorded",
        lang,
        kind=t(f"stock.kind.{row.kind}", lang),
        qty=fmt(abs(row.qty_milli) / 1000),
        unit=unit_text(unit, lang) if unit else "",
        code=str(code),
        on_hand=fmt(row.on_hand_milli / 1000),
    )


@callback(
    Output(ids.IMPORT_MSG, "children"),
    Input(ids.UPLOAD, "contents"),
    State(ids.UPLOAD, "filename"),
    prevent_initial_call=True,
)
def import_list(contents: str | None, filename: str | None) -> Any:
    """Import the uploaded stock list (checked whole, audited, all or nothing), or list every bad line."""
    if not contents:
        raise PreventUpdate
    lang = web.lang()
    name = str(filename or "stock.csv")[:200]
    try:
        data = base64.b64decode(contents.split(",", 1)[1] if "," in contents else contents, validate=False)
        with commands.operator_session((Perm.STOCK_IMPORT,)) as (session, op):
            got = commands.import_stock_file(session, op, data, name, now_ms=web.now_ms())
    except StockFileError as exc:
        lines = [html.Li(p) for p in exc.lines(lang, limit=30)]
        return html.Div(
            [html.Div(t("stock.import_refused", lang, file=name)), html.Ul(lines, className="sw-stock-problems")],
            className="text-danger",
        )
    except StockError as exc:
        return html.Span(t("stock.refused", lang, error=exc.text(lang)), className="text-danger")
    except commands.REFUSALS as exc:
        return commands.refusal_message(exc, lang, what="stock import", refused_key="stock.refused")
    return t("stock.imported", lang, file=name, added=got.items_added, updated=got.items_updated, entries=got.entries)
