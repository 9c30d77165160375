"""Video man-down (issue 21, item 3): a tracked person lying still for ``analytics.man_down_s`` seconds.

The lying flag comes from the real pose model (MoveNet, ``video.pose``) on real people: the walkers of
Debian's ``vtest.avi`` street camera, cut out and turned a quarter (lying) or left upright (standing up),
pasted on the street emptied of its walkers. The trained SSD does not find such turned cut-outs (COCO's
people are mostly upright; see the README's limits), so the boxes are those of the pasted people and go
through the analyser's tracker, its lying-still watch and its debounce with a fixed clock.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from plant import load_plant
from plant.loader import DEMO_PLANT as DEMO_FILE
from plant.schema import Camera, CameraAnalytics, Plant, VideoClass
from tests.test_video_models import VTEST, vtest_frames
from video.detect import Analyzer, Person
from video.types import Box, Trigger

T0 = 1_800_000_000_000
MINI = Path(__file__).parent / "fixtures" / "mini_plant.yaml"
STEP_MS = 500  # 2 analysed frames a second


def camera(man_down_s: float = 10.0) -> Camera:
    demo = load_plant(DEMO_FILE)
    cam = next(c for c in demo.cameras if c.analytics is not None)
    analytics = CameraAnalytics(detect=[VideoClass.MAN_DOWN], man_down_s=man_down_s)
    return cam.model_copy(update={"source": str(VTEST), "analytics": analytics})


class Street:
    """The empty street, a walker cut out of frame 200 (upright and turned a quarter), the pose model."""

    def __init__(self) -> None:
        from video.models import shared_ssd
        from video.pose import lying, shared_pose

        frames = vtest_frames(every=25)
        self.empty = np.median(np.stack(frames), axis=0).astype(np.uint8)
        self.pose = shared_pose()
        self.lying = lying
        frame = frames[8]
        walkers = [f.box for f in shared_ssd().detect(frame) if f.person and f.score >= 0.5 and f.box[3] >= 60]
        # the walkers the pose tells lying once turned (the test of video.pose finds at least two)
        self.crops: list[tuple[np.ndarray, np.ndarray]] = []
        for x, y, w, h in walkers:
            up = frame[max(0, y - 8) : y + h + 8, max(0, x - 8) : x + w + 8]
            down = cv2.rotate(up, cv2.ROTATE_90_CLOCKWISE)
            if self.judge(self.paste(down, (250, 400))) is True and self.judge(self.paste(up, (250, 300))) is False:
                self.crops.append((up, down))
        assert self.crops, "no walker of vtest.avi is told lying once turned"

    def paste(self, crop: np.ndarray, at: tuple[int, int]) -> tuple[np.ndarray, Box]:
        x, y = at
        img = self.empty.copy()
        img[y : y + crop.shape[0], x : x + crop.shape[1]] = crop
        return img, (x, y, crop.shape[1], crop.shape[0])

    def judge(self, pasted: tuple[np.ndarray, Box]) -> bool | None:
        img, box = pasted
        return self.lying(self.pose.keypoints(img, box))

    def person(self, pasted: tuple[np.ndarray, Box]) -> Person:
        _, box = pasted
        x, y, w, h = box
        return Person(box, (x + w / 2, float(y + h)), float(h), 0.0, 0.0, 0.9, lying=self.judge(pasted))


@pytest.fixture(scope="module")
def street() -> Street:
    return Street()


def run(an: Analyzer, people_at: list[list[Person]]) -> list[tuple[float, Trigger]]:
    """Feed one list of people per analysed frame (every 0.5 s from T0) through tracking, the lying-still
    watch and the debounce; the triggers with their time in seconds from T0."""
    out = []
    for k, people in enumerate(people_at):
        ts = T0 + k * STEP_MS
        an.track_people(people, ts)
        for trig in an._debounce(an.lying_still(people, ts), ts):
            out.append(((ts - T0) / 1000, trig))
    return out


def test_a_person_lying_still_is_a_man_down_after_n_seconds_and_ends_when_up(street: Street) -> None:
    an = Analyzer(camera(10.0))
    assert an.pose and VideoClass.MAN_DOWN in an.tracked
    up, down = street.crops[0]
    rng = np.random.default_rng(3)
    frames: list[list[Person]] = []
    for _ in range(30):  # 15 s lying, the box jittering by a pixel or two (breathing, the detector's noise)
        dx, dy = (int(v) for v in rng.integers(-2, 3, 2))
        frames.append([street.person(street.paste(down, (250 + dx, 400 + dy)))])
    lying_frames = sum(p.lying is True for f in frames for p in f)
    assert lying_frames >= 27  # the pose is sure on (nearly) every frame
    for _ in range(16):  # then up again, standing where they lay
        frames.append([street.person(street.paste(up, (260, 330)))])
    assert all(p.lying is False for f in frames[30:] for p in f)
    got = run(an, frames)
    starts = [(s, t) for s, t in got if t.kind == "start"]
    ends = [(s, t) for s, t in got if t.kind == "end"]
    assert len(starts) == 1 and len(ends) == 1, got
    s, trig = starts[0]
    assert trig.cls == VideoClass.MAN_DOWN and trig.track is not None
    # 10 s after lying down, give or take the frames the pose was unsure (it neither starts nor breaks the count)
    assert 10.0 <= s <= 10.0 + 0.5 * (30 - lying_frames) + 0.5
    assert trig.detection is not None and trig.detection.still_s is not None and trig.detection.still_s >= 10.0
    e, end = ends[0]
    assert end.track == trig.track and end.seen_ms is not None and (end.seen_ms - T0) / 1000 <= 15.0
    assert 15.0 <= e <= 15.0 + 5.5  # ends once not seen lying for end_after_s (5 s)


def test_a_person_lying_but_moving_and_one_standing_still_are_not_down(street: Street) -> None:
    up, down = street.crops[0]
    an = Analyzer(camera(4.0))
    # crawling: 12 px a frame along the street, lying all the way
    crawl = [[street.person(street.paste(down, (100 + 12 * k, 420)))] for k in range(30)]
    assert sum(p.lying is True for f in crawl for p in f) >= 25
    assert run(an, crawl) == []
    # standing still for 15 s: upright, never down
    an = Analyzer(camera(4.0))
    stand = [[street.person(street.paste(up, (300, 300)))] for _ in range(30)]
    assert run(an, stand) == []


def test_man_down_needs_the_model_people() -> None:
    with pytest.raises(ValueError, match="man_down needs"):
        CameraAnalytics(detect=[VideoClass.MAN_DOWN], people="hi-vis")
    demo = load_plant(DEMO_FILE)
    cam = next(c for c in demo.cameras if c.analytics is not None and c.source is None)
    rendered = cam.model_copy(update={"analytics": CameraAnalytics(detect=[VideoClass.MAN_DOWN, VideoClass.SPILL])})
    an = Analyzer(rendered)  # the demo's rendered camera: people by the colour rules, no pose
    assert an.classes == [VideoClass.SPILL] and any("man_down" in w for w in an.warnings)


# --- joined with the badge's man-down, through the real services and store -----------------------------------


def joined_plant() -> Plant:
    """The mini plant with two cameras in the smelter hall: CAM-H looks at the hall's middle (where P001 will
    stop), CAM-W at its west wall, away from it."""
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    analytics = {"detect": ["man_down"], "man_down_s": 10}
    data["cameras"] = [
        {"id": "CAM-H", "name": "Hall middle", "name_zh": "大厅中部", "zone": "smelter-hall", "position": [60, 160, 6],
         "yaw_deg": 45, "fov_deg": 70, "range_m": 90, "source": "rtsp://cam-h.example/s", "analytics": analytics},
        {"id": "CAM-W", "name": "Hall west wall", "zone": "smelter-hall", "position": [60, 240, 6],
         "yaw_deg": 180, "fov_deg": 60, "range_m": 40, "source": "rtsp://cam-w.example/s", "analytics": analytics},
    ]  # fmt: skip
    return Plant.model_validate(data)


def test_badge_and_camera_man_down_are_one_incident(tmp_path: Path, sqlite_url: str) -> None:
    """P001 stops in the hall (a hazard zone); CAM-H sees someone lying still there 10 s later (a video
    event written by the video events stage) and so does CAM-W, whose view does not hold P001's position.
    The personnel service raises the badge's man-down 20 s after the stop (its man_down_s here); the alarm
    service links it to CAM-H's alarm, not to CAM-W's, and each text names the other source, names only
    for readers allowed them."""
    from engine.alarm_text import alarm_text, plant_names
    from engine.mandown import camera_sees
    from engine.personnel import MAN_DOWN, RuleConfig
    from engine.types import PositionIn
    from services.alarms import AlarmService
    from services.personnel import PersonnelService
    from store.db import make_engine, migrate, session_scope
    from store.events import VIOLATION, open_events
    from store.health import upsert_health
    from store.models import Alarm
    from store.positions import write_positions
    from store.tags import sync_tags
    from video.events import VideoEvents
    from video.types import Detection

    plant = joined_plant()
    cams = {c.id: c for c in plant.cameras}
    spot = (100.0, 200.0)
    assert camera_sees(cams["CAM-H"], *spot) and not camera_sees(cams["CAM-W"], *spot)
    migrate(sqlite_url)
    db = make_engine(sqlite_url)
    with session_scope(db) as s:
        sync_tags(s, plant)
        upsert_health(s, "rtls", url="opc.tcp://127.0.0.1:1/x", pid=1, started_at=T0, connected=True)
    people = PersonnelService(plant, db, RuleConfig(man_down_s=20))
    alarms = AlarmService(plant, db)
    video = VideoEvents(db)
    opened: dict[str, int] = {}
    for t in range(0, 45):
        ts = T0 + t * 1000
        with session_scope(db) as s:  # P001 walks, then stops at t=5; P004 walks about the converter aisle
            fix = spot if t >= 5 else (spot[0] - 3 * (5 - t), spot[1])
            write_positions(s, [PositionIn("P001", ts, *fix), PositionIn("P004", ts, 200 + t % 2 * 3, 200)])
            upsert_health(s, "rtls", connected=True, updated_at=ts)
        people.step(ts + 300)
        if t == 15:  # lying still for 10 s on both cameras
            for cid in ("CAM-H", "CAM-W"):
                det = Detection(VideoClass.MAN_DOWN, 0.8, (500, 400, 220, 90), 3, 10.5)
                opened[cid] = video.open(cams[cid], Trigger("start", VideoClass.MAN_DOWN, ts, det, 3), (1280, 720))
        alarms.step(ts + 600)
    with session_scope(db) as s:
        downs = [e for e in open_events(s, VIOLATION) if e.source == MAN_DOWN]
        assert [(e.badge, e.ts_start - T0) for e in downs] == [("P001", 25_000)]
        badge_alarm = s.get(Alarm, f"violation:{downs[0].id}")
        seen = s.get(Alarm, f"video:{opened['CAM-H']}")
        unseen = s.get(Alarm, f"video:{opened['CAM-W']}")
        assert badge_alarm is not None and seen is not None and unseen is not None
        assert seen.priority == "urgent" and seen.condition == "man_down" and seen.active
        assert badge_alarm.data["video_alarm"] == seen.id and badge_alarm.data["video_event"] == opened["CAM-H"]
        assert badge_alarm.data["seen_by"] == "CAM-H"
        assert (seen.data["badge"], seen.data["badge_alarm"]) == ("P001", badge_alarm.id)
        assert "badge" not in unseen.data and "badge_alarm" not in unseen.data
        names = plant_names(plant)
        texts = {
            (which, lang, named): alarm_text(a, names, lang, show_names=named)
            for which, a in (("badge", badge_alarm), ("seen", seen), ("unseen", unseen))
            for lang in ("en", "zh")
            for named in (True, False)
        }
        ids = (badge_alarm.id, seen.id)
        from store.alarm_views import alarm_history

        journal = alarm_history(s, page_size=200).rows  # the alarm journal (history tab): the link there too
    linked = {r.alarm_id: r.linked for r in journal}
    assert linked[ids[0]] == f"{ids[1]} · CAM-H" and linked[ids[1]] == f"{ids[0]} · P001"
    assert linked[f"video:{opened['CAM-W']}"] is None
    assert all(r.linked == linked[r.alarm_id] for r in journal)  # every entry of a linked alarm shows it
    assert texts[("badge", "en", True)] == (
        "Zhang Wei (P001) not moving for 20 s in Smelter hall; also seen on camera Hall middle (CAM-H)"
    )
    assert (
        texts[("seen", "en", True)] == "Man down on camera Hall middle (CAM-H); also a badge man-down: Zhang Wei (P001)"
    )
    assert texts[("seen", "en", False)] == "Man down on camera Hall middle (CAM-H); also a badge man-down: Badge P001"
    assert "Zhang Wei" not in texts[("badge", "en", False)] and "CAM-H" in texts[("badge", "en", False)]
    assert "大厅中部" in texts[("badge", "zh", True)] and "也看到" in texts[("badge", "zh", True)]
    assert "定位卡同时报人员倒地" in texts[("seen", "zh", False)] and "Zhang Wei" not in texts[("seen", "zh", False)]
    assert texts[("unseen", "en", True)] == "Man down on camera Hall west wall (CAM-W)"
    db.dispose()
    # The alarm detail a dispatcher opens: the same incident's other alarm, the camera's linked to its detection.
    from settings import Settings
    from tests.test_alarm_pages import as_callback
    from tests.webutil import request_as
    from webapp.app import create_app

    plant_path = tmp_path / "joined.yaml"
    plant_path.write_text(yaml.safe_dump(plant.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    settings = Settings(var_dir=tmp_path, database_url=sqlite_url, plant_file=plant_path)
    app = create_app(settings)
    from webapp.pages import alarms as page  # registered by the app

    details = {}
    with request_as(app, settings, "/alarms"):
        for alarm_id in ids:
            details[alarm_id] = repr(
                as_callback("alarms-selected", {"id": alarm_id}, page.refresh_detail, {"id": alarm_id}, 1, True)[1]
            )
    assert f"/video?event={opened['CAM-H']}" in details[ids[0]] and f"{ids[1]} · CAM-H" in details[ids[0]]
    assert "Same incident" in details[ids[0]] and "also seen on camera Hall middle (CAM-H)" in details[ids[0]]
    assert f"{ids[0]} · P001" in details[ids[1]] and "also a badge man-down: Zhang Wei (P001)" in details[ids[1]]
    from webapp.panels.alarms.history import _history_table

    for lang, label in (("en", "Same incident"), ("zh", None)):
        table = repr(_history_table(journal, plant, {"area": {}}, lang))
        assert f"{ids[1]} · CAM-H" in table and f"{ids[0]} · P001" in table
        if label:
            assert f"{label}: {ids[1]} · CAM-H" in table


def test_man_down_join_needs_the_same_time() -> None:
    from engine.mandown import same_time

    start = T0
    assert same_time(start, None, start + 3_600_000)  # still active: any later start
    assert same_time(start, start + 5_000, start + 60_000)  # returned 55 s before
    assert not same_time(start, start + 5_000, start + 66_000)  # returned 61 s before
    assert same_time(start, None, start - 60_000) and not same_time(start, None, start - 61_000)


def test_two_badges_down_in_one_view_are_joined_by_where_the_camera_sees_them() -> None:
    """P001 and P002 both down in CAM-H's view (both badge man-downs active), P001 left of the view's axis
    and P002 right of it; the camera raises one man-down per person, its box on that side of the picture.
    Each camera alarm is linked to the badge whose position falls where its box is, whichever comes first
    (before, the first badge by alarm id was taken for both orders)."""
    from engine.alarms import AlarmEngine
    from engine.mandown import image_x

    plant = joined_plant()
    cam = next(c for c in plant.cameras if c.id == "CAM-H")
    left = (60 + 40 * math.cos(math.radians(65)), 160 + 40 * math.sin(math.radians(65)))  # 20 deg left of the axis
    right = (60 + 40 * math.cos(math.radians(25)), 160 + 40 * math.sin(math.radians(25)))  # 20 deg right
    lx, rx = image_x(cam, *left), image_x(cam, *right)
    assert lx is not None and rx is not None and lx < 0.3 and rx > 0.7
    boxes = {"left": [250, 400, 150, 60], "right": [900, 420, 150, 60]}  # centres at 0.25 and 0.76 of 1280

    def badge(eng: AlarmEngine, event: int, who: str, at: tuple[float, float], ts: int) -> str:
        got = eng.event_open(
            "violation", event, ts, source="man_down", badge=who, zone="smelter-hall",
            data={"x": at[0], "y": at[1], "value": 60.0},
        )  # fmt: skip
        assert got is not None
        return got

    def video(eng: AlarmEngine, event: int, side: str, ts: int) -> str:
        data = {"camera": "CAM-H", "class": "man_down", "box": boxes[side], "frame": [1280, 720], "track": event}
        got = eng.event_open("video", event, ts, source="CAM-H", data=data)
        assert got is not None
        return got

    for badges_first in (True, False):
        eng = AlarmEngine(plant)
        if badges_first:
            b1, b2 = badge(eng, 1, "P001", left, T0), badge(eng, 2, "P002", right, T0 + 1000)
            v_right, v_left = video(eng, 11, "right", T0 + 5000), video(eng, 12, "left", T0 + 6000)
        else:
            v_right, v_left = video(eng, 11, "right", T0), video(eng, 12, "left", T0 + 1000)
            b1, b2 = badge(eng, 1, "P001", left, T0 + 20_000), badge(eng, 2, "P002", right, T0 + 21_000)
        data = {a: eng._states[a].data or {} for a in (b1, b2, v_right, v_left)}
        assert data[v_right]["badge"] == "P002" and data[v_right]["badge_alarm"] == b2, badges_first
        assert data[v_left]["badge"] == "P001" and data[v_left]["badge_alarm"] == b1, badges_first
        assert data[b1]["video_alarm"] == v_left and data[b2]["video_alarm"] == v_right
