"""The video service end to end on loopback: the simulator's real MJPEG streams read through OpenCV, the
pipeline's events and media on a real SQLite file and real files, a dropped stream that reconnects and is
analysed again, and the media routes of the real app (authorization per role, 404s, content types)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml
from sqlalchemy import Engine, select

from plant.loader import load_plant
from plant.schema import Camera, Plant, VideoClass
from services.__main__ import FACTORIES
from services.video import VideoService
from simulator.cameras import CameraServer
from store.db import make_engine, migrate, session_scope
from store.events import add_event
from store.models import Event
from tests.videoutil import plant_with_cameras, wait_for
from tests.webutil import seed_store, session_token
from video.events import VideoEvents
from video.media import CLIP, SNAPSHOT, THUMB, EventMedia, MediaWriter, clip_jpegs, media_file
from video.relay import BOUNDARY
from video.types import Analysis, Detection, Trigger

SIZE = (640, 360)
BOTTOM = [[0.0, 0.3], [1.0, 0.3], [1.0, 1.0], [0.0, 1.0]]  # restricted: the lower 70 % of the image


def analysed_plant(tmp_path: Path, analytics: dict[str, Any] | None = None) -> tuple[Plant, Plant]:
    """The test plant with cameras, as (cameras with analytics on CAM-A, the same without analytics)."""
    plain = plant_with_cameras(tmp_path)
    data = yaml.safe_load(plain.read_text(encoding="utf-8"))
    for cam in data["cameras"]:
        if cam["id"] == "CAM-A":
            cam["analytics"] = analytics or {"detect": ["intrusion"], "restricted": [BOTTOM], "fps": 4}
    path = tmp_path / "plant_analysed.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_plant(path), load_plant(plain)


class ChangeAnalyzer:
    """A small classical analyzer standing in for ``video.detect.Analyzer`` where the test is about the
    pipeline: "intrusion" while the picture differs from the first frame it saw (below the clock), started
    after 2 frames, ended after 2 frames without."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.background: np.ndarray | None = None
        self.hits = 0
        self.misses = 0
        self.active = False

    def process(self, frame_bgr: np.ndarray, ts_ms: int) -> Analysis:
        small = cv2.cvtColor(cv2.resize(frame_bgr, (160, 90), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        if self.background is None:
            self.background = small
            return Analysis(ts_ms, False, False)
        changed = cv2.absdiff(small, self.background) > 40
        changed[:12] = False  # the clock
        ys, xs = np.nonzero(changed)
        detections: list[Detection] = []
        if len(xs) >= 4:
            sx, sy = frame_bgr.shape[1] / 160, frame_bgr.shape[0] / 90
            box = (int(xs.min() * sx), int(ys.min() * sy), int((np.ptp(xs) + 1) * sx), int((np.ptp(ys) + 1) * sy))
            detections.append(Detection(VideoClass.INTRUSION, 0.9, box))
        triggers: list[Trigger] = []
        if detections:
            self.hits, self.misses = self.hits + 1, 0
            if not self.active and self.hits >= 2:
                self.active = True
                triggers.append(Trigger("start", VideoClass.INTRUSION, ts_ms, detections[0]))
        else:
            self.hits, self.misses = 0, self.misses + 1
            if self.active and self.misses >= 2:
                self.active = False
                triggers.append(Trigger("end", VideoClass.INTRUSION, ts_ms))
        return Analysis(ts_ms, bool(detections), True, detections, triggers)


def video_events(db: Engine) -> list[Event]:
    with session_scope(db) as s:
        return list(s.scalars(select(Event).where(Event.kind == "video").order_by(Event.id)))


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Engine]:
    migrate(sqlite_url)
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


def test_the_factory_is_registered(tmp_path: Path, sqlite_url: str) -> None:
    from settings import Settings

    plant, _ = analysed_plant(tmp_path)
    settings = Settings(var_dir=tmp_path, media_dir=tmp_path / "m", media_days=7, media_gb=0.5)
    service = FACTORIES["video"](plant, make_engine(sqlite_url), settings)
    assert isinstance(service, VideoService)
    assert (service.name, service.media_root, service.media_days, service.media_gb) == ("video", tmp_path / "m", 7, 0.5)
    assert [c.id for c in service.cameras] == ["CAM-A"]  # only cameras with analytics are analysed


@pytest.mark.real_clock("the standby service waits for the lock with timeouts")
def test_one_video_service_per_media_directory(tmp_path: Path, db: Engine) -> None:
    from tests.conftest import free_port

    plant, _ = analysed_plant(tmp_path)
    dead = free_port()  # nothing listens: the pipelines just keep retrying

    def make() -> VideoService:
        return VideoService(plant, db, media_root=tmp_path / "media", analyzer_factory=ChangeAnalyzer, port=dead)

    first, second = make(), make()
    try:
        first.step(0)
        second.step(0)
        assert list(first.pipelines) == ["CAM-A"] and second.pipelines == {}  # the second stands by
        first.close()
        second.step(0)
        assert list(second.pipelines) == ["CAM-A"]  # and takes over
    finally:
        first.close()
        second.close()


@pytest.mark.slow
def test_pipeline_events_media_and_a_dropped_stream(tmp_path: Path, db: Engine) -> None:
    plant, plain = analysed_plant(tmp_path)
    people: list[tuple[float, float, str]] = []
    server = CameraServer(plain, port=0, people=lambda: list(people), fps=5, size=SIZE).start()
    port = server.port
    with session_scope(db) as s:  # left open by a previous run
        stale = add_event(s, "video", "CAM-A", 1_000, severity="high", zone="smelter-hall", data={"seen_ms": 2_000})
    service = VideoService(
        plant,
        db,
        media_root=tmp_path / "media",
        analyzer_factory=ChangeAnalyzer,
        port=port,
        pipeline_kwargs={"pre_s": 2.0, "post_s": 2.0, "capture_kwargs": {"stale_s": 2.0, "max_backoff_s": 1.0}},
    )
    try:
        service.step(int(time.time() * 1000))
        assert service.restored_closed == [stale]
        pipe = service.pipelines["CAM-A"]
        wait_for(lambda: pipe.stats().analysed >= 4, 60)
        assert video_events(db)[-1].id == stale  # nothing to see yet

        people.append((80.0, 180.0, "person"))
        first = wait_for(lambda: [e for e in video_events(db) if e.id != stale], 60)
        assert len(first) == 1
        ev = first[0]
        assert (ev.source, ev.zone, ev.severity, ev.ts_end) == ("CAM-A", "smelter-hall", "high", None)
        assert ev.data["class"] == "intrusion" and ev.data["frame"] == list(SIZE)
        # snapshot at once, the clip once the seconds after it are in
        done = wait_for(lambda: all(video_events(db)[-1].data["media"].values()), 60)
        assert done
        root = tmp_path / "media"
        assert cv2.imread(str(media_file(root, ev.id, SNAPSHOT))).shape == (SIZE[1], SIZE[0], 3)
        assert cv2.imread(str(media_file(root, ev.id, THUMB))).shape[1] == 320
        _, jpegs = clip_jpegs(media_file(root, ev.id, CLIP))
        assert 8 <= len(jpegs) <= 25  # ~2 s before and ~2 s after at up to 5 frames/s
        # the person leaves: the event ends
        people.clear()
        wait_for(lambda: video_events(db)[-1].ts_end is not None, 60)
        assert pipe.stats().opened == 1 and pipe.stats().closed == 1

        # the stream drops: the camera goes offline, a new server on the same port brings it back
        analysed = pipe.stats().analysed
        server.stop()
        wait_for(lambda: not pipe.stats().online, 60)
        assert pipe.stats().offline_times == 1
        server = CameraServer(plain, port=port, people=lambda: list(people), fps=5, size=SIZE).start()
        wait_for(lambda: pipe.stats().online and pipe.stats().analysed >= analysed + 4, 60)
        assert pipe.capture.status().reconnects >= 1
        people.append((80.0, 180.0, "person"))  # analysis works again (a fresh analyzer after the drop)
        wait_for(lambda: len(video_events(db)) == 3, 60)
        # a camera that drops while something is seen ends the detection at its last frame...
        server.stop()
        wait_for(lambda: video_events(db)[-1].ts_end is not None, 60)
        third = video_events(db)[-1]
        assert third.ts_end <= pipe.capture.status().since_ms  # type: ignore[operator]
        # ...and when it is back, analysis starts afresh: what is seen then is a new event (the stand-in
        # analyzer learns its background from the first frame, so the person comes back after it)
        people.clear()
        analysed = pipe.stats().analysed
        server = CameraServer(plain, port=port, people=lambda: list(people), fps=5, size=SIZE).start()
        wait_for(lambda: pipe.stats().online and pipe.stats().analysed >= analysed + 4, 60)
        people.append((80.0, 180.0, "person"))
        wait_for(lambda: len(video_events(db)) == 4, 60)
        assert service.retention().deleted == []
        service.step(int(time.time() * 1000))
        assert service.pipelines["CAM-A"] is pipe and pipe.running
        assert pipe.stats().offline_times == 2
    finally:
        service.close()
        server.stop()
    last = video_events(db)[-1]
    assert last.ts_end is not None  # stopping ends what was open
    assert all(last.data["media"].values())  # and finishes its clip


# --- media routes -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real app with two video events with media (smelter hall: area smelting; tank farm: area acid),
    one without, and clients per role."""
    from auth.users import add_user
    from tests.webutil import TEST_PASSWORD
    from webapp.app import create_app
    from webapp.gate import SESSION_COOKIE

    tmp = tmp_path_factory.mktemp("media_routes")
    settings = seed_store(tmp, plant_with_cameras(tmp))
    plant = load_plant(settings.plant_file)
    cams = {c.id: c for c in plant.cameras}
    engine = make_engine(settings.db_url)
    events = VideoEvents(engine)
    writer = MediaWriter(settings.media_path, events.set_media).start()
    ids: dict[str, int] = {}
    t0 = int(time.time() * 1000) - 60_000
    for name, cam, cls in (("hall", "CAM-A", VideoClass.FLAME), ("tank", "CAM-C", VideoClass.SPILL)):
        media = EventMedia(writer, pre_s=0.6, post_s=0.6, fps=5.0, width=320)
        det = Detection(cls, 0.8, (100, 100, 80, 60))
        for i in range(12):
            img = np.full((360, 640, 3), 40 + 10 * i, np.uint8)
            media.add_frame(img, t0 + 200 * i)
            if i == 5:
                ids[name] = events.open(cams[cam], Trigger("start", cls, t0 + 200 * i, det), (640, 360))
                media.start(ids[name], img, det, t0 + 200 * i)
    ids["bare"] = events.open(cams["CAM-B"], Trigger("start", VideoClass.SMOKE, t0, None), (640, 360))
    with session_scope(engine) as s:
        ids["violation"] = add_event(s, "violation", "sos", t0, zone="tank-farm")
        add_user(s, "oc-acid", "on-call", TEST_PASSWORD, actor="tests", areas=["acid"])
    assert writer.wait_idle(60)
    writer.close()
    engine.dispose()
    app = create_app(settings)
    clients: dict[str, Any] = {"none": app.server.test_client()}
    for role, user in (
        ("dispatcher", None),
        ("admin", None),
        ("executive", None),
        ("on-call", None),
        ("oc-acid", "oc-acid"),
    ):
        client = app.server.test_client()
        client.set_cookie(SESSION_COOKIE, session_token(settings, "on-call" if user else role, user))
        clients[role] = client
    return {"clients": clients, "ids": ids, "settings": settings}


FILES = (
    ("snapshot.jpg", "image/jpeg"),
    ("thumb.jpg", "image/jpeg"),
    ("clip.avi", "video/x-msvideo"),
    ("clip.mjpg", f"multipart/x-mixed-replace; boundary={BOUNDARY}"),
)


def test_media_routes_per_role(routes: dict[str, Any]) -> None:
    clients, ids = routes["clients"], routes["ids"]
    for name, ctype in FILES:
        for event in ("hall", "tank"):
            url = f"/video/media/{ids[event]}/{name}"
            for role in ("dispatcher", "admin", "on-call"):  # all video events (on-call without areas: all)
                resp = clients[role].get(url)
                assert resp.status_code == 200, (role, url)
                assert resp.headers["Content-Type"] == ctype
                assert resp.headers["Cache-Control"] == "private, no-store"
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert clients["executive"].get(url).status_code == 403
            assert clients["none"].get(url).status_code == 401
        # an on-call user of the acid area: the tank farm's event, not the smelter hall's
        assert clients["oc-acid"].get(f"/video/media/{ids['tank']}/{name}").status_code == 200
        assert clients["oc-acid"].get(f"/video/media/{ids['hall']}/{name}").status_code == 403


def test_media_route_bodies(routes: dict[str, Any]) -> None:
    client, ids = routes["clients"]["dispatcher"], routes["ids"]
    snap = client.get(f"/video/media/{ids['hall']}/snapshot.jpg")
    img = cv2.imdecode(np.frombuffer(snap.data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (360, 640, 3)
    thumb = client.get(f"/video/media/{ids['hall']}/thumb.jpg")
    assert cv2.imdecode(np.frombuffer(thumb.data, np.uint8), cv2.IMREAD_COLOR).shape == (180, 320, 3)
    clip = client.get(f"/video/media/{ids['tank']}/clip.avi")
    assert clip.data[:4] == b"RIFF" and clip.data[8:12] == b"AVI "
    assert clip.headers["Content-Disposition"] == f"attachment; filename=video-event-{ids['tank']}.avi"
    replay = client.get(f"/video/media/{ids['tank']}/clip.mjpg")
    parts = replay.data.split(f"--{BOUNDARY}\r\n".encode())[1:]
    _, jpegs = clip_jpegs(media_file(routes["settings"].media_path, ids["tank"], CLIP))
    assert len(parts) == len(jpegs) >= 5
    head, _, body = parts[0].partition(b"\r\n\r\n")
    assert b"Content-Type: image/jpeg" in head and body[:2] == b"\xff\xd8"


def test_media_routes_not_found(routes: dict[str, Any]) -> None:
    clients, ids = routes["clients"], routes["ids"]
    for role in ("dispatcher", "oc-acid"):
        c = clients[role]
        for name, _ in FILES:
            assert c.get(f"/video/media/{ids['bare']}/{name}").status_code in (403, 404)  # no media written
            assert c.get(f"/video/media/{ids['violation']}/{name}").status_code == 404  # not a video event
            assert c.get(f"/video/media/987654/{name}").status_code == 404
            assert c.get(f"/video/media/99999999999999999999999/{name}").status_code == 404
            assert c.get(f"/video/media/0/{name}").status_code == 404
    d = clients["dispatcher"]
    assert d.get(f"/video/media/{ids['bare']}/snapshot.jpg").status_code == 404
    # anything but a plain integer does not match the media routes (the app's page shell answers: no file)
    for bad in ("abc", "-1", "1.0", "..", "%2e%2e", f"{ids['hall']}%2f..%2f..%2fweb.db", " 1", f"{ids['hall']}x"):
        resp = d.get(f"/video/media/{bad}/snapshot.jpg")
        assert resp.status_code == 404 or resp.headers["Content-Type"].startswith("text/html"), bad
    for path in (f"{ids['hall']}/meta.json", f"{ids['hall']}/../../web.db", f"{ids['hall']}/%2e%2e/%2e%2e/web.db"):
        resp = d.get(f"/video/media/{path}")
        assert resp.status_code == 404 or resp.headers["Content-Type"].startswith("text/html"), path
        assert b"SQLite" not in resp.data


# --- every scripted incident class, through the real analyzer ---------------------------------------------

# One demo camera per class, analysing only that class (so each incident is its camera's only event).
CLASS_CAMERAS = {
    VideoClass.FLAME: "CAM37",
    VideoClass.SMOKE: "CAM42",
    VideoClass.NO_HARDHAT: "CAM47",
    VideoClass.SPILL: "CAM53",
    VideoClass.INTRUSION: "CAM61",
}
INCIDENT_EVERY_S = (40.0, 40.0)
INCIDENT_S = (14.0, 14.0)
LEAD_MS = 8_000  # an incident starting sooner than this after the streams open is not the one waited for


def class_plant(tmp_path: Path) -> Plant:
    """The demo plant with only :data:`CLASS_CAMERAS` analysed, each for its one class."""
    from settings import ROOT

    data = yaml.safe_load((ROOT / "plant" / "demo_smelter.yaml").read_text(encoding="utf-8"))
    wanted = {cam: cls for cls, cam in CLASS_CAMERAS.items()}
    for cam in data["cameras"]:
        if cam["id"] in wanted:
            cam["analytics"]["detect"] = [wanted[cam["id"]].value]
            cam["analytics"]["fps"] = 2.0
        else:
            cam.pop("analytics", None)
    path = tmp_path / "class_plant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_plant(path)


@pytest.mark.slow
def test_each_scripted_incident_class_makes_one_event_with_snapshot_and_clip(tmp_path: Path, db: Engine) -> None:
    pytest.importorskip("video.detect")
    from simulator.video_scenes import Scenes

    plant = class_plant(tmp_path)
    scenes = Scenes(plant, every_s=INCIDENT_EVERY_S, duration_s=INCIDENT_S)
    server = CameraServer(plant, port=0, fps=4, size=(1280, 720), scenes=scenes).start()
    service = VideoService(plant, db, media_root=tmp_path / "media", port=server.port)
    try:
        service.step(int(time.time() * 1000))
        start_ms = int(time.time() * 1000)
        waited = {}  # class -> the incident waited for: the first one starting at least LEAD_MS from now
        for cls, cam in CLASS_CAMERAS.items():
            got = scenes.incidents(cam, start_ms + LEAD_MS, start_ms + LEAD_MS + 2 * INCIDENT_EVERY_S[1] * 1000)
            waited[cls] = next(i for i in got if i.start_ms >= start_ms + LEAD_MS and i.cls == cls)
        last_end = max(i.end_ms for i in waited.values())
        wait_for(lambda: time.time() * 1000 > last_end + 12_000, (last_end + 12_000 - start_ms) / 1000 + 60, 0.5)
        wait_for(
            lambda: service.writer.wait_idle(1) and not any(p.media.pending for p in service.pipelines.values()), 60
        )
        events = video_events(db)
        root = tmp_path / "media"
        for cls, inc in waited.items():
            cam = CLASS_CAMERAS[cls]
            # no event outside the camera's incidents (one may have been playing when the streams opened); a
            # frame is stamped when it arrives, which on a loaded machine can be after the incident's last frame
            # was drawn, hence the same 3 s after the end as for the event waited for
            played = scenes.incidents(cam, start_ms - 120_000, time.time() * 1000)
            for e in (e for e in events if e.source == cam):
                assert any(i.start_ms - 2_000 <= e.ts_start <= i.end_ms + 3_000 for i in played), (
                    cls,
                    e.ts_start - start_ms,
                    [(i.start_ms - start_ms, i.end_ms - start_ms) for i in played],
                )
            mine = [e for e in events if e.source == cam and inc.start_ms - 2_000 <= e.ts_start <= inc.end_ms + 3_000]
            assert len(mine) == 1, (cls, [(e.data["class"], e.ts_start - inc.start_ms) for e in mine])
            ev = mine[0]
            assert ev.data["class"] == cls.value and inc.start_ms - 1_000 <= ev.ts_start <= inc.end_ms
            assert ev.data["media"] == {"snapshot": True, "thumb": True, "clip": True}, cls
            assert cv2.imread(str(media_file(root, ev.id, SNAPSHOT))).shape == (720, 1280, 3)
            _, jpegs = clip_jpegs(media_file(root, ev.id, CLIP))
            assert len(jpegs) >= 20, (cls, len(jpegs))  # ~5 s before and after at the ring's rate
            assert ev.ts_end is not None and ev.ts_end <= inc.end_ms + 10_000, cls
    finally:
        service.close()
        server.stop()
