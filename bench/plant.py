"""Plant file at real size: 20,000 tags, 5,000 badges and 300 cameras in several files, loaded and checked.

    python -m bench plant            20,000 tags, 5,000 badges, 300 cameras; 5 loads
    python -m bench plant --quick    the same sizes, 3 loads
    python -m bench plant --smoke    2,500 tags, 400 badges, 70 cameras, 2 loads: checks that it runs

The plant is the demo smelter grown to size, split as a plant would split it: the main file in YAML (site,
endpoints, areas, zones, equipment, the rest), the long machine-written lists in JSON (``tags-dcs.json``
and ``tags-rtls.json`` as the tag import writes them, ``badges.json`` from the badge register) and
``cameras.yaml``, each named by the main file's ``include``. Process tags are copies of the demo's with new
ids and node ids; every badge has its position and SOS tags; cameras are copies of the demo's with new ids.

Figures: ``load_s`` (median of the loads: read every file, merge, validate, cross-check, what every process
pays at start), ``read_s`` (reading and merging the files, the part before validation) and ``check_s``
(``python -m plant check`` in a fresh process, imports included). Target: a load under 5 s (``target_s``).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench import _smoke
from plant.loader import DEMO_PLANT, PlantFileError, load_plant, read_plant_source

TARGET_S = 5.0


def build(out: Path, tags: int, badges: int, cameras: int) -> dict[str, int]:
    """Write the grown plant under ``out`` (main file ``plant.yaml``); the entry counts it holds."""
    raw: dict[str, Any] = yaml.load(DEMO_PLANT.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    demo_badges = raw.pop("badges")
    demo_tags = raw.pop("tags")
    demo_cameras = raw.pop("cameras")
    rtls_kinds = {"position", "sos"}
    process = [t for t in demo_tags if t["kind"] not in rtls_kinds]
    badge_list = []
    rtls_tags = []
    for i in range(badges):
        b = copy.deepcopy(demo_badges[i % len(demo_badges)])
        if i >= len(demo_badges):  # the demo's badges keep their ids (incidents and escorts name them)
            b["id"] = f"B{i:05d}"
            b["name"] = f"{b['name']} {i}"
            b.pop("escort", None)
        badge_list.append(b)
        for kind, suffix in (("position", "POS"), ("sos", "SOS")):
            rtls_tags.append(
                {
                    "id": f"RTLS.{b['id']}.{suffix}",
                    "node_id": f"ns=2;s=RTLS.{b['id']}.{suffix}",
                    "endpoint": "rtls",
                    "kind": kind,
                    "badge": b["id"],
                }
            )
    dcs_tags = []
    n_process = max(0, tags - len(rtls_tags))
    for i in range(n_process):
        t = copy.deepcopy(process[i % len(process)])
        if i >= len(process):  # copies beyond the demo's own get new ids (the demo's keep theirs: meters name them)
            t["id"] = f"{t['id']}.X{i:05d}"
            t["node_id"] = f"ns=2;s={t['id']}"
            t.pop("meter", None)
        dcs_tags.append(t)
    camera_list = []
    for i in range(cameras):
        c = copy.deepcopy(demo_cameras[i % len(demo_cameras)])
        if i >= len(demo_cameras):
            c["id"] = f"{c['id']}-X{i:03d}"
        camera_list.append(c)
    raw["include"] = ["tags-dcs.json", "tags-rtls.json", "badges.json", "cameras.yaml"]
    out.mkdir(parents=True, exist_ok=True)
    dump = {"default_flow_style": False, "allow_unicode": True, "sort_keys": False, "Dumper": yaml.CSafeDumper}
    (out / "plant.yaml").write_text(yaml.dump(raw, **dump), encoding="utf-8")  # type: ignore[call-overload]
    for name, section, items in (
        ("tags-dcs.json", "tags", dcs_tags),
        ("tags-rtls.json", "tags", rtls_tags),
        ("badges.json", "badges", badge_list),
    ):
        (out / name).write_text(json.dumps({section: items}, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "cameras.yaml").write_text(yaml.dump({"cameras": camera_list}, **dump), encoding="utf-8")  # type: ignore[call-overload]
    return {"tags": len(dcs_tags) + len(rtls_tags), "badges": len(badge_list), "cameras": len(camera_list)}


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench plant")
    p.add_argument("--quick", action="store_true")
    _smoke.add_flag(p)
    args = p.parse_args(argv)
    sizes = (2_500, 400, 70) if args.smoke else (20_000, 5_000, 300)
    loads = 2 if args.smoke else 3 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="sw-bench-plant-") as tmp:
        root = Path(tmp)
        counts = build(root, *sizes)
        main_file = root / "plant.yaml"
        lines = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in root.glob("*.*"))
        load_s, yaml_s = [], []
        plant = None
        for _ in range(loads):
            started = time.perf_counter()
            read_plant_source(main_file.read_text(encoding="utf-8"), main_file)
            yaml_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            plant = load_plant(main_file)
            load_s.append(time.perf_counter() - started)
        assert plant is not None
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "plant", "check", str(main_file)], capture_output=True, text=True, check=False
        )
        check_s = time.perf_counter() - started
        if done.returncode != 0:
            raise PlantFileError(main_file, [done.stderr.strip()])
    return _smoke.mark(
        {
            "tags": len(plant.tags),
            "badges": len(plant.badges),
            "cameras": len(plant.cameras),
            "files": 5,
            "lines": lines,
            "built": counts,
            "loads": loads,
            "load_s": round(statistics.median(load_s), 3),
            "read_s": round(statistics.median(yaml_s), 3),
            "check_s": round(check_s, 3),
            "target_s": TARGET_S,
        },
        args.smoke,
    )
