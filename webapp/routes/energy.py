"""The energy page's downloads: one table as CSV (opens in Excel with Chinese names), or every table as an
Excel workbook."""

from __future__ import annotations

import flask

from i18n import normalize_lang, t
from webapp import context as web
from webapp.live.energy import TABLES, ViewError, export_csv, export_xlsx, full_view, parse_view
from webapp.live.export import XLSX


def _view() -> tuple[dict[str, object], str]:
    args = flask.request.args
    lang = normalize_lang(args.get("lang") or web.lang())
    view = parse_view(web.plant(), args.get("medium"), args.get("period"), args.get("date"), web.now_ms())
    return view, lang


def _bad(key: str, lang: str) -> flask.Response:
    return flask.Response(t(key, lang) + "\n", status=400, mimetype="text/plain; charset=utf-8")


def _headers(resp: flask.Response, name: str) -> flask.Response:
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def energy_export_csv() -> flask.Response:
    """``GET /energy/export.csv?medium=<medium>&period=day|week|month|year&date=YYYY-MM-DD&table=<table>``
    (``top``, ``balance``, ``shifts`` or ``trend``)."""
    lang = normalize_lang(flask.request.args.get("lang") or web.lang())
    try:
        view, lang = _view()
    except ViewError as exc:
        return _bad(exc.key, lang)
    table = flask.request.args.get("table") or "top"
    if table not in TABLES:
        return _bad("energy.bad_table", lang)
    data = full_view(str(view["medium"]), str(view["kind"]), int(view["anchor"]))  # type: ignore[call-overload]
    body = export_csv(data, table, web.plant(), lang)
    resp = flask.Response(body, mimetype="text/csv; charset=utf-8")
    return _headers(resp, f"energy-{view['medium']}-{view['kind']}-{table}.csv")


def energy_export_xlsx() -> flask.Response:
    """``GET /energy/export.xlsx?medium=...&period=...&date=...``: every table, one sheet each."""
    lang = normalize_lang(flask.request.args.get("lang") or web.lang())
    try:
        view, lang = _view()
    except ViewError as exc:
        return _bad(exc.key, lang)
    data = full_view(str(view["medium"]), str(view["kind"]), int(view["anchor"]))  # type: ignore[call-overload]
    resp = flask.Response(export_xlsx(data, web.plant(), lang), mimetype=XLSX)
    return _headers(resp, f"energy-{view['medium']}-{view['kind']}.xlsx")
