"""The events stage on a real SQLite file: triggers -> ``video`` event rows in the contract's format, media
flags, last-seen times, events a previous run left open closed at start-up, and the alarm service turning a
row into the alarm ``video:<event id>`` with its camera, zone and class."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from engine.alarm_text import alarm_text, plant_names
from plant.loader import load_plant
from plant.schema import Plant, VideoClass
from services.alarms import AlarmService
from store.db import make_engine, migrate, session_scope
from store.events import add_event
from store.models import Alarm, AlarmJournal, Event
from store.tags import sync_tags
from tests.videoutil import plant_with_cameras
from video.events import KIND, VideoEvents, video_event
from video.types import CLASS_SEVERITY, Detection, Trigger

T0 = 1_767_225_600_000
S = 1000


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Engine]:
    migrate(sqlite_url)
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    return load_plant(plant_with_cameras(tmp_path))


def start(
    cls: VideoClass, ts: int, confidence: float = 0.91, box: tuple[int, int, int, int] = (10, 20, 30, 40)
) -> Trigger:
    return Trigger("start", cls, ts, Detection(cls, confidence, box))


def event(db: Engine, event_id: int) -> Event:
    with session_scope(db) as s:
        ev = s.get(Event, event_id)
        assert ev is not None
        return ev


def test_a_trigger_becomes_an_event_row(db: Engine, plant: Plant) -> None:
    cam = next(c for c in plant.cameras if c.id == "CAM-A")
    events = VideoEvents(db)
    eid = events.open(cam, start(VideoClass.FLAME, T0, 0.87654, (100, 200, 50, 60)), (1280, 720))
    ev = event(db, eid)
    assert (ev.kind, ev.source, ev.zone, ev.severity, ev.ts_start, ev.ts_end) == (
        "video",
        "CAM-A",
        "smelter-hall",
        CLASS_SEVERITY[VideoClass.FLAME],
        T0,
        None,
    )
    assert ev.message == ""  # no stored sentence: the text is built when shown (engine.alarm_text)
    assert ev.data == {
        "camera": "CAM-A",
        "class": "flame",
        "confidence": 0.877,
        "box": [100, 200, 50, 60],
        "frame": [1280, 720],
        "media": {"snapshot": False, "thumb": False, "clip": False},
        "seen_ms": T0,
    }
    with pytest.raises(ValueError):
        events.open(cam, Trigger("end", VideoClass.FLAME, T0), (1280, 720))

    assert events.set_media(eid, {"snapshot": True, "thumb": True})
    assert events.seen(eid, T0 + 15 * S)
    assert events.set_media(eid, {"clip": True})
    ev = event(db, eid)
    assert ev.data["media"] == {"snapshot": True, "thumb": True, "clip": True}
    assert ev.data["seen_ms"] == T0 + 15 * S and ev.data["class"] == "flame"
    with pytest.raises(ValueError):
        events.set_media(eid, {"../etc": True})
    assert not events.set_media(999_999, {"clip": True})

    assert events.close(eid, T0 + 20 * S)
    assert not events.close(eid, T0 + 30 * S)  # closed once
    ev = event(db, eid)
    assert ev.ts_end == T0 + 20 * S and ev.data["seen_ms"] == T0 + 20 * S
    assert events.media_gone([eid, 12345]) == 1
    assert event(db, eid).data["media"] == {"snapshot": False, "thumb": False, "clip": False}

    got = video_event(db, eid)
    assert got is not None and got.zone == "smelter-hall"
    with session_scope(db) as s:
        other = add_event(s, "violation", "sos", T0, zone="smelter-hall")
    assert video_event(db, other) is None and video_event(db, 424242) is None


def test_events_left_open_are_closed_at_their_last_known_time(db: Engine, plant: Plant) -> None:
    cams = {c.id: c for c in plant.cameras}
    first = VideoEvents(db)
    a = first.open(cams["CAM-A"], start(VideoClass.SMOKE, T0), (640, 360))
    b = first.open(cams["CAM-B"], start(VideoClass.INTRUSION, T0 + S), (640, 360))
    c = first.open(cams["CAM-C"], start(VideoClass.SPILL, T0 + 2 * S), (640, 360))
    first.seen(a, T0 + 45 * S)
    first.close(c, T0 + 10 * S)
    with session_scope(db) as s:
        violation = add_event(s, "violation", "sos", T0, badge="P001")
    # the service died here; the next run closes what it left open
    again = VideoEvents(db)
    assert again.close_left_open(["CAM-B"]) == [b]
    assert again.close_left_open() == [a]
    assert again.close_left_open() == []
    assert (event(db, a).ts_end, event(db, b).ts_end, event(db, c).ts_end) == (T0 + 45 * S, T0 + S, T0 + 10 * S)
    assert event(db, violation).ts_end is None  # other kinds are not the video service's


def test_the_alarm_service_turns_a_video_event_into_an_alarm(db: Engine, plant: Plant) -> None:
    with session_scope(db) as s:
        sync_tags(s, plant)
    alarms = AlarmService(plant, db)
    alarms.step(T0)
    cams = {c.id: c for c in plant.cameras}
    events = VideoEvents(db)
    flame = events.open(cams["CAM-A"], start(VideoClass.FLAME, T0 + S), (1280, 720))
    hardhat = events.open(cams["CAM-C"], start(VideoClass.NO_HARDHAT, T0 + 2 * S), (1280, 720))
    alarms.step(T0 + 3 * S)
    with session_scope(db) as s:
        rows = {a.id: a for a in s.scalars(select(Alarm).where(Alarm.source_type == KIND))}
    assert set(rows) == {f"video:{flame}", f"video:{hardhat}"}
    a = rows[f"video:{flame}"]
    assert (a.camera, a.zone, a.area, a.condition, a.priority, a.active, a.acked) == (
        "CAM-A",
        "smelter-hall",
        "smelting",
        "flame",
        "urgent",
        True,
        False,
    )
    assert a.message == "" and a.data["facts"]["class"] == "flame"
    names = plant_names(plant)
    assert alarm_text(a, names, "en", show_names=False).startswith("Flame on camera ")
    assert alarm_text(a, names, "zh", show_names=False).endswith("发现火焰")
    h = rows[f"video:{hardhat}"]
    assert (h.camera, h.zone, h.area, h.condition, h.priority) == ("CAM-C", "tank-farm", "acid", "no_hardhat", "medium")

    events.close(flame, T0 + 9 * S)
    alarms.step(T0 + 10 * S)
    with session_scope(db) as s:
        journal = [
            (j.kind, j.ts)
            for j in s.scalars(
                select(AlarmJournal).where(AlarmJournal.alarm_id == f"video:{flame}").order_by(AlarmJournal.id)
            )
        ]
        assert journal == [("active", T0 + S), ("return", T0 + 9 * S)]
        assert s.get(Alarm, f"video:{hardhat}").active  # type: ignore[union-attr]
