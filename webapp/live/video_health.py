"""The video service's models refused at its start, as the screens show them (a health warning).

The video service writes each fallback of a camera's analyser as an open ``video_model`` event
(``video.events``); :func:`model_fallbacks` reads them (shared by every screen for the snapshot period) and
:func:`fallback_text` says each in the reader's language: the camera (its name and id), the class, the
model file and why it was refused, and what runs instead. The loader's own error (``detail``, English from
OpenCV) is kept for the tooltip. Shown by the shell's health badges (every page) and listed on ``/video``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from engine.alarm_text import camera_text, plant_names
from i18n import t
from plant import Plant
from store.db import session_scope
from store.video import Scope
from store.video import model_fallbacks as read_fallbacks
from video.types import FALLBACKS, REASONS
from webapp import context as web
from webapp.live.alarms import condition_text


@web.shared(web.SNAPSHOT_SECONDS)
def _all_fallbacks() -> list[dict[str, Any]]:
    with session_scope(web.engine()) as session:
        return [asdict(f) for f in read_fallbacks(session)]


def model_fallbacks(scope: Scope | None = None) -> list[dict[str, Any]]:
    """The open fallbacks (``store.video.ModelFallback`` as dicts), those of ``scope``'s zones only."""
    rows = _all_fallbacks()
    return rows if scope is None else [r for r in rows if scope.admits(r.get("zone"))]


def fallback_text(row: dict[str, Any], plant: Plant, lang: str) -> str:
    """One fallback in ``lang``: "CAM47: the Flame model models/flame.onnx is refused (its output has the wrong
    shape); the rule detector runs instead"."""
    what = row.get("what") if row.get("what") in FALLBACKS else "site_model"
    reason = row.get("reason") if row.get("reason") in REASONS else "other"
    cls = row.get("cls")
    return t(
        f"health.video.{what}",
        lang,
        camera=camera_text(str(row.get("camera") or ""), plant_names(plant), lang),
        cls=condition_text(str(cls), lang) if cls else "-",
        path=str(row.get("path") or "-"),
        reason=t(f"health.video.reason.{reason}", lang),
    )
