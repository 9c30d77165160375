"""The live-view relay in the real app over HTTP, fed by the simulator's MJPEG camera server on loopback:
two viewers of one camera share one upstream connection and one decode, frames are re-encoded small,
captures start on demand and stop after the last viewer, an offline camera gives the "no signal" frame and
503 snapshots (never its last picture), unknown or hostile camera ids are 404, executives get 403."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from werkzeug.serving import make_server

from plant import load_plant
from simulator.cameras import CameraServer
from tests.conftest import free_port
from tests.videoutil import camera_sources, figures, plant_with_cameras, wait_for
from tests.webutil import as_user, seed_store
from video.relay import BOUNDARY, EXTENSION, RELAY_SIZE, VideoRelay

# capture threads wait for frames with timeouts, which libfaketime never lets run out (tests/fakeclock.py)
pytestmark = pytest.mark.real_clock("capture threads wait for frames with timeouts")

SIZE = (320, 180)


@contextmanager
def serve(settings: Any, role: str = "dispatcher", linger_s: float = 1.0) -> Iterator[tuple[str, VideoRelay]]:
    from webapp.app import create_app

    app = create_app(settings)
    as_user(app, settings, role)
    relay: VideoRelay = app.server.extensions[EXTENSION]
    relay.linger_s = linger_s
    relay.stale_s = 2.0
    port = free_port()
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", relay
    finally:
        relay.close()
        server.shutdown()
        thread.join(5)


def read_frames(url: str, count: int, out: list[bytes]) -> None:
    """Read ``count`` JPEG parts of a multipart stream into ``out``, then hang up."""
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        while len(out) < count:
            line = resp.readline()
            if not line:
                return
            if line.strip() != f"--{BOUNDARY}".encode():
                continue
            length = 0
            while (header := resp.readline().strip()) != b"":
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            out.append(resp.read(length))


def status(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/video/status.json", timeout=30) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


@pytest.fixture
def cams(tmp_path: Path) -> Iterator[tuple[Any, CameraServer]]:
    port = free_port()
    dead = free_port()
    sources = camera_sources(port, dead)  # nothing listens on dead: CAM-C is a dead camera
    plant_file = plant_with_cameras(tmp_path, sources)
    settings = seed_store(tmp_path, plant_file)
    with CameraServer(load_plant(plant_file), port=port, people=figures, fps=6, size=SIZE) as srv:
        yield settings, srv


def test_two_viewers_share_one_decode(cams) -> None:  # type: ignore[no-untyped-def]
    settings, srv = cams
    with serve(settings) as (base, relay):
        assert status(base)["CAM-A"] == {"watched": False}
        assert srv.stats()["frames"] == 0  # nobody watches: the camera renders nothing
        got: list[list[bytes]] = [[], []]
        viewers = [
            threading.Thread(target=read_frames, args=(f"{base}/video/live/CAM-A.mjpg", 8, got[i])) for i in range(2)
        ]
        for v in viewers:
            v.start()
        wait_for(lambda: relay.stats().get("CAM-A", {}).get("viewers") == 2, timeout=30)
        upstream = []
        while any(v.is_alive() for v in viewers):
            upstream.append(srv.stats()["clients"])
            wait_for(lambda: True)
            for v in viewers:
                v.join(0.1)
        assert len(got[0]) == 8 and len(got[1]) == 8
        assert max(upstream) == 1  # one connection to the camera for both viewers
        stats = relay.stats()["CAM-A"]
        decodes = stats["decodes"]
        assert decodes <= srv.stats()["frames"]  # one decode per frame the camera sent, not one per viewer
        assert 0 < stats["encodes"] <= decodes  # re-encoded once for both viewers
        img = cv2.imdecode(np.frombuffer(got[0][-1], np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (RELAY_SIZE[1], RELAY_SIZE[0], 3) and img.std() > 5
        st = status(base)["CAM-A"]
        assert st["watched"] and st["online"] and st["frames"] >= decodes

        # the viewers left: the capture stops after the linger time, and the camera stops rendering
        wait_for(lambda: "CAM-A" not in relay.stats(), timeout=30)
        wait_for(lambda: srv.stats()["clients"] == 0, timeout=30)
        assert status(base)["CAM-A"] == {"watched": False}


def test_snapshots_offline_and_bad_ids(cams) -> None:  # type: ignore[no-untyped-def]
    settings, _srv = cams
    with serve(settings, linger_s=60) as (base, relay):
        with urllib.request.urlopen(f"{base}/video/snapshot/CAM-B.jpg", timeout=30) as resp:
            assert resp.headers["Content-Type"] == "image/jpeg"
            img = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (RELAY_SIZE[1], RELAY_SIZE[0], 3)

        # the dead camera: 503 with the dark frame, status offline since when, the stream sends "no signal"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/video/snapshot/CAM-C.jpg", timeout=30)
        assert err.value.code == 503 and err.value.headers["X-Camera-Online"] == "0"
        with urllib.request.urlopen(f"{base}/video/snapshot/CAM-C.jpg?offline=blank", timeout=30) as resp:
            assert resp.headers["X-Camera-Online"] == "0" and resp.read() == relay.blank()
        st = wait_for(lambda: (s := status(base)["CAM-C"]).get("error") and s, timeout=30)
        assert st["watched"] and not st["online"] and st["since_ms"] and st["frames"] == 0
        got: list[bytes] = []
        read_frames(f"{base}/video/live/CAM-C.mjpg", 2, got)
        assert got == [relay.blank(), relay.blank()]

        for bad in ("NOPE", "%3Cscript%3Ealert(1)%3C%3E", "CAM-A%00"):
            for route in (f"/video/snapshot/{bad}.jpg", f"/video/live/{bad}.mjpg"):
                with pytest.raises(urllib.error.HTTPError) as err:
                    urllib.request.urlopen(base + route, timeout=30)
                assert err.value.code == 404, route
        assert "NOPE" not in relay.stats()


def test_executive_may_not_watch(cams) -> None:  # type: ignore[no-untyped-def]
    settings, srv = cams
    with serve(settings, role="executive") as (base, relay):
        for route in ("/video/snapshot/CAM-A.jpg", "/video/live/CAM-A.mjpg", "/video/status.json"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(base + route, timeout=30)
            assert err.value.code == 403, route
        assert relay.stats() == {} and srv.stats()["frames"] == 0


def test_relay_rejects_bad_rates() -> None:
    for fps in (0.0, -1.0, float("nan"), float("inf"), 100.0):
        with pytest.raises(ValueError):
            VideoRelay(dict, fps=fps)
