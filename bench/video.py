"""Video benchmark: the demo's analysed cameras at 1280x720 read and analysed together.

    python -m bench video            4 min of streams (incidents sped up: one every ~40 s per camera)
    python -m bench video --quick    90 s
    python -m bench video --smoke    2 cameras (a hall and a perimeter one) for 8 s, up to 2 relay viewers:
                                     checks that it runs, not a measurement

A :class:`simulator.cameras.CameraServer` runs in a subprocess (its rendering is not counted) serving the
demo plant's analysed cameras at 1280x720 and ``--camera-fps`` frames per second; the people are a
deterministic function of time (:func:`crowd`: people walking across each view, a vehicle now and then, on
the perimeter cameras people walking past the restricted area and one crossing into it every ~45 s), the
scripted incidents (:class:`simulator.video_scenes.Scenes`) play every 36-48 s for 12-24 s. This process
reads every camera through :class:`video.capture.Capture` (OpenCV, as the video service does) and runs a
:class:`video.detect.Analyzer` per camera at the camera's analytics fps (2).

Figures:

- ``analysed_fps_per_camera``: analysed frames per second per camera (median across cameras; target >= 2);
  ``received_fps_per_camera``: frames the captures decoded (what the loaded server managed to send);
- ``cpu_share``: this process's CPU seconds / wall seconds / CPU count (``cpu_per_core``: the same not
  divided, 1.0 = one core busy) - capture decoding and analysis, not rendering;
- ``analyse_ms_p50/p95``: one ``Analyzer.process`` call (wall clock, on a loaded machine);
- ``precision`` / ``recall`` per class and overall at frame level, against
  :meth:`simulator.video_scenes.Scenes.truth` at the frame's arrival time: a frame counts for a class when a
  detection of the class is active (started and not ended); frames within 1 s of a change of the truth are
  don't-care (the standard margin: render-to-arrival latency and the debounce's minimum frames);
- ``event_precision`` / ``event_recall``: one truth occurrence per contiguous stretch of a class on a
  camera (gaps under 3 s merged); a start trigger is a true event when it falls inside an occurrence
  (+- 2 s), an occurrence is found when a start trigger falls inside it;
- ``model``: the trained person detector (:mod:`video.models`, SSD-MobileNet v2 COCO through OpenCV DNN on
  ``cv2.setNumThreads`` threads): ``ssd_ms_p50`` per 1280x720 frame, ``capacity_fps`` (frames a second it
  can analyse in all), ``fps_per_camera_8`` (that shared by 8 cameras, every frame analysed: no motion
  gating credited), ``ssd_cpu_ms_p50`` (the process's CPU time per frame, all threads) and
  ``cpu_bound_fps_per_camera_8`` (what the machine's cores would give 8 cameras were they not shared with
  other work: cores x 1000 / CPU ms / 8); on real footage (Debian's ``opencv-doc`` ``vtest.avi``, skipped
  with a message when absent) ``real_precision`` / ``real_recall`` of people (score >= 0.5) on the frames
  annotated by hand in ``bench/person_truth.json``, a found box true when its IoU with an annotated one is at
  least 0.5 (each annotated person matched once); the same on scikit-image's photographs with a person
  (``photo_*``) and the people found in its photographs without one (``photos_without_people_found``);
  ``real_empty_people`` (people found in the street emptied of
  walkers, the median of its frames) and ``pose_ms_p50`` (MoveNet on one walker); on the demo's rendered
  cameras ``rendered_person_recall`` (frames with a drawn person of at least 60 px where the SSD finds one);
  ``concurrent_fps_per_camera`` (median; ``_min``): every camera at once through ``Analyzer`` with
  ``people: model`` in its own thread, each taking its newest frame when free (frames in between dropped),
  and ``concurrent_frame_age_ms_p95``, how old a frame is when its analysis ends (no queue builds up);
- ``relay_viewers``: the most viewers of one camera through :class:`video.relay.VideoRelay` (4 fps) for
  which every viewer still gets >= 90 % of the relay's frame rate (tried 1, 2, 4, ... up to 128).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import _smoke
from plant import load_plant
from plant.schema import Camera, Plant, VideoClass
from simulator.video_scenes import Figure, Scenes, _drawn_boxes, ground_point

PLANT_FILE = Path(__file__).resolve().parent.parent / "plant" / "demo_smelter.yaml"
BENCH_EVERY_S = (36.0, 48.0)
BENCH_DURATION_S = (12.0, 24.0)
SIZE = (1280, 720)


def bench_plant() -> Plant:
    return load_plant(PLANT_FILE)


def analysed(plant: Plant) -> list[Camera]:
    return [c for c in plant.cameras if c.analytics is not None]


def smoke_cameras(plant: Plant) -> list[Camera]:
    """A hall camera and a perimeter camera (one with a restricted area) of the analysed ones."""
    cams = analysed(plant)
    hall = [c for c in cams if c.analytics is not None and not c.analytics.restricted][:1]
    perimeter = [c for c in cams if c.analytics is not None and c.analytics.restricted][:1]
    return hall + perimeter or cams[:2]


def bench_scenes(plant: Plant) -> Scenes:
    return Scenes(plant, every_s=BENCH_EVERY_S, duration_s=BENCH_DURATION_S, seed=11)


class Crowd:
    """People (and vehicles) as a deterministic function of time: walkers crossing each analysed camera's
    view on lines of the floor (image rows cast onto the floor), so the same figures are drawn by the
    server and known to the scorer."""

    def __init__(self, plant: Plant) -> None:
        self.paths: list[tuple[tuple[float, float], tuple[float, float], float, float, float, str]] = []
        # (a, b, period s, phase s, walking share of the period, kind): a -> b, then gone, then again.
        for ci, cam in enumerate(analysed(plant)):
            rows = [(0.78, 22.0, "person"), (0.9, 28.0, "person"), (0.66, 34.0, "vehicle")]
            if cam.analytics is not None and cam.analytics.restricted:
                edge = max(y for _, y in cam.analytics.restricted[0])  # the near boundary
                rows = [(min(0.95, edge + 0.1), 20.0, "person"), (min(0.97, edge + 0.25), 26.0, "person")]
                # One crosser: from the bottom into the restricted area and back (every 45 s).
                a = ground_point(cam, 0.75, min(0.95, edge + 0.3))
                b = ground_point(cam, 0.72, max(0.05, edge - 0.08))
                if a and b:
                    self.paths.append((a, b, 45.0, 7.0 * ci, 0.5, "crosser"))
            for k, (v, period, kind) in enumerate(rows):
                a = ground_point(cam, -0.05, v)
                b = ground_point(cam, 1.05, v)
                if a and b:
                    if k % 2:
                        a, b = b, a
                    self.paths.append((a, b, period * (1.6 if kind == "vehicle" else 1.0), 3.0 * ci + 5 * k, 0.8, kind))

    def __call__(self, t: float | None = None) -> list[Figure]:
        t = time.time() if t is None else t
        out: list[Figure] = []
        for a, b, period, phase, share, kind in self.paths:
            f = ((t + phase) % period) / (period * share)
            if kind == "crosser":  # there and back
                if f > 1:
                    continue
                f = 2 * f if f < 0.5 else 2 - 2 * f
                out.append((a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), "person"))
                continue
            if f > 1:
                continue
            out.append((a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), kind))
        return out


# ------------------------------------------------------------------------------------------ camera server
def serve(port: int, fps: float, size: tuple[int, int]) -> None:
    """The subprocess: serve the analysed cameras until stdin closes (prints the port first)."""
    from simulator.cameras import CameraServer

    plant = bench_plant()
    server = CameraServer(plant, port=port, people=Crowd(plant), fps=fps, size=size, scenes=bench_scenes(plant))
    server.start()
    sys.stdout.write(f"{server.port}\n")
    sys.stdout.flush()
    try:
        sys.stdin.read()
    finally:
        server.stop()


class _Server:
    def __init__(self, fps: float, size: tuple[int, int]) -> None:
        cmd = [
            sys.executable,
            "-m",
            "bench.video",
            "--serve",
            "--camera-fps",
            str(fps),
            "--size",
            f"{size[0]}x{size[1]}",
        ]
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=root, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.close()
            raise RuntimeError(f"camera server did not start: {line!r}")
        self.port = int(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# ---------------------------------------------------------------------------------------------- analysis
class _Record:
    def __init__(self) -> None:
        self.frames: list[tuple[int, frozenset[VideoClass], bool]] = []  # ts, detected classes, ran
        self.starts: list[tuple[int, VideoClass]] = []
        self.ms: list[float] = []
        self.received = 0
        self.window_ms = 0  # the last frame of the warm-up: occurrences already under way then are not scored


def _analyse(cam: Camera, port: int, until: float, warmup_until: float, rec: _Record, stop: threading.Event) -> None:
    from video.capture import Capture
    from video.detect import Analyzer

    cap = Capture(cam.id, f"http://127.0.0.1:{port}/camera/{cam.id}.mjpg").start()
    an = Analyzer(cam)
    seq = 0
    try:
        while not stop.is_set() and time.time() < until:
            got = cap.wait_frame(seq, timeout=2.0)
            if got is None:
                continue
            frame, seq = got
            now = time.time()
            ts = int(now * 1000)
            if now >= warmup_until:
                rec.received += 1
            if not an.due(ts):
                continue
            t0 = time.perf_counter()
            a = an.process(frame, ts)
            spent = (time.perf_counter() - t0) * 1000
            rec.starts += [(t.ts_ms, t.cls) for t in a.triggers if t.kind == "start"]
            if now < warmup_until:
                rec.window_ms = ts
                continue
            rec.ms.append(spent)
            rec.frames.append((ts, frozenset(d.cls for d in a.detections), a.ran))
    finally:
        cap.stop()


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def score(plant: Plant, records: dict[str, _Record], margin_ms: int = 1000) -> dict[str, Any]:
    """Frame-level and event-level precision and recall against :meth:`Scenes.truth`."""
    scenes, crowd = bench_scenes(plant), Crowd(plant)
    cams = {c.id: c for c in analysed(plant)}
    frame = defaultdict(lambda: [0, 0, 0])  # class -> tp, fp, fn
    ignored = 0
    occurrences: dict[tuple[str, VideoClass], list[list[int]]] = defaultdict(list)
    for cam_id, rec in records.items():
        classes = list(cams[cam_id].analytics.detect)  # type: ignore[union-attr]

        def truth(t_ms: float, cam_id: str = cam_id) -> set[VideoClass]:
            return scenes.truth(cam_id, t_ms, crowd(t_ms / 1000), SIZE)

        for ts, found, _ in rec.frames:
            now = truth(ts)
            for cls in classes:
                if cls in now:
                    occ = occurrences[(cam_id, cls)]
                    if occ and ts - occ[-1][1] <= 3000:
                        occ[-1][1] = ts
                    else:
                        occ.append([ts, ts])
            around = (truth(ts - margin_ms), truth(ts + margin_ms))
            for cls in classes:
                if (cls in around[0]) != (cls in now) or (cls in around[1]) != (cls in now):
                    ignored += 1
                    continue
                got, want = cls in found, cls in now
                frame[cls][0] += got and want
                frame[cls][1] += got and not want
                frame[cls][2] += want and not got
    event = defaultdict(lambda: [0, 0, 0, 0])  # class -> true starts, starts, found occurrences, occurrences
    for cam_id, rec in records.items():
        for cls in cams[cam_id].analytics.detect:  # type: ignore[union-attr]
            occ = [o for o in occurrences.get((cam_id, cls), []) if o[1] - o[0] >= 1500 and o[0] > rec.window_ms + 2000]
            starts = [ts for ts, c in rec.starts if c == cls]
            event[cls][0] += sum(
                ts > rec.window_ms + 2000
                and any(o[0] - 2000 <= ts <= o[1] + 2000 for o in occurrences.get((cam_id, cls), []))
                for ts in starts
            )
            event[cls][1] += sum(ts > rec.window_ms + 2000 for ts in starts)
            event[cls][2] += sum(any(o[0] - 2000 <= ts <= o[1] + 2000 for ts in starts) for o in occ)
            event[cls][3] += len(occ)
    out: dict[str, Any] = {"dont_care_frame_classes": ignored}
    tot = [0, 0, 0]
    etot = [0, 0, 0, 0]
    for cls in VideoClass:
        tp, fp, fn = frame[cls]
        tot = [a + b for a, b in zip(tot, (tp, fp, fn), strict=True)]
        out[f"precision_{cls.value}"] = _ratio(tp, tp + fp)
        out[f"recall_{cls.value}"] = _ratio(tp, tp + fn)
        out[f"frames_true_{cls.value}"] = tp + fn
        e = event[cls]
        etot = [a + b for a, b in zip(etot, e, strict=True)]
        out[f"event_precision_{cls.value}"] = _ratio(e[0], e[1])
        out[f"event_recall_{cls.value}"] = _ratio(e[2], e[3])
        out[f"events_{cls.value}"] = e[3]
    out["precision"] = _ratio(tot[0], tot[0] + tot[1])
    out["recall"] = _ratio(tot[0], tot[0] + tot[2])
    out["event_precision"] = _ratio(etot[0], etot[1])
    out["event_recall"] = _ratio(etot[2], etot[3])
    return out


# ------------------------------------------------------------------------------------------------- relay
def relay_viewers(plant: Plant, port: int, seconds: float, max_viewers: int = 128) -> dict[str, Any]:
    """The most viewers of one camera through the relay for which every one gets >= 90 % of its fps."""
    from video.relay import VideoRelay

    cam = analysed(plant)[0]
    relay = VideoRelay(lambda: {cam.id: cam}, port=port)
    best, tried = 0, {}
    try:
        if relay.snapshot(cam.id, wait_s=20) is None:
            raise RuntimeError("relay: no first frame")
        n = 1
        while n <= max_viewers:
            counts = [0] * n
            start = time.monotonic() + 1.0  # count after a second of warm-up
            end = start + seconds

            def view(k: int, counts: list[int] = counts, start: float = start, end: float = end) -> None:
                gen = relay.frames(cam.id)
                try:
                    for _ in gen:
                        now = time.monotonic()
                        if now >= end:
                            break
                        if now >= start:
                            counts[k] += 1
                finally:
                    gen.close()

            threads = [threading.Thread(target=view, args=(k,), daemon=True) for k in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(seconds + 30)
            worst = min(counts) / seconds
            tried[n] = round(worst, 2)
            if worst < 0.9 * relay.fps:
                break
            best = n
            n *= 2
    finally:
        relay.close()
    return {"relay_viewers": best, "relay_fps": relay.fps, "relay_worst_fps_by_viewers": tried}


# -------------------------------------------------------------------------------------------------- main
def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench video", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="90 s instead of 4 min")
    _smoke.add_flag(parser)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--camera-fps", type=float, default=4.0, help="frames per second each camera sends")
    parser.add_argument("--relay-seconds", type=float, default=None)
    args = parser.parse_args(argv)
    smoke = args.smoke
    seconds = args.seconds or (8.0 if smoke else 90.0 if args.quick else 240.0)
    relay_s = args.relay_seconds or (1.0 if smoke else 4.0 if args.quick else 8.0)
    plant = bench_plant()
    cams = smoke_cameras(plant) if smoke else analysed(plant)
    server = _Server(args.camera_fps, SIZE)
    try:
        warmup = 3.0 if smoke else 5.0
        begin = time.time()
        records = {c.id: _Record() for c in cams}
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_analyse, args=(c, server.port, begin + warmup + seconds, begin + warmup, records[c.id], stop)
            )
            for c in cams
        ]
        for t in threads:
            t.start()
        time.sleep(warmup)
        cpu0, wall0 = time.process_time(), time.monotonic()
        for t in threads:
            t.join(seconds + 60)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        stop.set()
        load = os.getloadavg()
        relay = relay_viewers(plant, server.port, relay_s, max_viewers=2 if smoke else 128)
    finally:
        server.close()
    fps = sorted(
        (len(r.frames) - 1) * 1000 / max(1, r.frames[-1][0] - r.frames[0][0]) if len(r.frames) > 1 else 0.0
        for r in records.values()
    )
    ms = sorted(m for r in records.values() for m in r.ms)
    out: dict[str, Any] = {
        "cameras": len(cams),
        "frame": f"{SIZE[0]}x{SIZE[1]}",
        "camera_fps": args.camera_fps,
        "seconds": seconds,
        "analysed_fps_per_camera": round(statistics.median(fps), 2),
        "analysed_fps_min": round(fps[0], 2),
        "received_fps_per_camera": round(statistics.median(r.received / seconds for r in records.values()), 2),
        "ran_share": round(
            sum(ran for r in records.values() for _, _, ran in r.frames)
            / max(1, sum(len(r.frames) for r in records.values())),
            3,
        ),
        "analyse_ms_p50": round(ms[len(ms) // 2], 1) if ms else None,
        "analyse_ms_p95": round(ms[int(len(ms) * 0.95)], 1) if ms else None,
        "cpu_per_core": round(cpu / wall, 3),
        "cpu_share": round(cpu / wall / (os.cpu_count() or 1), 3),
        "cpu_count": os.cpu_count(),
        "load_avg": [round(x, 2) for x in load],
    }
    out.update(score(plant, records))
    out.update(relay)
    out["model"] = model_figures(plant, smoke)
    return _smoke.mark(out, smoke)


def concurrent_cameras(
    plant: Plant, cams: list[Camera], renderers: dict[str, Any], crowd: Crowd, seconds: float
) -> dict[str, Any]:
    """The cameras analysed at once with the trained detector (``people: model``), each in its own thread
    as in the video service, each taking its newest frame when it is free (frames between are dropped):
    analysed frames a second per camera, and how old a frame is when its analysis ends (no queue: about
    one analysis)."""
    from video.detect import Analyzer

    frames = {}
    for c in cams:
        frames[c.id] = [
            renderers[c.id].frame(crowd(1_800_000_000.0 + 0.5 * k), 1_800_000_000.0 + 0.5 * k) for k in range(4)
        ]
    counts: dict[str, int] = {c.id: 0 for c in cams}
    ages: list[float] = []
    stop = time.monotonic() + seconds

    def run(cam: Camera) -> None:
        assert cam.analytics is not None
        model_cam = cam.model_copy(update={"analytics": cam.analytics.model_copy(update={"people": "model"})})
        an = Analyzer(model_cam)
        k = 0
        while time.monotonic() < stop:
            taken = time.monotonic()  # the newest frame, now
            an.process(frames[cam.id][k % 4], int(time.time() * 1000))
            ages.append((time.monotonic() - taken) * 1000)
            counts[cam.id] += 1
            k += 1

    threads = [threading.Thread(target=run, args=(c,)) for c in cams]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    fps = sorted(n / wall for n in counts.values())
    ages.sort()
    return {
        "concurrent_cameras": len(cams),
        "concurrent_fps_per_camera": round(statistics.median(fps), 2),
        "concurrent_fps_min": round(fps[0], 2),
        "concurrent_frame_age_ms_p95": round(ages[int(len(ages) * 0.95)], 1) if ages else None,
        "concurrent_load_avg": [round(x, 2) for x in os.getloadavg()],
    }


VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
# People annotated by hand (boxes) on frames of vtest.avi and on scikit-image's photographs.
TRUTH_FILE = Path(__file__).resolve().parent / "person_truth.json"
MATCH_IOU = 0.5  # a found box is a true person when its IoU with an annotated one is at least this


def person_truth() -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(TRUTH_FILE.read_text(encoding="utf-8"))
    return data


def matched(found: list[tuple[int, int, int, int]], truth: list[tuple[int, int, int, int]]) -> int:
    """How many found boxes match an annotated one (IoU >= :data:`MATCH_IOU`, each used once, best first)."""
    from video.track import iou

    pairs = sorted(((iou(f, t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)), reverse=True)
    used_f: set[int] = set()
    used_t: set[int] = set()
    for v, i, j in pairs:
        if v < MATCH_IOU:
            break
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return len(used_f)


def skimage_data() -> Path | None:
    """scikit-image's data folder (its photographs), found without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data"


