"""The stock page's downloads: the items or the ledger as CSV (opens in Excel with Chinese names), or both as an
Excel workbook. Who made a ledger entry is in them only for users that may see names."""

from __future__ import annotations

import flask

from auth.policy import Perm
from engine.tables import to_csv
from i18n import normalize_lang, t
from webapp import context as web
from webapp.gate import current_user
from webapp.live.export import XLSX, Sheet, to_xlsx
from webapp.live.stock import EXPORT_ROWS, TABLES, entries, item_table, items, ledger_table


def _names() -> bool:
    user = current_user()
    return user is not None and user.can(Perm.NAMES)


def _headers(resp: flask.Response, name: str) -> flask.Response:
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _table(name: str, lang: str) -> tuple[list[str], list[list[str]]]:
    if name == "items":
        return item_table(items(), lang, web.plant())
    return ledger_table(entries(EXPORT_ROWS), lang, web.plant(), names=_names())


def stock_export_csv() -> flask.Response:
    """``GET /stock/export.csv?table=items|ledger&lang=en|zh``."""
    args = flask.request.args
    lang = normalize_lang(args.get("lang") or web.lang())
    name = args.get("table") or "items"
    if name not in TABLES:
        return flask.Response(t("stock.bad_table", lang) + "\n", status=400, mimetype="text/plain; charset=utf-8")
    head, rows = _table(name, lang)
    return _headers(flask.Response(to_csv(head, rows), mimetype="text/csv; charset=utf-8"), f"stock-{name}.csv")


def stock_export_xlsx() -> flask.Response:
    """``GET /stock/export.xlsx?lang=en|zh``: the items and the ledger, one sheet each."""
    lang = normalize_lang(flask.request.args.get("lang") or web.lang())
    sheets = []
    for name in TABLES:
        head, rows = _table(name, lang)
        sheets.append(Sheet(t(f"stock.table.{name}", lang), head, rows, first_width=14))
    return _headers(flask.Response(to_xlsx(sheets), mimetype=XLSX), "stock.xlsx")
