"""Camera capture through OpenCV from the simulator's real HTTP MJPEG streams on loopback: frames arrive,
a killed stream shows offline (never a frozen frame) within the stale time, a restarted one reconnects;
bad sources are recorded as errors, not lost."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from plant import load_plant
from plant.schema import Camera
from simulator.cameras import BOUNDARY, CameraRenderer, CameraServer, View
from tests.conftest import free_port
from tests.videoutil import figures, plant_with_cameras, wait_for
from video.capture import DEFAULT_CAMERA_PORT, Capture, CaptureStatus, camera_source

# capture threads wait for frames with timeouts, which libfaketime never lets run out (tests/fakeclock.py)
pytestmark = pytest.mark.real_clock("capture threads wait for frames with timeouts")

SIZE = (320, 180)


def _offline(cap: Capture) -> CaptureStatus | None:
    st = cap.status()
    return None if st.online else st


def _errored(cap: Capture) -> CaptureStatus | None:
    st = cap.status()
    return st if st.error else None


@pytest.fixture
def plant(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_plant(plant_with_cameras(tmp_path))


def test_projection_puts_a_point_ahead_in_the_middle(plant) -> None:  # type: ignore[no-untyped-def]
    cam = Camera(id="C", name="c", zone="smelter-hall", position=(0, 0, 10), yaw_deg=0, pitch_deg=0, fov_deg=90)
    view = View(cam, 200, 100)
    (px, py), depth = view.project((50, 0, 10))  # type: ignore[misc]
    assert (px, py) == (100, 50) and depth == pytest.approx(50)
    (lx, _), _ = view.project((50, 20, 10))  # type: ignore[misc]
    assert lx < 100  # north of an east-looking camera is to its left
    assert view.project((-50, 0, 10)) is None  # behind
    frame = CameraRenderer(plant, plant.cameras[0], *SIZE).frame(figures())
    assert frame.shape == (SIZE[1], SIZE[0], 3) and frame.std() > 5  # not a blank picture


def test_stream_is_lazy_and_mjpeg(plant) -> None:  # type: ignore[no-untyped-def]
    with CameraServer(plant, port=0, people=figures, fps=10, size=SIZE) as srv:
        time.sleep(0.5)
        assert srv.stats()["frames"] == 0  # nobody connected: nothing rendered
        with urllib.request.urlopen(srv.url("CAM-A"), timeout=10) as resp:
            assert resp.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            head = resp.read(4000)
        assert head.startswith(f"--{BOUNDARY}\r\nContent-Type: image/jpeg".encode())
        start = head.index(b"\r\n\r\n") + 4
        img = cv2.imdecode(np.frombuffer(head[start:], np.uint8), cv2.IMREAD_COLOR)
        assert img is None or img.shape[:2] == (SIZE[1], SIZE[0])  # may be cut off at 4000 bytes
        with urllib.request.urlopen(srv.url("CAM-B").replace(".mjpg", ".jpg"), timeout=10) as resp:
            jpg = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
        assert jpg.shape == (SIZE[1], SIZE[0], 3)
        for bad in ("NOPE", "CAM-A%3Cscript%3E", "..%2F..%2Fetc"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/camera/{bad}.mjpg", timeout=10)
            assert err.value.code == 404
        wait_for(lambda: srv.stats()["clients"] == 0, timeout=20)
        rendered = srv.stats()["frames"]
        time.sleep(0.5)
        assert srv.stats()["frames"] == rendered  # the viewer left: rendering stopped


def test_capture_goes_offline_and_reconnects(plant) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    srv = CameraServer(plant, port=port, people=figures, fps=8, size=SIZE).start()
    cap = Capture("CAM-A", f"http://127.0.0.1:{port}/camera/CAM-A.mjpg", stale_s=2.0, backoff_s=0.2, max_backoff_s=1.0)
    cap.start()
    try:
        wait_for(lambda: cap.status().frames >= 5, timeout=30)
        st = cap.status()
        assert st.online and st.last_frame_ms is not None and st.since_ms is not None and st.fps > 0
        frame, seq = cap.latest()  # type: ignore[misc]
        assert frame.shape == (SIZE[1], SIZE[0], 3) and seq >= 5

        srv.stop()  # the camera dies
        killed_ms = time.time() * 1000
        st = wait_for(lambda: _offline(cap), timeout=20)
        assert cap.latest() is None  # no frozen last frame
        assert st.since_ms is not None and st.since_ms <= killed_ms + 5000 and st.fps == 0
        assert st.error  # why, for the log and the tooltip
        wait_for(lambda: cap.status().reconnects >= 2, timeout=30)  # keeps trying
        assert not cap.status().online

        srv = CameraServer(plant, port=port, people=figures, fps=8, size=SIZE).start()  # it comes back
        before = cap.status().frames
        wait_for(lambda: cap.status().online and cap.status().frames > before + 2, timeout=30)
        st = cap.status()
        assert st.error == "" and st.since_ms is not None and st.since_ms >= killed_ms
    finally:
        cap.stop()
        srv.stop()
    assert not cap.running


def test_stalled_stream_is_offline_not_frozen(plant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A stream that stays open but stops sending frames is offline after ``stale_s``."""
    stall = {"on": False}

    def people():  # type: ignore[no-untyped-def]
        while stall["on"]:
            time.sleep(0.05)
        return figures()

    with CameraServer(plant, port=0, people=people, fps=8, size=SIZE) as srv:
        cap = Capture("CAM-B", srv.url("CAM-B"), stale_s=1.5, backoff_s=0.2, max_backoff_s=1.0, read_timeout_s=30)
        cap.start()
        try:
            wait_for(lambda: cap.status().online, timeout=30)
            stall["on"] = True
            st = wait_for(lambda: _offline(cap), timeout=20)
            assert cap.latest() is None and st.since_ms is not None and st.last_frame_ms is not None
            assert st.since_ms >= st.last_frame_ms  # offline since the frames stopped, not since long ago
            stall["on"] = False
            wait_for(lambda: cap.status().online, timeout=30)
        finally:
            stall["on"] = False
            cap.stop()


