"""The login page and the "not for your role" page: plain HTML from the server, no script at all.

They use the app's own style sheets (public files of ``assets/``) in the dark theme, large touch targets
for phones, and Jinja's escaping for every value (names from the plant file, what the user typed).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import flask
import markupsafe

from auth.policy import Principal
from i18n import label, t
from webapp import context as web

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"

_BASE = """<!DOCTYPE html>
<html lang="{{ html_lang }}" data-bs-theme="dark">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{{ title }}</title>
{% for href in css %}<link rel="stylesheet" href="{{ href }}">
{% endfor %}</head>
<body class="sw-auth-body">
<main class="sw-auth">
<div class="sw-auth-card">
<div class="sw-auth-head"><span class="sw-brand">{{ brand }}</span><span class="sw-site">{{ site }}</span></div>
<h1 class="sw-auth-title">{{ heading }}</h1>
{% if message %}<div class="alert alert-{{ level }} sw-auth-msg" role="alert">{{ message }}</div>{% endif %}
{{ body }}
<div class="sw-auth-foot"><a href="{{ lang_href }}" lang="{{ other_lang }}">{{ lang_label }}</a></div>
</div>
</main>
</body>
</html>
"""

_LOGIN = """<form method="post" action="/login" class="sw-auth-form" autocomplete="on">
{% if next %}<input type="hidden" name="next" value="{{ next }}">{% endif %}
<label class="form-label" for="sw-login-user">{{ user_label }}</label>
<input class="form-control form-control-lg" id="sw-login-user" name="username" value="{{ username }}"
 autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="64" required
 {% if not username %}autofocus{% endif %}>
<label class="form-label" for="sw-login-password">{{ password_label }}</label>
<input class="form-control form-control-lg" id="sw-login-password" name="password" type="password"
 autocomplete="current-password" maxlength="256" required {% if username %}autofocus{% endif %}>
<button class="btn btn-primary btn-lg w-100 sw-auth-submit" id="sw-login-submit" type="submit">{{ submit }}</button>
</form>"""

_FORBIDDEN = """<p class="sw-auth-text">{{ who }}</p>
<div class="sw-auth-actions">
{% if home %}<a class="btn btn-primary btn-lg w-100" id="sw-forbidden-home"
 href="{{ home }}">{{ home_label }}</a>{% endif %}
<form method="post" action="/logout"><button class="btn btn-outline-light btn-lg w-100" id="sw-forbidden-logout"
 type="submit">{{ logout_label }}</button></form>
</div>"""

_NOTES = {
    "failed": ("login.failed", "danger"),
    "locked": ("login.locked", "danger"),
    "rate_limited": ("login.rate_limited", "danger"),
    "expired": ("login.expired", "warning"),
    "bye": ("login.bye", "info"),
}


def _css() -> list[str]:
    """The app's bootstrap and base style sheets and the auth styles, as Dash serves them."""
    wanted = sorted(p.name for p in ASSETS.glob("*.css") if "bootstrap" in p.name)
    wanted += [name for name in ("10_style.css", "15_auth.css") if (ASSETS / name).exists()]
    return [f"/assets/{name}" for name in wanted]


def _site(lang: str) -> str:
    try:
        plant = web.plant()
        return label(plant.site.name, plant.site.name_zh, lang)
    except Exception:  # a broken plant file must not take the login page down
        logger.exception("login page: no plant name")
        return ""


def _render(heading: str, body: str, *, message: str = "", level: str = "info", lang_next: str | None = None) -> str:

    lang = web.lang()
    other = "en" if lang == "zh" else "zh"
    lang_href = f"/login?lang={other}" + (f"&next={quote(lang_next, safe='/')}" if lang_next else "")
    return flask.render_template_string(
        _BASE,
        html_lang="zh-CN" if lang == "zh" else "en",
        title=f"{heading} · {t('app.brand', lang)}",
        css=_css(),
        brand=t("app.brand", lang),
        site=_site(lang),
        heading=heading,
        message=message,
        level=level,
        body=body,
        lang_href=lang_href,
        other_lang=other,
        lang_label=t("nav.language", lang),
    )


def login_page(
    target: str | None,
    *,
    note: str | None = None,
    username: str = "",
    status: int = 200,
    minutes: int = 0,
) -> flask.Response:

    lang = web.lang()
    key, level = _NOTES.get(note or "", ("", "info"))
    form = flask.render_template_string(
        _LOGIN,
        next=target or "",
        username=username,
        user_label=t("login.username", lang),
        password_label=t("login.password", lang),
        submit=t("login.submit", lang),
    )
    html = _render(
        t("login.title", lang),
        markupsafe.Markup(form),
        message=t(key, lang, minutes=minutes) if key else "",
        level=level,
        lang_next=target,
    )
    return flask.Response(html, status=status, mimetype="text/html")


def forbidden_page(principal: Principal, home: str | None) -> flask.Response:

    lang = web.lang()
    body = flask.render_template_string(
        _FORBIDDEN,
        who=t("forbidden.who", lang, user=principal.name, role=t(f"role.{principal.role.value}", lang)),
        home=home,
        home_label=t("forbidden.home", lang),
        logout_label=t("nav.logout", lang),
    )
    html = _render(
        t("forbidden.title", lang),
        markupsafe.Markup(body),
        message=t("forbidden.text", lang) if home else t("forbidden.no_page", lang),
        level="warning",
    )
    return flask.Response(html, status=403, mimetype="text/html")
