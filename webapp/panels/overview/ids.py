"""The component ids of the overview, for the page and its panels."""

from __future__ import annotations


class ids:  # noqa: N801 - a namespace of this page's component ids
    SOURCES = "overview-sources"
    VIOLATIONS = "overview-violations"
    VIOLATION_COUNT = "overview-violation-count"
    SCENE = "overview-scene"  # the compact 3D view's card body
    SCENE_DECK = "overview-scene-deck"
    SCENE_STATIC = "overview-scene-static"
    SCENE_LIVE = "overview-scene-live"
    SCENE_LAYERS = "overview-scene-layers"
    SCENE_SELECTED = "overview-scene-selected"
    SCENE_RENDERED = "overview-scene-rendered"
    SENT = "overview-sent"  # digests of the groups and blocks and the sparkline version the browser shows
    DELTA = "overview-delta"  # the groups that changed, applied in the browser
    TEXT = "overview-text"
    STATUS = "overview-status"
    BAR = "overview-bar"
    SPARK = "overview-spark"

    @staticmethod
    def text(key: str) -> dict[str, str]:
        return {"type": ids.TEXT, "key": key}

    @staticmethod
    def status(key: str) -> dict[str, str]:
        return {"type": ids.STATUS, "key": key}

    @staticmethod
    def bar(key: str) -> dict[str, str]:
        return {"type": ids.BAR, "key": key}

    @staticmethod
    def spark(key: str) -> dict[str, str]:
        return {"type": ids.SPARK, "key": key}