def test_file_source_and_bad_sources(plant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, SIZE)
    renderer = CameraRenderer(plant, plant.cameras[0], *SIZE)
    for _ in range(5):
        writer.write(renderer.frame(figures()))
    writer.release()
    cap = Capture("FILE", str(path), stale_s=2.0, backoff_s=0.2).start()
    try:
        wait_for(lambda: cap.status().frames >= 8, timeout=30)  # 5-frame file plays again at its end
        assert cap.status().online
    finally:
        cap.stop()

    missing = Capture("MISSING", str(tmp_path / "nope.mp4"), backoff_s=0.2, max_backoff_s=0.5).start()
    try:
        st = wait_for(lambda: _errored(missing), timeout=20)
        assert not st.online and "FileNotFoundError" in st.error and st.frames == 0
    finally:
        missing.stop()
    for bad in ("", "   "):
        with pytest.raises(ValueError):
            Capture("X", bad)
    for value in (float("nan"), float("inf"), -1.0, 0.0):
        with pytest.raises(ValueError):
            Capture("X", "x.mp4", stale_s=value)
    with pytest.raises(ValueError):
        CameraServer(plant, port=0, fps=float("nan"))


def test_camera_source_from_plant(plant) -> None:  # type: ignore[no-untyped-def]
    cam = plant.cameras[0]
    assert camera_source(cam) == f"http://127.0.0.1:{DEFAULT_CAMERA_PORT}/camera/CAM-A.mjpg"
    real = cam.model_copy(update={"source": "rtsp://10.0.0.5/stream1"})
    assert camera_source(real, "sim.example") == "rtsp://10.0.0.5/stream1"


def test_camera_port_from_environment(monkeypatch: pytest.MonkeyPatch, plant) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SW_CAMERA_PORT", "5123")
    assert camera_source(plant.cameras[0], "sim") == "http://sim:5123/camera/CAM-A.mjpg"
    for bad in ("0", "70000", "abc", "nan"):
        monkeypatch.setenv("SW_CAMERA_PORT", bad)
        with pytest.raises(ValueError):
            camera_source(plant.cameras[0])


@pytest.mark.slow
def test_demo_camera_process_draws_people_from_the_store(tmp_path: Path) -> None:
    """``python -m simulator.cameras`` (the demo's camera process): idle until asked, people from the store."""
    import subprocess
    import sys

    from engine.types import PositionIn
    from simulator.cameras import StorePeople
    from store.db import make_engine, session_scope
    from store.positions import write_positions
    from tests.webutil import seed_store

    plant_file = plant_with_cameras(tmp_path)
    settings = seed_store(tmp_path, plant_file)
    now = int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(session, [PositionIn("P001", now, 80.0, 180.0), PositionIn("P002", now - 3_600_000, 1, 1)])
    engine.dispose()
    people = StorePeople(load_plant(plant_file), settings.db_url)
    assert people() == [(80.0, 180.0, "person")]  # the hour-old position is not drawn

    port = free_port()
    cmd = [sys.executable, "-m", "simulator.cameras", "--plant", str(plant_file), "--db", settings.db_url]
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def snapshot() -> bytes | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/camera/CAM-A.jpg", timeout=10) as resp:
                    return resp.read()  # type: ignore[no-any-return]
            except OSError:
                return None

        data = wait_for(snapshot, timeout=60, step=0.3)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (720, 1280, 3)
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