def pr_figures(ssd: Any, pictures: dict[str, tuple[Any, list[Any]]], prefix: str) -> dict[str, Any]:
    """Precision and recall by IoU match of the SSD's people (score >= 0.5) on annotated pictures."""
    n_found = n_truth = n_tp = 0
    for img, truth in pictures.values():
        found = [f.box for f in ssd.detect(img) if f.person and f.score >= 0.5]
        boxes = [tuple(b) for b in truth]
        n_tp += matched(found, boxes)
        n_found += len(found)
        n_truth += len(boxes)
    return {
        f"{prefix}_pictures": len(pictures),
        f"{prefix}_annotated": n_truth,
        f"{prefix}_found": n_found,
        f"{prefix}_matched": n_tp,
        f"{prefix}_precision": round(n_tp / n_found, 3) if n_found else None,
        f"{prefix}_recall": round(n_tp / n_truth, 3) if n_truth else None,
    }


def model_figures(plant: Plant, smoke: bool) -> dict[str, Any]:
    """The trained person detector: speed at 1280x720, counts on real footage, recall on rendered people."""
    import cv2
    import numpy as np

    from simulator.cameras import CameraRenderer
    from video.models import ModelMissingError, shared_ssd

    try:
        ssd = shared_ssd()
    except ModelMissingError as e:
        return {"skipped": str(e)}
    out: dict[str, Any] = {"threads": cv2.getNumThreads()}
    cams = smoke_cameras(plant) if smoke else analysed(plant)
    crowd, scenes = Crowd(plant), bench_scenes(plant)
    renderers = {c.id: CameraRenderer(plant, c, *SIZE, scenes=scenes) for c in cams}
    times: list[float] = []
    cpu: list[float] = []  # CPU time of the process (all of OpenCV's threads) per frame
    frames_with, found_in = 0, 0
    steps = 2 if smoke else 12
    for k in range(steps):
        t = 1_800_000_000.0 + 7.3 * k
        for c in cams:
            figures = crowd(t)
            img = renderers[c.id].frame(figures, t)
            t0, c0 = time.perf_counter(), time.process_time()
            people = [f for f in ssd.detect(img) if f.person and f.score >= 0.5]
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            drawn = _drawn_boxes(c, figures + scenes.figures(c.id, t * 1000), *SIZE)
            if any(kind != "vehicle" and 0 <= foot[0] < SIZE[0] and box[3] >= 60 for _, box, kind, foot in drawn):
                frames_with += 1
                found_in += bool(people)
    times.sort()
    cpu.sort()
    p50, cpu50 = times[len(times) // 2], cpu[len(cpu) // 2]
    cores = os.cpu_count() or 1
    out.update(
        ssd_cpu_ms_p50=round(cpu50, 1),
        # What the cores could analyse were they not shared: all of their CPU time spent on the network.
        cpu_bound_fps=round(1000 * cores / cpu50, 2),
        cpu_bound_fps_per_camera_8=round(1000 * cores / cpu50 / 8, 2),
        load_avg=[round(x, 2) for x in os.getloadavg()],
        ssd_ms_p50=round(p50, 1),
        ssd_ms_p95=round(times[int(len(times) * 0.95)], 1),
        capacity_fps=round(1000 / p50, 2),
        fps_per_camera_8=round(1000 / p50 / 8, 2),
        rendered_person_recall=round(found_in / frames_with, 3) if frames_with else None,
        rendered_frames_with_people=frames_with,
    )
    out.update(concurrent_cameras(plant, cams, renderers, crowd, 3.0 if smoke else 20.0))
    if not VTEST.exists():
        out["real"] = f"skipped: {VTEST} is not installed (apt-get install opencv-doc)"
        return out
    truth = person_truth()
    annotated = {int(k): v for k, v in truth["vtest"].items()}
    cap = cv2.VideoCapture(str(VTEST))
    frames: dict[int, np.ndarray] = {}
    k = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if k in annotated or k % 25 == 0:
            frames[k] = frame
        k += 1
    empty = np.median(np.stack([f for i, f in frames.items() if i % 25 == 0]), axis=0).astype(np.uint8)
    out.update(pr_figures(ssd, {str(i): (frames[i], b) for i, b in annotated.items()}, "real"))
    out["real_empty_people"] = len([f for f in ssd.detect(empty) if f.person and f.score >= 0.5])
    data = skimage_data()
    if data is None:
        out["photos"] = "skipped: scikit-image is not installed (requirements-dev.txt)"
    else:
        photos = {n: (cv2.imread(str(data / n)), b) for n, b in truth["photos"].items() if (data / n).is_file()}
        out.update(pr_figures(ssd, {n: p for n, p in photos.items() if p[1]}, "photo"))
        out["photos_without_people"] = len([n for n, p in photos.items() if not p[1]])
        out["photos_without_people_found"] = sum(
            len([f for f in ssd.detect(p[0]) if f.person and f.score >= 0.5]) for p in photos.values() if not p[1]
        )
    try:  # the pose (hard-hat head region) per person, on the walkers of a real frame
        from video.pose import shared_pose

        pose = shared_pose()
        walkers = [f for f in ssd.detect(frames[200]) if f.person and f.score >= 0.5]
        pose_ms = []
        for f in walkers * (1 if smoke else 5):
            t0 = time.perf_counter()
            pose.keypoints(frames[200], f.box)
            pose_ms.append((time.perf_counter() - t0) * 1000)
        pose_ms.sort()
        out["pose_ms_p50"] = round(pose_ms[len(pose_ms) // 2], 1) if pose_ms else None
    except Exception as e:  # LiteRT not installed
        out["pose_ms_p50"] = f"skipped: {e}"
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--camera-fps", type=float, default=4.0)
    ap.add_argument("--size", default=f"{SIZE[0]}x{SIZE[1]}")
    a = ap.parse_args()
    if a.serve:
        w, h = (int(v) for v in a.size.split("x"))
        serve(a.port, a.camera_fps, (w, h))
