"""Event media: a per-camera ring of recent frames, and for each event a snapshot, a thumbnail and a clip.

What a start trigger leaves under ``<media_root>/<event id>/`` (``media_root``: ``SW_MEDIA_DIR``, default
``var/media``):

- ``snapshot.jpg`` - the analysed frame at full size, the detection's box and "class confidence" drawn;
- ``thumb.jpg`` - the same, :data:`THUMB_WIDTH` pixels wide, for the feed;
- ``clip.avi`` - Motion-JPEG AVI (``cv2.VideoWriter``, fourcc ``MJPG``) from :data:`PRE_S` seconds before
  the start to :data:`POST_S` seconds after, at the ring's rate and size.

How (:class:`EventMedia`, one per camera, fed by the camera's pipeline thread):

- :class:`FrameRing` keeps the last :data:`PRE_S` seconds as JPEG bytes, at most :data:`CLIP_FPS` frames a
  second, at most :data:`CLIP_WIDTH` pixels wide. A demo camera's 1280x720 frame reduced to 640x360 is
  18-21 KB as JPEG, so a camera's ring holds 26 frames and about 0.5 MB (a busy real scene: up to ~1.5 MB);
  an event being recorded holds up to as much again until its clip is written. The memory a camera costs
  here is bounded by ``PRE_S * CLIP_FPS`` small JPEGs, whatever the camera's resolution or frame rate.
  Taking a frame costs one resize and one small JPEG encode (1-5 ms, 5 times a second).
- A start trigger hands the snapshot to the :class:`MediaWriter` (one background thread for all cameras)
  at once, and opens a pending clip with the ring's frames since ``start - PRE_S``; the frames that follow
  are appended until ``start + POST_S``; then the writer writes the AVI. So the analysis loop never waits
  for a file. A camera that stops sending frames finishes its pending clips :data:`GRACE_MS` after their end
  with what they have (:meth:`EventMedia.tick`).
- Every file is written as a hidden temporary file in the event's directory and renamed into place, so a
  reader never sees half a file. ``on_written(event_id, {"snapshot": True, ...})`` reports what exists,
  for the event row's ``data["media"]``.

Retention (:func:`apply_retention`, run every few minutes by ``services.video``): event directories whose
newest file is older than ``days`` go, then, while everything takes more than ``max_gb`` gigabytes, the
oldest events (lowest id) go first; the newest event and events still being written are never deleted.

Replay (:func:`clip_jpegs`, :func:`replay_clip`): the clip's JPEG frames read straight from the AVI's
``movi`` chunks (no decode, no re-encode), with its frame period, for the ``clip.mjpg`` route.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import shutil
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from plant.schema import VideoClass
from video.types import Detection

logger = logging.getLogger(__name__)

PRE_S = 5.0  # seconds of frames kept before an event starts
POST_S = 5.0  # seconds recorded after it starts
CLIP_FPS = 5.0  # at most this many frames a second in the ring and the clips
CLIP_WIDTH = 640  # ring and clip frames at most this wide (height in proportion)
CLIP_QUALITY = 75  # JPEG quality of the ring's frames
SNAPSHOT_QUALITY = 88
THUMB_WIDTH = 320
THUMB_QUALITY = 80
GRACE_MS = 3_000  # a pending clip waits this long past its end for frames before it is written anyway

SNAPSHOT = "snapshot.jpg"
THUMB = "thumb.jpg"
CLIP = "clip.avi"
FILES = (SNAPSHOT, THUMB, CLIP)
CLIP_FOURCC = "MJPG"
TMP_MAX_AGE_S = 3600.0  # a temporary file older than this is a leftover of a crash: retention removes it

# BGR colours of the boxes drawn on snapshots, by class.
CLASS_COLOURS: dict[VideoClass, tuple[int, int, int]] = {
    VideoClass.FLAME: (0, 64, 255),
    VideoClass.SMOKE: (200, 200, 200),
    VideoClass.INTRUSION: (0, 0, 230),
    VideoClass.NO_HARDHAT: (0, 200, 255),
    VideoClass.SPILL: (255, 160, 0),
    VideoClass.MAN_DOWN: (255, 0, 255),
}

OnWritten = Callable[[int, dict[str, bool]], None]


# --- paths -----------------------------------------------------------------------------------------------


def event_dir(root: Path, event_id: int) -> Path:
    """The directory of an event's media (the id as an integer: no path comes from anyone's input)."""
    return Path(root) / str(int(event_id))


def media_file(root: Path, event_id: int, name: str) -> Path:
    """The path of one of an event's files (``name`` one of :data:`FILES`; ValueError otherwise)."""
    if name not in FILES:
        raise ValueError(f"unknown media file {name!r}")
    return event_dir(root, event_id) / name


