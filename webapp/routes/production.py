"""The production page's downloads: each table as CSV (opens in Excel with Chinese names) or Excel."""

from __future__ import annotations

import flask

from engine.plan import HORIZONS
from engine.tables import to_csv
from i18n import normalize_lang, t
from webapp import context as web
from webapp.live.export import XLSX, Sheet, to_xlsx
from webapp.live.production import (
    PARETO_BY,
    TABLES,
    WINDOWS,
    plan_data,
    plan_table,
    production_data,
    table,
)


def _export(name: str, fmt: str) -> flask.Response:
    args = flask.request.args
    lang = normalize_lang(args.get("lang") or web.lang())
    window = args.get("window") or "day"
    by = args.get("by") or "minutes"
    if name not in TABLES:
        return flask.Response(
            t("production.bad_request", lang) + "\n", status=404, mimetype="text/plain; charset=utf-8"
        )
    horizon = args.get("horizon") or "month"
    if window not in WINDOWS or by not in PARETO_BY or horizon not in HORIZONS:
        return flask.Response(
            t("production.bad_request", lang) + "\n", status=400, mimetype="text/plain; charset=utf-8"
        )
    if name == "plan":
        head, rows = plan_table(plan_data(), horizon, web.plant(), lang)
    else:
        head, rows = table(production_data(window), name, web.plant(), lang, by=by)
    if fmt == "csv":
        resp = flask.Response(to_csv(head, rows), mimetype="text/csv; charset=utf-8")
    else:
        resp = flask.Response(to_xlsx([Sheet(name, head, rows)]), mimetype=XLSX)
    resp.headers["Content-Disposition"] = f'attachment; filename="production-{name}-{window}.{fmt}"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def production_csv(table: str) -> flask.Response:
    """``GET /production/<table>.csv?window=shift|day|7d|30d[&by=minutes|count|lost][&horizon=month]``."""
    return _export(table, "csv")


def production_xlsx(table: str) -> flask.Response:
    """``GET /production/<table>.xlsx?window=...``: the same rows as an Excel sheet."""
    return _export(table, "xlsx")
