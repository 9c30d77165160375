"""The environment page's downloads: one table of the month as CSV (opens in Excel with Chinese names), or
every table as an Excel workbook."""

from __future__ import annotations

import flask

from i18n import normalize_lang, t
from webapp import context as web
from webapp.live.environment import TABLES, ViewError, export_csv, export_xlsx, month_data, parse_day
from webapp.live.export import XLSX


def _bad(key: str, lang: str) -> flask.Response:
    return flask.Response(t(key, lang) + "\n", status=400, mimetype="text/plain; charset=utf-8")


def _headers(resp: flask.Response, name: str) -> flask.Response:
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def environment_export_csv() -> flask.Response:
    """``GET /environment/export.csv?date=YYYY-MM-DD&table=hours|days|exceedances|mass``: the month of the date."""
    args = flask.request.args
    lang = normalize_lang(args.get("lang") or web.lang())
    try:
        day = parse_day(web.plant(), args.get("date"), web.now_ms())
    except ViewError as exc:
        return _bad(exc.key, lang)
    table = args.get("table") or "hours"
    if table not in TABLES:
        return _bad("env.bad_table", lang)
    body = export_csv(month_data(day), table, web.plant(), lang)
    return _headers(flask.Response(body, mimetype="text/csv; charset=utf-8"), f"emissions-{day:%Y-%m}-{table}.csv")


def environment_export_xlsx() -> flask.Response:
    """``GET /environment/export.xlsx?date=YYYY-MM-DD``: every table of the month, one sheet each."""
    args = flask.request.args
    lang = normalize_lang(args.get("lang") or web.lang())
    try:
        day = parse_day(web.plant(), args.get("date"), web.now_ms())
    except ViewError as exc:
        return _bad(exc.key, lang)
    resp = flask.Response(export_xlsx(month_data(day), web.plant(), lang), mimetype=XLSX)
    return _headers(resp, f"emissions-{day:%Y-%m}.xlsx")
