"""Every benchmark runs against what has landed: ``python -m bench NAME --smoke`` in a subprocess exits 0 and
prints the benchmark's key figures with sane values (not measurements: a smoke run uses tiny sizes).

The benchmarks are found with ``bench.__main__.available()``, so a new one is run here at once; it then
needs an entry in ``CHECKS`` naming its key figures. Each run gets a private, empty ``SW_VAR_DIR``: a smoke
run must neither need nor write the benchmarks' cache under ``var/bench/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import available
from settings import ROOT

Figures = dict[str, Any]

# Smoke wall time on the shared 2-core machines at load average 5: dashboard about 60 s (the whole demo
# starts, then Chromium), ingest about 30 s (two simulators and a collector), video about 20 s, alarms about
# 10 s, the others 3-6 s; at load 20 about 2.5 times that. The timeouts leave room for a busy machine.
SLOW = frozenset({"alarms", "dashboard", "ingest", "video"})
TIMEOUT_S = {"dashboard": 420.0, "ingest": 240.0, "video": 180.0, "alarms": 180.0, "storage": 300.0}
DEFAULT_TIMEOUT_S = 120.0


def _positive(figures: Figures, *keys: str) -> None:
    for key in keys:
        value = figures.get(key)
        assert isinstance(value, int | float) and value > 0, f"{key} = {value!r}, expected > 0"


def check_alarms(f: Figures) -> None:
    assert f["definitions"] == 2000
    _positive(f, "engine_values_per_s", "stream_values", "journal_rows", "kpi_month_ms", "service_samples")
    _positive(f, "service_step_ms_p50", "service_step_ms_p95")
    assert f["cache"] == "none"
    assert f["journal_rows"] == f["build"]["transitions"]
    kpis = f["kpi_sqlite"]
    assert kpis["total"] > 0 and kpis["floods"] > 0 and kpis["standing"] == 5
    if "kpi_month_ms_pg" in f:  # PostgreSQL reachable: the same journal gives the same KPIs there
        assert f["kpi_month_ms_pg"] > 0
        assert {k: v for k, v in f["kpi_pg"].items() if not k.endswith("ms")} == {
            k: v for k, v in kpis.items() if not k.endswith("ms")
        }


def check_dashboard(f: Figures) -> None:
    assert f["role"] == "dispatcher"
    assert f["errors"] == 0 and f["errors_1_screen"] == 0
    expected = f["screens"] * f["seconds"] * f["callbacks_per_screen_per_s"]
    assert f["requests"] == expected and f["callbacks_per_screen_per_s"] == 2
    _positive(f, "p95_ms", "median_ms", "p95_ms_1_screen", "overview_payload_p95_bytes", "scene_payload_p95_bytes")
    _positive(f, "data_queries_per_refresh", "data_queries_per_refresh_1_screen")
    _positive(f, "auth_queries_per_refresh")  # every request went through the login check
    assert f["scene_badges"] >= 0  # the scene's live layer answered (how many are on site depends on the hour)
    assert f["queries_per_refresh"] == pytest.approx(f["auth_queries_per_refresh"] + f["data_queries_per_refresh"])


def check_demo_alarm_rate(f: Figures) -> None:
    assert f["hours"] == pytest.approx(0.1)
    assert f["areas"] > 0 and f["wall_s"] > 0
    assert len(f["process_per_area_10min_by_area"]) == f["areas"]
    assert f["site_process_per_10min"] >= f["process_per_area_10min"] >= 0
    mix = sum(f["priority_mix"].values())
    assert mix == pytest.approx(100.0, abs=0.5) if f["annunciated_process"] else mix == 0
    assert f["chattering"] == 0


def check_ingest(f: Figures) -> None:
    _positive(f, "bare_asyncua_values_per_s", "committed_values_per_s", "published_in_window", "ratio")
    assert f["lost"] == 0
    assert f["committed_in_window"] == f["published_in_window"]
    assert f["collector_exit"] == 0 and "collector_errors" not in f
    assert f["collector_health"]["rejected"] == 0 and f["collector_health"]["written"] > 0


def check_personnel(f: Figures) -> None:
    assert f["badges"] == 40 and f["zones_and_fences"] == 100
    assert f["badges_on_site"] > 0 and f["cache"] == "none"
    _positive(f, "rules_p95_ms", "service_step_p95_ms", "trajectory_p95_ms", "page_trajectory_p95_ms")
    assert f["trajectory_rows"] == f["trajectory_hours"] * 3600  # every second of the history read back
    assert 0 < f["page_trajectory_points"] <= f["trajectory_rows"]
    assert f["playback_trips"] == f["playback_badges"] == f["badges"]
    assert 0 < f["playback_payload_gzip_bytes"] < f["playback_payload_bytes"]


def check_trend(f: Figures) -> None:
    assert f["days"] == 1 and f["samples"] == 86_400 and f["cache"] == "none"
    assert 0 < f["points"] <= 2 * f["width_px"]
    _positive(f, "p95_ms", "naive_p95_ms", "speedup")
    assert f["naive_points"] > 0
    assert all(r["points"] > 0 and r["gaps"] == 0 for r in f["ranges"].values())


def check_video(f: Figures) -> None:
    assert f["cameras"] == 2
    _positive(f, "analysed_fps_per_camera", "analysed_fps_min", "received_fps_per_camera", "analyse_ms_p50")
    assert f["ran_share"] > 0
    # the relay delivered frames to a viewer (how many viewers keep 90 % of its rate is a measurement, not smoke)
    assert f["relay_fps"] > 0 and f["relay_worst_fps_by_viewers"]["1"] > 0, f["relay_worst_fps_by_viewers"]
    for key in ("precision", "recall"):  # None when the few seconds held nothing to find
        assert f[key] is None or 0 <= f[key] <= 1
    model = f["model"]  # the trained person detector: its speed, and real footage when installed
    assert model["ssd_ms_p50"] > 0 and model["capacity_fps"] > 0
    if "real_annotated" in model:  # by IoU match against bench/person_truth.json
        assert model["real_recall"] >= 0.7 and model["real_precision"] >= 0.8 and model["real_empty_people"] == 0
    if "photo_annotated" in model:
        assert model["photo_recall"] == 1.0 and model["photos_without_people_found"] == 0


def check_production(f: Figures) -> None:
    assert f["days"] == 7 and f["units"] > 50 and f["oee_units"] > 0
    _positive(f, "engine_ms", "store_engine_ms", "spells", "failures", "downtime_events", "mtbf_h", "mttr_h")
    assert 0.8 < f["availability"] < 1.0 and f["pareto_rows"] >= 1
    _positive(f, "plan_year_ms", "plan_first_ms", "plan_late_ms", "plan_products", "plan_kept_days")


def check_spc(f: Figures) -> None:
    assert f["points"] == 500
    _positive(f, "chart_ms", "xbar_ms", "flagged", "cpk")


def check_plant(f: Figures) -> None:
    assert f["built"] == {"tags": 2500, "badges": 400, "cameras": 70}
    assert (f["tags"], f["badges"], f["cameras"], f["files"]) == (2500, 400, 70, 5)
    _positive(f, "load_s", "read_s", "check_s", "lines")


def check_energy(f: Figures) -> None:
    assert f["days"] == 3 and f["meters"] > 100 and f["cache"] == "none"
    _positive(f, "sankey_month_p95_ms", "daily_year_p95_ms", "sankey_links", "view_month_p95_ms")
    assert f["daily_values"] == f["meters"] * f["days"]
    assert f["daily_unknown"] == 2  # the meter not read for six hours across a midnight: two days unknown, not zero
    _positive(f, "forecast_p95_ms")  # three days: too few for a fit, the reading and reconciling still timed
    assert f["forecast_origins_and_days"] == 0


def check_evacuation(f: Figures) -> None:
    assert f["people"] == 200 and f["graph_nodes"] > 100
    _positive(f, "routes_ms", "grown_ms", "graph_ms", "routed", "blocked_edges")
    assert f["routed"] + f["in_danger"] + f["no_route"] == f["people"]
    assert f["blocked_edges_grown"] > f["blocked_edges"] and f["in_danger_grown"] >= f["in_danger"]
    assert f["routes_crossing_danger"] == 0


def check_reports(f: Figures) -> None:
    _positive(f, "shift_s", "month_s", "shift_content_s", "month_content_s", "month_pages")
    assert f["month_charts"] >= 12 and f["shift"].endswith(("/A", "/B", "/C")) and f["month"] == "2026-03"


def check_storage(f: Figures) -> None:
    lite = f["sqlite"]
    assert lite["samples_written"] == lite["rows"]["sample"] + lite["samples_removed_by_compaction"]
    assert lite["samples_removed_by_compaction"] > 0 and lite["compression_ratio"] > 1
    assert lite["positions_after_thinning"] == lite["rows"]["position"] + lite["positions_removed_by_compaction"]
    assert lite["positions_removed_by_compaction"] > 0
    _positive(lite, "year_gb_rollup_1m_kept", "year_gb_rollup_1m_90_days", "samples_per_s_stored")
    assert lite["year_gb_uncompressed"] > lite["year_gb_rollup_1m_kept"] >= lite["year_gb_rollup_1m_90_days"]
    for table in ("sample", "position", "rollup_1m", "rollup_1h"):
        assert lite["rows"][table] > 0 and 10 < lite["bytes_per_row"][table] < 500, table
    if "postgresql" in f:  # the same simulated plant, the same rows on both databases
        assert f["postgresql"]["rows"] == lite["rows"]
        assert all(v > 0 for v in f["postgresql"]["bytes"].values())


def check_permits(f: Figures) -> None:
    assert f["badges"] == 200 and f["permits"] == 5
    _positive(f, "checks_ms", "rules_ms", "index_ms", "findings")
    assert f["zones"] > 0


def check_replay(f: Figures) -> None:
    assert f["minutes"] == 5 and f["badges"] == 40 and f["badges_placed_mid_window"] == 40
    assert f["trends"] == 3 and f["journal_rows"] > 0 and f["video_events"] > 0 and f["frames"] > 10
    _positive(f, "load_ms", "seek_p95_ms", "play10x_frame_p95_ms", "payload_bytes")
    assert f["play10x_keeps_up"] is True and 0 < f["payload_gzip_bytes"] < f["payload_bytes"]


def check_backfill(f: Figures) -> None:
    assert f["values"] == f["tags"] * f["values_per_tag"] == 20 * 50  # every value of the span read back, once
    _positive(f, "read_values_per_s", "store_values_per_s", "values_per_s", "requests")


def check_stock(f: Figures) -> None:
    assert (f["items"], f["days"]) == (50, 30)
    assert f["ledger_rows"] > 5 * f["items"] and f["item_entries"] > 3
    assert f["import_recount_entries"] > 0 and f["ledger_rows_after"] == f["ledger_rows"] + f["import_recount_entries"]
    _positive(f, "list_ms", "list_at_ms", "item_page_ms", "ledger_page_ms", "import_new_ms", "import_recount_ms")


CHECKS: dict[str, Callable[[Figures], None]] = {
    "alarms": check_alarms,
    "backfill": check_backfill,
    "evacuation": check_evacuation,
    "dashboard": check_dashboard,
    "demo_alarm_rate": check_demo_alarm_rate,
    "energy": check_energy,
    "ingest": check_ingest,
    "permits": check_permits,
    "personnel": check_personnel,
    "plant": check_plant,
    "production": check_production,
    "reports": check_reports,
    "replay": check_replay,
    "stock": check_stock,
    "spc": check_spc,
    "storage": check_storage,
    "trend": check_trend,
    "video": check_video,
}


def _params() -> list[Any]:
    params = []
    for name in available():
        marks = [pytest.mark.timeout(TIMEOUT_S.get(name, DEFAULT_TIMEOUT_S) + 60)]
        if name in SLOW:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.mark.parametrize("name", _params())
def test_bench_smoke(name: str, tmp_path: Path) -> None:
    check = CHECKS.get(name)
    assert check is not None, f"bench {name!r} has no key-figure check: add one to CHECKS in {Path(__file__).name}"
    var = tmp_path / "var"
    env = {**os.environ, "SW_VAR_DIR": str(var), "SW_DATABASE_URL": ""}
    timeout = TIMEOUT_S.get(name, DEFAULT_TIMEOUT_S)
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "bench", name, "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, f"exit {proc.returncode} after {elapsed:.0f} s:\n{proc.stderr[-3000:]}"
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no output:\n{proc.stderr[-3000:]}"
    figures = json.loads(lines[-1])
    assert figures["smoke"] is True and "not measurements" in figures["note"]
    assert not (var / "bench").exists(), "a smoke run wrote into the benchmarks' cache"
    check(figures)