def _tmp_path(path: Path) -> Path:
    """A hidden temporary name beside ``path`` keeping its extension (the video writer picks the container
    by the extension)."""
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# --- images ----------------------------------------------------------------------------------------------


def encode_jpeg(img: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def scaled_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """``(w, h)`` at most ``max_width`` wide, the aspect kept, both even (what video codecs like)."""
    if width <= max_width:
        w, h = width, height
    else:
        w, h = max_width, round(height * max_width / width)
    return max(2, w - w % 2), max(2, h - h % 2)


def resize_to(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (img.shape[1], img.shape[0]) == size:
        return img
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def annotate(frame: np.ndarray, detection: Detection | None) -> np.ndarray:
    """A copy of ``frame`` with the detection's box and its "class 0.87" label drawn."""
    img = frame.copy()
    if detection is None:
        return img
    fh, fw = img.shape[:2]
    x, y, w, h = (int(v) for v in detection.box)
    x0, y0 = min(max(0, x), fw - 1), min(max(0, y), fh - 1)
    x1, y1 = min(max(x0 + 1, x + w), fw - 1), min(max(y0 + 1, y + h), fh - 1)
    colour = CLASS_COLOURS.get(detection.cls, (0, 0, 255))
    thick = max(2, round(fw / 400))
    cv2.rectangle(img, (x0, y0), (x1, y1), colour, thick)
    label = f"{detection.cls.value} {detection.confidence:.2f}"
    scale = max(0.5, fw / 1600)
    text_thick = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, text_thick)
    pad = 4
    top = y0 - th - base - 2 * pad
    if top < 0:  # no room above the box: the label goes inside its top edge
        top = min(y0 + thick, fh - th - base - 2 * pad)
    left = min(x0, max(0, fw - tw - 2 * pad))
    cv2.rectangle(img, (left, top), (left + tw + 2 * pad, top + th + base + 2 * pad), colour, -1)
    ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    cv2.putText(img, label, (left + pad, top + pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, text_thick, cv2.LINE_AA)
    return img


# --- the ring of recent frames ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RingFrame:
    ts_ms: int  # the frame's time, epoch milliseconds
    jpeg: bytes


class FrameRing:
    """The last ``seconds`` of a camera as small JPEGs, at most ``fps`` a second (older ones dropped).

    Used from one thread (the camera's pipeline). Memory: about ``seconds * fps`` JPEGs of at most
    ``width`` pixels wide (:attr:`nbytes`).
    """

    def __init__(
        self, seconds: float = PRE_S, fps: float = CLIP_FPS, width: int = CLIP_WIDTH, quality: int = CLIP_QUALITY
    ) -> None:
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        if not (math.isfinite(fps) and 0 < fps <= 30):
            raise ValueError(f"fps must be in (0, 30], got {fps!r}")
        if width < 16:
            raise ValueError(f"width too small: {width!r}")
        self.span_ms = int(seconds * 1000)
        self.fps = float(fps)
        self.period_ms = 1000.0 / fps
        self.width = int(width)
        self.quality = int(quality)
        self._frames: deque[RingFrame] = deque(maxlen=math.ceil(seconds * fps) + 2)
        self._last_ms: int | None = None
        self._bytes = 0

    def due(self, ts_ms: int) -> bool:
        """Whether a frame at ``ts_ms`` would be taken (one per period; 10 % jitter allowed)."""
        return self._last_ms is None or ts_ms - self._last_ms >= 0.9 * self.period_ms or ts_ms < self._last_ms

    def push(self, frame: np.ndarray, ts_ms: int) -> RingFrame | None:
        """Take ``frame`` if one is due (reduced and JPEG-encoded); the frame taken, or None."""
        if not self.due(ts_ms):
            return None
        size = scaled_size(frame.shape[1], frame.shape[0], self.width)
        item = RingFrame(int(ts_ms), encode_jpeg(resize_to(frame, size), self.quality))
        if len(self._frames) == self._frames.maxlen:
            self._bytes -= len(self._frames[0].jpeg)
        self._frames.append(item)
        self._bytes += len(item.jpeg)
        self._last_ms = item.ts_ms
        while self._frames and self._frames[0].ts_ms < item.ts_ms - self.span_ms:
            self._bytes -= len(self._frames.popleft().jpeg)
        return item

    def since(self, ts_ms: int) -> list[RingFrame]:
        """The frames at or after ``ts_ms``, oldest first."""
        return [f for f in self._frames if f.ts_ms >= ts_ms]

    def clear(self) -> None:
        self._frames.clear()
        self._bytes = 0
        self._last_ms = None

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def nbytes(self) -> int:
        return self._bytes


# --- writing files ----------------------------------------------------------------------------------------


def write_snapshot(root: Path, event_id: int, frame: np.ndarray, detection: Detection | None) -> dict[str, bool]:
    """``snapshot.jpg`` (box drawn) and ``thumb.jpg`` of an event; what was written."""
    img = annotate(frame, detection)
    write_atomic(media_file(root, event_id, SNAPSHOT), encode_jpeg(img, SNAPSHOT_QUALITY))
    thumb = resize_to(img, scaled_size(img.shape[1], img.shape[0], THUMB_WIDTH))
    write_atomic(media_file(root, event_id, THUMB), encode_jpeg(thumb, THUMB_QUALITY))
    return {"snapshot": True, "thumb": True}


def clip_fps(frames: Sequence[RingFrame], nominal: float = CLIP_FPS) -> float:
    """The frame rate the frames were taken at (so the clip plays in real time), within 0.5..30."""
    if len(frames) < 2 or frames[-1].ts_ms <= frames[0].ts_ms:
        return nominal
    fps = (len(frames) - 1) * 1000.0 / (frames[-1].ts_ms - frames[0].ts_ms)
    return round(min(30.0, max(0.5, fps)), 3)


def write_clip(
    path: Path, frames: Sequence[RingFrame], nominal_fps: float = CLIP_FPS, track: Sequence[Sighting] = ()
) -> int:
    """A Motion-JPEG AVI of ``frames`` at their own rate, written atomically; the frames written (0: no
    file). With ``track`` (a person's boxes over time), each frame shows the box of the nearest sighting
    within :data:`TRACK_NEAR_MS`, so the box follows the person."""
    images = (cv2.imdecode(np.frombuffer(f.jpeg, np.uint8), cv2.IMREAD_COLOR) for f in frames)
    ts = [f.ts_ms for f in frames]
    first: np.ndarray | None = None
    writer: cv2.VideoWriter | None = None
    tmp = _tmp_path(path)
    written = 0
    try:
        for img in images:
            if img is None:
                continue
            if first is None:
                first = img
                path.parent.mkdir(parents=True, exist_ok=True)
                size = (img.shape[1], img.shape[0])
                writer = cv2.VideoWriter(
                    str(tmp), cv2.VideoWriter.fourcc(*CLIP_FOURCC), clip_fps(frames, nominal_fps), size
                )
                if not writer.isOpened():
                    raise RuntimeError(f"cannot open a {CLIP_FOURCC} video writer")
            assert writer is not None
            img = resize_to(img, (first.shape[1], first.shape[0]))
            if track:
                _draw_sighting(img, track, ts[written])
            writer.write(img)
            written += 1
    except Exception:
        if writer is not None:
            writer.release()
        tmp.unlink(missing_ok=True)
        raise
    if writer is not None:
        writer.release()
    if not written:
        tmp.unlink(missing_ok=True)
        return 0
    os.replace(tmp, path)
    return written


TRACK_NEAR_MS = 1500  # a clip frame shows a sighting's box at most this far from it in time


@dataclass(frozen=True)
class Sighting:
    """Where a tracked person was at one analysed frame (box in pixels of a ``frame`` [w, h] picture)."""

    ts_ms: int
    box: tuple[int, int, int, int]
    frame: tuple[int, int]


def _draw_sighting(img: np.ndarray, track: Sequence[Sighting], ts_ms: int) -> None:
    near = min(track, key=lambda s: abs(s.ts_ms - ts_ms))
    if abs(near.ts_ms - ts_ms) > TRACK_NEAR_MS:
        return
    sx, sy = img.shape[1] / near.frame[0], img.shape[0] / near.frame[1]
    x, y, w, h = near.box
    cv2.rectangle(img, (round(x * sx), round(y * sy)), (round((x + w) * sx), round((y + h) * sy)), (0, 0, 255), 2)


class MediaWriter:
    """One background thread writing every camera's snapshots and clips, in the order asked.

    ``on_written(event_id, flags)`` is called from that thread after each file set is in place
    (``{"snapshot": True, "thumb": True}``, then ``{"clip": True}``); its errors are logged, not raised.
    :meth:`busy` lists the events whose media are still being made (retention leaves them alone).
    """

    def __init__(self, root: Path, on_written: OnWritten | None = None, *, nominal_fps: float = CLIP_FPS) -> None:
        self.root = Path(root)
        self.on_written = on_written
        self.nominal_fps = nominal_fps
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._busy: dict[int, int] = {}  # event id -> pending jobs (snapshot, clip)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._jobs = 0
        self._thread: threading.Thread | None = None
        self.written = {"snapshot": 0, "clip": 0, "failed": 0}

    def start(self) -> MediaWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="video-media-writer", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 30.0) -> None:
        """Write what was asked for, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def busy(self) -> set[int]:
        with self._lock:
            return set(self._busy)

    def reserve(self, event_id: int) -> None:
        """Mark an event's media as being made (until :meth:`release` or its clip is written)."""
        with self._lock:
            self._busy[event_id] = self._busy.get(event_id, 0) + 1

    def release(self, event_id: int) -> None:
        with self._lock:
            n = self._busy.get(event_id, 0) - 1
            if n > 0:
                self._busy[event_id] = n
            else:
                self._busy.pop(event_id, None)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every job asked for so far is done (tests, shutdown); False on time-out."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._jobs:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def snapshot(self, event_id: int, frame: np.ndarray, detection: Detection | None) -> None:
        """Queue an event's snapshot and thumbnail (``frame`` is not modified; it must not be changed after)."""
        self._submit(event_id, lambda: write_snapshot(self.root, event_id, frame, detection), "snapshot")

    def clip(self, event_id: int, frames: Sequence[RingFrame], track: Sequence[Sighting] = ()) -> None:
        """Queue an event's clip of ``frames``."""

        def job() -> dict[str, bool]:
            n = write_clip(media_file(self.root, event_id, CLIP), frames, self.nominal_fps, track)
            if n:
                logger.info("event %d: clip of %d frames written", event_id, n)
            return {"clip": bool(n)}

        self._submit(event_id, job, "clip")

    def _submit(self, event_id: int, work: Callable[[], dict[str, bool]], what: str) -> None:
        self.reserve(event_id)

        def job() -> None:
            try:
                flags = work()
                if any(flags.values()):
                    self.written[what] += 1
                    if self.on_written is not None:
                        self.on_written(event_id, flags)
            except Exception:
                self.written["failed"] += 1
                logger.exception("event %d: writing its %s failed", event_id, what)
            finally:
                self.release(event_id)

        with self._lock:
            self._jobs += 1
        self.start()
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            finally:
                with self._idle:
                    self._jobs -= 1
                    self._idle.notify_all()


@dataclass
class _PendingClip:
    event_id: int
    start_ms: int
    until_ms: int
    frames: list[RingFrame] = field(default_factory=list)
    track: list[Sighting] = field(default_factory=list)  # a tracked person's boxes (drawn in the clip)


class EventMedia:
    """One camera's ring and pending clips (used from the camera's pipeline thread only)."""

    def __init__(
        self,
        writer: MediaWriter,
        *,
        pre_s: float = PRE_S,
        post_s: float = POST_S,
        fps: float = CLIP_FPS,
        width: int = CLIP_WIDTH,
        quality: int = CLIP_QUALITY,
        grace_ms: int = GRACE_MS,
    ) -> None:
        self.writer = writer
        self.ring = FrameRing(pre_s, fps, width, quality)
        self.pre_ms = int(pre_s * 1000)
        self.post_ms = int(post_s * 1000)
        self.grace_ms = int(grace_ms)
        self._pending: list[_PendingClip] = []

    def add_frame(self, frame: np.ndarray, ts_ms: int) -> RingFrame | None:
        """Offer a camera frame: taken into the ring if due, and into pending clips; finishes clips whose
        end has passed. The frame taken, if any."""
        self._finish(lambda p: ts_ms > p.until_ms)
        item = self.ring.push(frame, ts_ms)
        if item is not None:
            for p in self._pending:
                if p.frames and item.ts_ms <= p.frames[-1].ts_ms:
                    continue
                p.frames.append(item)
        return item

    def start(self, event_id: int, frame: np.ndarray, detection: Detection | None, ts_ms: int) -> None:
        """An event started at ``ts_ms`` on ``frame``: its snapshot now, its clip when the post-frames are in."""
        self.writer.snapshot(event_id, frame, detection)
        self.writer.reserve(event_id)  # held until the clip is queued
        self._pending.append(_PendingClip(event_id, ts_ms, ts_ms + self.post_ms, self.ring.since(ts_ms - self.pre_ms)))

    def follow(self, event_id: int, sighting: Sighting) -> None:
        """A tracked person's box at an analysed frame, drawn on the event's clip frames near that time."""
        for p in self._pending:
            if p.event_id == event_id:
                p.track.append(sighting)

    def tick(self, now_ms: int) -> None:
        """Write the clips whose end passed ``grace_ms`` ago without frames (the camera went quiet)."""
        self._finish(lambda p: now_ms > p.until_ms + self.grace_ms)

    def flush(self) -> None:
        """Write every pending clip now, with the frames it has (stop, camera offline)."""
        self._finish(lambda p: True)

    @property
    def pending(self) -> list[int]:
        return [p.event_id for p in self._pending]

    def _finish(self, done: Callable[[_PendingClip], bool]) -> None:
        if not self._pending:
            return
        keep: list[_PendingClip] = []
        for p in self._pending:
            if done(p):
                self.writer.clip(p.event_id, p.frames, p.track)
                self.writer.release(p.event_id)
            else:
                keep.append(p)
        self._pending = keep


# --- retention --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionReport:
    deleted: list[int]  # event ids whose media were deleted, oldest first
    by_age: int  # of those, for being older than the days limit
    by_size: int  # ...for the size limit
    freed_bytes: int
    kept: int  # events with media left
    kept_bytes: int


def _dir_stats(path: Path, now: float) -> tuple[int, float]:
    """Bytes and newest modification time of an event directory's files (stale temporary files removed)."""
    size = 0
    newest = 0.0
    for entry in os.scandir(path):
        if not entry.is_file(follow_symlinks=False):
            continue
        st = entry.stat(follow_symlinks=False)
        if entry.name.startswith(".") and ".tmp" in entry.name and now - st.st_mtime > TMP_MAX_AGE_S:
            Path(entry.path).unlink(missing_ok=True)
            continue
        size += st.st_size
        newest = max(newest, st.st_mtime)
    if not newest:
        newest = path.stat().st_mtime
    return size, newest


def media_events(root: Path) -> list[int]:
    """The event ids with a media directory under ``root``, ascending (other names are left alone)."""
    if not Path(root).is_dir():
        return []
    ids = []
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False) and entry.name.isdigit() and entry.name == str(int(entry.name)):
            ids.append(int(entry.name))
    return sorted(ids)


