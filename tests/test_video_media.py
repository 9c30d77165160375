"""Event media on real files with real OpenCV: the pre-event ring, snapshot and thumbnail with the box drawn,
the Motion-JPEG clip with frames before and after the start (read back by OpenCV), replay straight from the
AVI's chunks, and retention by age and by size, oldest first."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from plant.schema import VideoClass
from video.media import (
    CLASS_COLOURS,
    CLIP,
    SNAPSHOT,
    THUMB,
    EventMedia,
    FrameRing,
    MediaWriter,
    Sighting,
    apply_retention,
    clip_jpegs,
    media_events,
    media_file,
    replay_clip,
    write_atomic,
)
from video.types import Detection

T0 = 1_767_225_600_000


def frame(i: int, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """A grey frame with its number written large (so frames can be told apart after JPEG)."""
    w, h = size
    img = np.full((h, w, 3), 50, np.uint8)
    cv2.putText(img, str(i), (w // 3, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 6, (255, 255, 255), 12)
    return img


def test_ring_keeps_the_last_seconds_small_and_at_its_rate() -> None:
    ring = FrameRing(seconds=2.0, fps=5.0, width=640)
    taken = [ring.push(frame(i), T0 + i * 50) for i in range(200)]  # a 20 frames/s camera for 10 s
    assert sum(t is not None for t in taken) in range(45, 55)  # ~5 a second kept
    frames = ring.since(0)
    assert frames[-1].ts_ms - frames[0].ts_ms <= 2000
    assert len(frames) in (10, 11, 12)
    img = cv2.imdecode(np.frombuffer(frames[-1].jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (360, 640, 3)
    assert ring.nbytes == sum(len(f.jpeg) for f in frames)
    assert ring.nbytes < 12 * 100_000
    assert ring.since(frames[-1].ts_ms) == [frames[-1]]
    ring.clear()
    assert len(ring) == 0 and ring.nbytes == 0


def test_snapshot_thumb_and_clip_of_an_event(tmp_path: Path) -> None:
    written: list[tuple[int, dict[str, bool]]] = []
    writer = MediaWriter(tmp_path, lambda eid, flags: written.append((eid, flags))).start()
    media = EventMedia(writer, pre_s=2.0, post_s=2.0, fps=5.0, width=640)
    det = Detection(VideoClass.FLAME, 0.87, (500, 300, 200, 150))
    start_i = 25  # frame 25 (t = 5 s) starts the event; frames every 200 ms
    for i in range(60):
        ts = T0 + i * 200
        img = frame(i)
        media.add_frame(img, ts)
        if i == start_i:
            media.start(7, img, det, ts)
            assert 7 in writer.busy()
    assert media.pending == []  # the clip was finished by the first frame after its end
    assert writer.wait_idle(60)
    writer.close()
    assert sorted(n for _, f in written for n in f) == ["clip", "snapshot", "thumb"]
    assert writer.busy() == set()

    snap = cv2.imread(str(media_file(tmp_path, 7, SNAPSHOT)))
    assert snap.shape == (720, 1280, 3)
    # the box is drawn in the class colour along its edges, the inside is the frame
    colour = np.array(CLASS_COLOURS[VideoClass.FLAME], float)
    bottom_edge = snap[450 - 1 : 450 + 2, 520:680].reshape(-1, 3).mean(axis=0)
    left_edge = snap[320:440, 500 - 1 : 500 + 2].reshape(-1, 3).mean(axis=0)
    assert np.abs(bottom_edge - colour).max() < 40, bottom_edge
    assert np.abs(left_edge - colour).max() < 40, left_edge
    assert np.abs(snap[100:200, 100:200].reshape(-1, 3).mean(axis=0) - 50).max() < 10  # untouched elsewhere
    label = snap[260:300, 500:640].reshape(-1, 3)  # the label above the box: colour and ink
    assert (np.abs(label - colour).max(axis=1) < 40).mean() > 0.3
    thumb = cv2.imread(str(media_file(tmp_path, 7, THUMB)))
    assert thumb.shape == (180, 320, 3)

    cap = cv2.VideoCapture(str(media_file(tmp_path, 7, CLIP)))
    assert cap.isOpened()
    assert cap.get(cv2.CAP_PROP_FOURCC) == cv2.VideoWriter_fourcc(*"MJPG")
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(5.0, abs=0.2)
    shots = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        assert img.shape == (360, 640, 3)
        shots.append(img)
    cap.release()
    # 2 s before (10 frames + the start) and 2 s after (10 frames): frames 15..35
    assert len(shots) == 21
    fps, jpegs = clip_jpegs(media_file(tmp_path, 7, CLIP))
    assert fps == pytest.approx(5.0, abs=0.2) and len(jpegs) == 21
    assert all(j[:2] == b"\xff\xd8" for j in jpegs)
    # the first clip frame is frame 15 and the last frame 35: compare with the frames drawn
    for got, want in ((shots[0], 15), (shots[10], start_i), (shots[-1], 35)):
        ref = cv2.resize(frame(want), (640, 360), interpolation=cv2.INTER_AREA)
        other = cv2.resize(frame(want + 1), (640, 360), interpolation=cv2.INTER_AREA)
        assert np.abs(got.astype(int) - ref).mean() < np.abs(got.astype(int) - other).mean()
    assert not [p.name for p in (tmp_path / "7").iterdir() if p.name.startswith(".")]  # no temporary files


def test_a_clip_is_written_when_the_camera_goes_quiet(tmp_path: Path) -> None:
    writer = MediaWriter(tmp_path).start()
    media = EventMedia(writer, pre_s=1.0, post_s=5.0, fps=5.0, width=320, grace_ms=1000)
    for i in range(10):
        media.add_frame(frame(i, (640, 360)), T0 + i * 200)
    media.start(3, frame(9, (640, 360)), None, T0 + 1800)
    media.add_frame(frame(10, (640, 360)), T0 + 2000)
    media.tick(T0 + 6000)
    assert media.pending == [3]  # within its end and grace: still waiting for frames
    media.tick(T0 + 1800 + 5000 + 1001)
    assert media.pending == []
    assert writer.wait_idle(60)
    writer.close()
    _, jpegs = clip_jpegs(media_file(tmp_path, 3, CLIP))
    assert len(jpegs) == 7  # 1 s before (frames 4..9) and the one frame after
    assert media_file(tmp_path, 3, SNAPSHOT).is_file()


def test_replay_at_the_clips_pace(tmp_path: Path) -> None:
    writer = MediaWriter(tmp_path).start()
    media = EventMedia(writer, pre_s=1.0, post_s=1.0, fps=4.0, width=320)
    for i in range(20):
        media.add_frame(frame(i, (640, 360)), T0 + i * 250)
        if i == 8:
            media.start(1, frame(i, (640, 360)), None, T0 + i * 250)
    assert writer.wait_idle(60)
    writer.close()
    waits: list[float] = []
    clock = [0.0]

    def sleep(s: float) -> None:  # a clock of its own: the pace without waiting for it
        waits.append(s)
        clock[0] += s

    got = list(replay_clip(media_file(tmp_path, 1, CLIP), sleep=sleep, clock=lambda: clock[0]))
    assert len(got) == 9 and all(g[:2] == b"\xff\xd8" for g in got)
    assert waits == pytest.approx([0.25] * 8)  # paced by the clip's 4 frames/s, the first frame at once
    assert len(list(replay_clip(media_file(tmp_path, 1, CLIP), sleep=lambda s: None, max_frames=3))) == 3


def _event_files(root: Path, event_id: int, size: int, age_days: float, now: float) -> None:
    write_atomic(media_file(root, event_id, SNAPSHOT), b"\xff\xd8" + b"x" * (size - 2))
    t = now - age_days * 86400
    os.utime(media_file(root, event_id, SNAPSHOT), (t, t))


def test_retention_by_days_then_by_size_oldest_first(tmp_path: Path) -> None:
    now = time.time()
    root = tmp_path / "media"
    # ids in event order; ages in days
    for event_id, age in ((3, 40.0), (5, 31.0), (8, 29.0), (9, 10.0), (12, 2.0), (15, 1.0), (20, 0.1)):
        _event_files(root, event_id, 1_000_000, age, now)
    (root / "notes").mkdir()  # not an event directory: never touched
    (root / "007").mkdir()  # not a canonical id either
    report = apply_retention(root, days=30, max_gb=1.0, now=now)
    assert report.deleted == [3, 5] and report.by_age == 2 and report.by_size == 0
    assert report.freed_bytes == 2_000_000 and report.kept == 5 and report.kept_bytes == 5_000_000
    assert media_events(root) == [8, 9, 12, 15, 20]

    # 5 MB left, 2.5 MB allowed: the oldest go first (8, 9, 12), 15 is kept as it is being written
    report = apply_retention(root, days=30, max_gb=0.0025, now=now, keep=[12])
    assert report.deleted == [8, 9, 15] and report.by_size == 3
    assert media_events(root) == [12, 20]
    assert (root / "notes").is_dir() and (root / "007").is_dir()

    # never the newest, even alone over the limit or past the days
    report = apply_retention(root, days=0.01, max_gb=0.0000001, now=now + 86400)
    assert report.deleted == [12]
    assert media_events(root) == [20]
    assert apply_retention(tmp_path / "nothing", days=1, max_gb=1).deleted == []


def test_retention_removes_leftover_temporary_files(tmp_path: Path) -> None:
    now = time.time()
    _event_files(tmp_path, 1, 100, 0.0, now)
    _event_files(tmp_path, 2, 100, 0.0, now)
    tmp = tmp_path / "1" / ".clip.tmp.avi"
    tmp.write_bytes(b"half a clip")
    os.utime(tmp, (now - 7200, now - 7200))
    fresh = tmp_path / "2" / ".clip.tmp.avi"
    fresh.write_bytes(b"being written")
    os.utime(fresh, (now, now))  # the file system stamps the real time; the test's clock may be another
    report = apply_retention(tmp_path, days=30, max_gb=5, now=now)
    assert report.deleted == [] and not tmp.exists() and fresh.exists()


def test_a_tracked_persons_box_follows_them_in_the_clip(tmp_path: Path) -> None:
    """A tracked stay: the box of each analysed sighting is drawn on the clip frames near its time, so it
    moves with the person (here from the left of the picture to the right)."""
    writer = MediaWriter(tmp_path).start()
    media = EventMedia(writer, pre_s=1.0, post_s=2.0, fps=5.0, width=320)
    grey = np.full((360, 640, 3), 90, np.uint8)
    for i in range(5):
        media.add_frame(grey, T0 + i * 200)
    media.start(4, grey, None, T0 + 1000)
    for i in range(5, 16):
        media.add_frame(grey, T0 + i * 200)
        if i % 2 == 1:  # analysed at 2.5 fps: the person walks 40 px per sighting
            media.follow(4, Sighting(T0 + i * 200, (40 * (i - 5), 100, 60, 160), (640, 360)))
    media.flush()
    assert writer.wait_idle(60)
    writer.close()
    _, jpegs = clip_jpegs(media_file(tmp_path, 4, CLIP))
    shots = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs]

    def red_columns(img: np.ndarray) -> np.ndarray:
        red = (img[..., 2] > 180) & (img[..., 1] < 90)
        return np.nonzero(red.any(axis=0))[0]

    first, last = red_columns(shots[6]), red_columns(shots[-1])  # 1.2 s and 3 s into the clip
    assert first.size and last.size and last.min() > first.min() + 40  # the box moved right (clip: half size)
