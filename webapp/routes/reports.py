"""``GET /reports/file/<id>``: an archived report file, checked against its SHA-256, for those who may read
reports (``Perm.REPORTS``); an edition with person names only for those who may see names (``Perm.NAMES``).
Each download is audited (``report_downloaded``)."""

from __future__ import annotations

import logging

import flask

from auth.auditlog import REPORT_DOWNLOADED
from auth.policy import Perm
from i18n import normalize_lang, t
from reports.issue import EXT, MIME, file_name, read_file
from reports.period import PeriodError, parse
from store.db import session_scope
from store.reports import issue as get_issue
from webapp import context as web
from webapp.audit import audit
from webapp.gate import current_user

logger = logging.getLogger(__name__)


def _text(status: int, key: str) -> flask.Response:
    lang = normalize_lang(web.lang())
    return flask.Response(t(key, lang) + "\n", status=status, mimetype="text/plain; charset=utf-8")


def report_file(issue_id: int) -> flask.Response:
    principal = current_user()
    if principal is None or not principal.can(Perm.REPORTS):
        return _text(403, "reports.refused_file")
    with session_scope(web.engine()) as session:
        row = get_issue(session, issue_id)
        if row is None:
            return _text(404, "reports.no_file")
        if row.named and not principal.can(Perm.NAMES):
            return _text(403, "reports.refused_file")
        try:
            data = read_file(web.settings().reports_path, row)
        except FileNotFoundError:
            return _text(404, "reports.no_file")
        except (ValueError, PermissionError):
            logger.error("report %d: the archived file does not match its SHA-256; not served", issue_id)
            return _text(409, "reports.changed_file")
        try:
            name = file_name(parse(web.plant(), row.kind, row.period), row.lang, row.fmt, row.named, row.version)
        except PeriodError:
            name = f"report-{row.id}.{EXT.get(row.fmt, 'bin')}"
        fmt, period, sha = row.fmt, row.period, row.sha256
    audit(REPORT_DOWNLOADED, target=f"{period} {fmt}", detail=sha, data={"id": issue_id})
    resp = flask.Response(data, mimetype=MIME.get(fmt, "application/octet-stream"))
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