def apply_retention(
    root: Path,
    *,
    days: float,
    max_gb: float,
    now: float | None = None,
    keep: Iterable[int] = (),
) -> RetentionReport:
    """Delete event media older than ``days`` (newest file's time), then the oldest events (lowest id)
    while the total is above ``max_gb`` gigabytes (10^9 bytes). The newest event and ``keep`` (media still
    being written) are never deleted. Only directories named by an event id are touched."""
    now = time.time() if now is None else now
    root = Path(root)
    spared = {int(i) for i in keep}
    ids = media_events(root)
    if ids:
        spared.add(ids[-1])
    sizes: dict[int, int] = {}
    ages: dict[int, float] = {}
    for event_id in ids:
        try:
            sizes[event_id], ages[event_id] = _dir_stats(event_dir(root, event_id), now)
        except FileNotFoundError:
            continue
    deleted: list[int] = []
    freed = 0
    by_age = 0

    def drop(event_id: int) -> None:
        nonlocal freed
        shutil.rmtree(event_dir(root, event_id), ignore_errors=True)
        deleted.append(event_id)
        freed += sizes.pop(event_id)
        ages.pop(event_id)

    limit_s = days * 86400.0
    for event_id in sorted(sizes):
        if event_id not in spared and now - ages[event_id] > limit_s:
            drop(event_id)
            by_age += 1
    cap = int(max_gb * 1e9)
    total = sum(sizes.values())
    for event_id in sorted(sizes):
        if total <= cap:
            break
        if event_id in spared:
            continue
        total -= sizes[event_id]
        drop(event_id)
    report = RetentionReport(
        deleted=sorted(deleted),
        by_age=by_age,
        by_size=len(deleted) - by_age,
        freed_bytes=freed,
        kept=len(sizes),
        kept_bytes=sum(sizes.values()),
    )
    if deleted:
        logger.info(
            "media retention: deleted %d event(s) (%d older than %g days, %d over %g GB), %.1f MB freed; "
            "%d event(s), %.1f MB kept",
            len(deleted),
            report.by_age,
            days,
            report.by_size,
            max_gb,
            freed / 1e6,
            report.kept,
            report.kept_bytes / 1e6,
        )
    return report


