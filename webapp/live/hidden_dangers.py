"""The data of the hidden-danger register for the screens: rows, figures and one danger's history, from the store,
and the plant-local time helpers the forms use. Plain data; the panels render it."""

from __future__ import annotations

from datetime import datetime

from engine.hidden_dangers import DAY_MS
from plant import Plant
from store.db import session_scope
from store.hidden_dangers import Register, history, register
from store.models import HiddenDangerLog
from webapp import context as web

WINDOW_MS = 30 * DAY_MS  # the on-time closure rate counts the closures of the last 30 days


def current(limit: int = 200) -> Register:
    now = web.now_ms()
    with session_scope(web.engine()) as session:
        reg = register(session, now, now - WINDOW_MS, limit=limit)
        session.expunge_all()
    return reg


def trail(danger_id: int) -> list[HiddenDangerLog]:
    with session_scope(web.engine()) as session:
        rows = history(session, danger_id)
        session.expunge_all()
    return rows


def local_text(plant: Plant, ms: int | None) -> str:
    """``YYYY-MM-DD HH:MM`` in the plant's zone, ``-`` for none."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=plant.tz()).strftime("%Y-%m-%d %H:%M")


def parse_local(plant: Plant, text: str | None) -> int | None:
    """A ``datetime-local`` input's value (``YYYY-MM-DDTHH:MM``, plant time) as epoch ms; None for empty;
    ``ValueError`` for anything else."""
    if not text:
        return None
    when = datetime.strptime(str(text)[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=plant.tz())
    return int(when.timestamp() * 1000)
