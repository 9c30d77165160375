"""The web app: ``create_app()`` builds the Dash app; ``python -m webapp`` serves it.

``webapp.wsgi`` is the application gunicorn serves (``webapp.gunicorn_conf``). Pages live in ``webapp/pages/``
(``dash.register_page``), the shell and its callbacks in ``webapp/shell/``, live data builders in
``webapp/live/``, every Flask route in the table of ``webapp/routes/``. Every script and style is served by
this server: no CDN, no internet map tiles.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import flask

from settings import Settings, get_settings
from webapp.compress import install as install_gzip
from webapp.context import init_web
from webapp.gate import install as install_auth
from webapp.metrics import install as install_metrics
from webapp.routes import register_routes
from webapp.shell import banner_callbacks as alarm_callbacks
from webapp.shell import callbacks as shell_callbacks
from webapp.shell.layout import shell_layout

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent

INDEX = """<!DOCTYPE html>
<html lang="en" data-bs-theme="dark">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = settings or get_settings()
    server = flask.Flask(__name__)
    app = dash.Dash(
        "webapp",  # page modules are then webapp.pages.<name>, as imported elsewhere
        server=server,  # type: ignore[arg-type]  # Dash's annotation omits the Flask server its docs describe
        use_pages=True,
        pages_folder=str(ROOT / "webapp" / "pages"),
        assets_folder=str(ROOT / "assets"),
        serve_locally=True,
        external_stylesheets=[],
        external_scripts=[],
        suppress_callback_exceptions=True,
        update_title="",  # the tab's title stays while a callback runs
        title="SmeltWatch",
        index_string=INDEX,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    init_web(server, settings)
    install_metrics(server)  # request latency by route and callback (/metrics)
    register_routes(server, settings)
    install_gzip(server)  # gzip for scripts, styles and JSON: a phone's first load stays under 1 MB

    shell_callbacks.register(app)
    alarm_callbacks.register(app)  # the alarm banner on every page
    app.layout = shell_layout
    install_auth(app)  # the check of every request (auth.policy)
    return app


def main() -> None:
    """Flask's development server in this process (``python -m webapp --dev``): for debugging only; production
    and the demo serve ``webapp.wsgi`` with gunicorn (``python -m webapp``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    app = create_app(settings)
    logger.info("command center on http://%s:%d/ (development server)", settings.web_host, settings.web_port)
    app.run(host=settings.web_host, port=settings.web_port, debug=False, threaded=True)


if __name__ == "__main__":
    main()