# --- replay -----------------------------------------------------------------------------------------------


def _riff_chunks(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """``(fourcc, offset of the payload, size)`` of the RIFF chunks in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if body + size > end:
            return
        yield fourcc, body, size
        pos = body + size + (size & 1)


def clip_jpegs(path: Path) -> tuple[float, list[bytes]]:
    """The frame rate and the JPEG frames of a Motion-JPEG AVI, read from its chunks (no decoding); a
    file that is no such AVI is read through OpenCV and re-encoded instead."""
    data = Path(path).read_bytes()
    fps = 0.0
    frames: list[bytes] = []
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":

        def walk(start: int, end: int) -> None:
            nonlocal fps
            for fourcc, body, size in _riff_chunks(data, start, end):
                if fourcc == b"LIST" and size >= 4:
                    walk(body + 4, body + size)
                elif fourcc == b"avih" and size >= 4:
                    (usec,) = struct.unpack_from("<I", data, body)
                    fps = 1e6 / usec if usec else 0.0
                elif fourcc[2:] in (b"dc", b"db") and data[body : body + 2] == b"\xff\xd8":
                    frames.append(data[body : body + size])

        walk(12, min(len(data), 8 + struct.unpack_from("<I", data, 4)[0]))
    if not frames:
        cap = cv2.VideoCapture(str(path))
        try:
            fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
            while True:
                ok, img = cap.read()
                if not ok or img is None:
                    break
                frames.append(encode_jpeg(img, CLIP_QUALITY))
        finally:
            cap.release()
    if not (math.isfinite(fps) and 0.5 <= fps <= 60):
        fps = CLIP_FPS
    return fps, frames


def replay_clip(
    path: Path,
    *,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    max_frames: int | None = None,
) -> Iterator[bytes]:
    """The clip's JPEG frames one by one at the clip's own pace (the first at once)."""
    fps, frames = clip_jpegs(path)
    period = 1.0 / fps
    next_at = clock()
    for i, jpeg in enumerate(frames):
        if max_frames is not None and i >= max_frames:
            return
        wait = next_at - clock()
        if wait > 0:
            sleep(wait)
        yield jpeg
        next_at += period
