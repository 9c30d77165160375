"""The personnel page's download: the exposure table as CSV (opens in Excel with Chinese names)."""

from __future__ import annotations

import re

import flask

from i18n import normalize_lang, t
from store import people
from webapp import context as web
from webapp.live.personnel import WindowError, current_viewer, exposure_csv, parse_day


def personnel_exposure_csv() -> flask.Response:
    """``GET /personnel/exposure.csv?day=YYYY-MM-DD&shift=<id>|all&levels=hazard|all``."""
    args = flask.request.args
    lang = normalize_lang(args.get("lang") or web.lang())
    plant = web.plant()
    try:
        day = parse_day(args.get("day"), plant, web.now_ms())
        shift = args.get("shift") or "all"
        levels = args.get("levels") or "hazard"
        data = exposure_csv(day, shift, levels, current_viewer(), lang)
    except WindowError as exc:
        return flask.Response(t(exc.key, lang) + "\n", status=400, mimetype="text/plain; charset=utf-8")
    except people.NoViewerError:
        return flask.Response(t("login.required", lang) + "\n", status=401, mimetype="text/plain")
    except people.NotAllowedError:
        return flask.Response(t("personnel.not_allowed", lang) + "\n", status=403, mimetype="text/plain")
    safe_shift = re.sub(r"[^A-Za-z0-9_.-]", "_", shift)[:32]
    resp = flask.Response(data, mimetype="text/csv; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="exposure-{day.isoformat()}-{safe_shift}.csv"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
