"""The WSGI application for a production server: ``gunicorn -c python:webapp.gunicorn_conf`` loads
``webapp.wsgi:application`` in each worker (``python -m webapp`` starts exactly that)."""

from __future__ import annotations

import logging

from webapp.app import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

application = create_app().server
