"""Every page in Chinese, in real headless Chromium, with an alarm of every source type on screen: process and
quality alarms, a personnel violation of every rule, a video detection of every class, a muster, and an
emergency running (its view, its plan's checklist, resources and timeline; the strip it puts on every page)
after an earlier one ended (its summary). The alarms
are raised by the real alarm service from events written as the personnel and video services write them. No
English word may show outside ids, units and names (the allow-list is built from the plant file, not by hand).
Screenshots of /alarms, /oncall and /personnel (with the banner) at 1920x1080 and 390x844 go to
test-artifacts/."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml
from sqlalchemy import select

from engine.alarm_text import RULES, VIDEO_CLASSES
from engine.types import SampleIn
from i18n import t
from plant import load_plant
from plant.schema import Plant
from settings import Settings
from store import emergency as em
from store.db import make_engine, session_scope
from store.events import add_event
from store.models import SecurityAudit
from store.people import declare_muster
from store.samples import write_samples
from store.tags import tag_ids
from tests.videoutil import CAMERAS
from tests.webutil import (
    ARTIFACTS,
    MINI_PLANT,
    PHONE,
    WAIT_MS,
    browser,
    run_alarm_service,
    seed_store,
    serve_app,
    watch_page,
)
from webapp.live.summary import unit_symbol

pytestmark = pytest.mark.slow

MIN = 60_000
DIGITS = "一二三四五六七八九十"
PAGES: dict[str, str] = {  # page -> what shows once it has its data
    "/": ".sw-tile",
    "/scene": "#scene-deck canvas",
    "/alarms": ".sw-al-row",
    "/alarms/kpi": "#alarm-kpi-rate .main-svg",
    "/personnel": ".sw-pv",
    "/oncall": ".sw-oc-card",
    "/video": ".sw-vf-cam",
    "/admin/audit": "table, .sw-muted",
    "/energy": ".main-svg",
    "/production": "table",
    "/production/quality": ".main-svg",
    "/production/flow": ".sw-flow .main-svg:visible",  # the wall drawing on a wall, the phone drawing on a phone
    "/environment": ".main-svg",
    "/safety": "table, .sw-muted",
    "/reports": "#reports-sched-save",  # the archive, the schedules and (for administrators) their editor
    "/emergency": "#emergency-checklist-table",  # an emergency runs: the active view, and the strip on every page
}
# Terms that Chinese plants write in Latin letters (as GB/T and ISO texts in Chinese do): statistical process
# control and its indices and rules, the equipment KPIs, standards' codes, the currency's ISO 4217 code.
ACRONYMS = {"SPC", "Cpk", "Ppk", "I-MR", "Nelson", "OEE", "MTBF", "MTTR", "CUSUM", "CV", "RMSE", "NMBE", "EnPI"}
ACRONYMS |= {"GB", "GB/T", "ISO", "CNY"}
# Violations as the personnel service writes them (rule -> badge, zone, the rule's facts).
VIOLATIONS: dict[str, tuple[str | None, str, dict[str, Any]]] = {
    "forbidden_zone": ("P001", "tank-farm", {"fence": "tank-fence"}),
    "role_not_allowed": ("VIS1", "acid-plant", {"role": "visitor", "allowed": ["employee"]}),
    "unescorted_visitor": ("VIS1", "office", {}),
    "dwell_exceeded": ("P002", "smelter-hall", {"region": "smelter-hall", "value": 1900.0, "limit": 1800.0}),
    "under_staffed": (None, "converter-aisle", {"region": "converter-aisle", "value": 0, "limit": 1, "shift": "A"}),
    "over_staffed": (None, "smelter-hall", {"region": "smelter-hall", "value": 13, "limit": 12, "shift": "A"}),
    "lone_worker": ("P003", "acid-plant", {"region": "acid-plant", "value": 1}),
    "man_down": ("P004", "smelter-hall", {"limit": 60.0}),
    "sos": ("P005", "converter-aisle", {"value": 1.0}),
    "speeding": ("V01", "tank-farm", {"value": 38.2, "limit": 20.0}),
    "off_route": ("V01", "office", {"value": 22.5}),
    # a source the mini plant does not list: its alarm names it by its id, as any id without a name
    "hazard_intrusion": ("P001", "tank-farm", {"region": "HS-X", "hazard_source": "HS-X", "responsible": []}),
}


# An emergency plan and resources for the mini plant, named in both languages as a plant file names them.
EMERGENCY: dict[str, Any] = {
    "wind_from_deg": 90,
    "plans": [
        {
            "id": "plan-acid-so2",
            "name": "SO2 release, acid plant",
            "name_zh": "制酸二氧化硫泄漏预案",
            "kind": "gas_release",
            "zones": ["acid-plant"],
            "level": 2,
            "danger_radius_m": 20,
            "downwind_m": 60,
            "actions": [
                {
                    "id": "alarm",
                    "text": "Sound the alarm",
                    "text_zh": "发出警报",
                    "owner": "Dispatcher",
                    "owner_zh": "调度",
                },
                {
                    "id": "isolate",
                    "text": "Stop the blower",
                    "text_zh": "停风机",
                    "owner": "Shift lead",
                    "owner_zh": "班长",
                },
            ],
            "call_list": ["wang.lei"],
        }
    ],
    "resources": [
        {
            "id": "ba-1",
            "name": "Breathing apparatus cabinet",
            "name_zh": "空气呼吸器柜",
            "kind": "breathing_apparatus",
            "position": [250, 140],
            "count": 4,
            "inspected": "2026-01-10",
            "next_inspection": "2026-02-10",
        },
        {"id": "kit-1", "name": "Spill kit", "name_zh": "泄漏处置箱", "kind": "spill_kit", "position": [250, 120]},
    ],
}


def zh_plant(tmp_path: Path) -> Path:
    """The mini plant with a Chinese name for everything that has a name, Chinese teams, and three cameras."""
    raw = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    prefixes = {
        "areas": "区",
        "zones": "区域",
        "roads": "道路",
        "gates": "大门",
        "equipment": "设备",
        "badges": "员工",
        "fences": "围栏",
        "muster_points": "集合点",
        "meters": "电表",
        "endpoints": "控制系统",
    }
    raw["emergency"] = EMERGENCY
    raw["cameras"] = [dict(c) for c in CAMERAS]
    prefixes["cameras"] = "机位"
    for key, prefix in prefixes.items():
        for i, item in enumerate(raw.get(key) or []):
            if "name" in item and not item.get("name_zh"):
                item["name_zh"] = prefix + DIGITS[i % len(DIGITS)]
    for i, tag in enumerate(raw["tags"]):
        tag["description"] = tag.get("description") or f"Signal {tag['id']}"
        tag["description_zh"] = f"测点{DIGITS[i % 10]}{DIGITS[(i // 10) % 10]}"
    for badge in raw["badges"]:
        badge["team"] = "熔炼班"
    path = tmp_path / "zh_plant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def seed(tmp_path: Path) -> tuple[Settings, Plant, dict[str, str]]:
    """The store, its plant and the pages to walk (with the ended emergency's summary)."""
    settings = seed_store(tmp_path, zh_plant(tmp_path))
    plant = load_plant(settings.plant_file)

    now = int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        ids = tag_ids(s)
        write_samples(s, [SampleIn(ids["TK-1.LEVEL"], now - 800, None, 0x80000000)])  # a bad signal
        for i, (rule, (badge, zone, facts)) in enumerate(VIOLATIONS.items()):
            data = {"camera": None, "fence": None, "value": None, "limit": None, **facts}
            add_event(s, "violation", rule, now - (20 - i) * 1000, severity="high", badge=badge, zone=zone, data=data)
        for i, cls in enumerate(VIDEO_CLASSES):
            cam = CAMERAS[i % len(CAMERAS)]
            data = {"camera": cam["id"], "class": cls, "confidence": 0.9, "box": [40, 30, 80, 60], "frame": [320, 180]}
            data["media"] = {"snapshot": True, "thumb": True, "clip": False}
            event_id = add_event(
                s, "video", cam["id"], now - (8 - i) * 1000, severity="high", zone=cam["zone"], data=data
            )
            folder = settings.media_path / str(event_id)
            folder.mkdir(parents=True, exist_ok=True)
            picture = np.full((180, 320, 3), 60 + 30 * i, dtype=np.uint8)
            for name in ("snapshot.jpg", "thumb.jpg"):
                cv2.imwrite(str(folder / name), picture)
        ended = int(em.declare(s, plant, "值班调度", "plan-acid-so2", "acid-plant", now - 60_000, note="上一次").id)
        em.set_action(s, plant, "alarm", True, "值班调度", now - 50_000)
        em.end(s, plant, "值班调度", now - 30_000)
        declare_muster(s, "值班调度", now - 5000)
        em.declare(s, plant, "值班调度", "plan-acid-so2", "acid-plant", now - 3000, note="二氧化硫泄漏")
        em.set_action(s, plant, "alarm", True, "值班调度", now - 2000)
        em.grow(s, 40, "值班调度", now - 1000)
    engine.dispose()
    run_alarm_service(settings)
    return settings, plant, {**PAGES, f"/emergency?summary={ended}": "#emergency-summary .sw-kpi-card"}


def allowed_words(plant: Plant, users: set[str]) -> tuple[set[str], list[re.Pattern[str]]]:
    """Ids, units and names without a Chinese form, from the plant file and the user table: what may stay in
    Latin letters. The language switch names the other language in that language."""
    words: set[str] = {t("app.brand", "zh"), t("nav.language", "zh"), "CSV", "Excel", "PDF", *users, *ACRONYMS}
    for items in (plant.tags, plant.badges, plant.cameras, plant.zones, plant.areas, plant.equipment, plant.fences):
        words.update(x.id for x in items)
    words.update(s.id for s in plant.site.shifts)
    words.update(e.id for e in plant.endpoints)
    words.update(h.id for h in plant.hazards.sources)
    words.update(str(facts["hazard_source"]) for _, _, facts in VIOLATIONS.values() if "hazard_source" in facts)
    units = {unit_symbol(tg.unit) for tg in plant.tags if tg.unit} | {tg.unit for tg in plant.tags if tg.unit}
    units |= {"km/h", "m", "s", "ms", "h", "kWh", "MWh", "GWh", "kW", "MW", "t", "t/h", "%", "°C", "°"}  # ° of the wind
    words |= units
    ids = "|".join(re.escape(t.id) for t in sorted(plant.tags, key=lambda t: -len(t.id)))
    patterns = [
        re.compile(rf"(?:{ids})(?::(?:HH|H|L|LL|ROC|BAD))?(?:#\d+)?"),  # alarm ids of tags
        re.compile(r"(?:violation|video):\d+"),  # alarm ids of events
        re.compile(r"HH|H|L|LL|ROC|BAD"),  # ISA-18.2 condition ids
        re.compile(r"YYYY-MM-DD|HH:MM"),  # how to type a time, in the time fields' hints
        re.compile(r"(?:[A-Z][a-z]?[₀-₉]*)*[A-Z][a-z]?[₀-₉]+(?:[A-Z][a-z]?[₀-₉]*)*"),  # chemical formulas (SO₂)
        re.compile(r"[LECD]"),  # the LEC risk method's symbols (D = L × E × C), written so in Chinese practice
        re.compile(r"python|import|[a-z_]+(?:\.[a-z_]+)+"),  # a command or a plant-file key shown as code
    ]
    return words, patterns


def english(text: str, words: set[str], patterns: list[re.Pattern[str]]) -> list[str]:
    """Latin-letter words of ``text`` that are no id, unit or name of the plant."""
    out = []
    for token in re.findall(r"[A-Za-z°][A-Za-z0-9_.:/#%³²₀-₉°·\-]*", text):
        token = token.rstrip(".:-/·")
        if not token or token in words or any(p.fullmatch(token) for p in patterns):
            continue
        if "/" in token and all(part in words or not part for part in token.split("/")):
            continue
        out.append(token)
    return out


def visible_text(page: Any) -> str:
    return str(page.evaluate("document.title + '\\n' + document.body.innerText"))


def test_every_page_in_chinese_with_every_alarm(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    settings, plant, pages = seed(tmp_path)
    found: dict[str, list[str]] = {}
    with serve_app(settings, role="admin") as base, browser() as b:
        engine = make_engine(settings.db_url)
        with session_scope(engine) as s:  # who the audit log names: user names have no Chinese form
            users = {u for u in s.scalars(select(SecurityAudit.user).distinct()) if u} | {"test-admin"}
        engine.dispose()
        words, patterns = allowed_words(plant, users)
        for width, height in ((1920, 1080), (390, 844)):
            kw: dict[str, Any] = dict(PHONE) if width == 390 else {"viewport": {"width": width, "height": height}}
            context = b.new_context(**kw)  # type: ignore[attr-defined]
            context.add_cookies([{"name": "sw_lang", "value": "zh", "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            for path, ready in pages.items():
                page.goto(base + path)
                page.wait_for_selector(".sw-alarm-banner .sw-ab-text", state="attached", timeout=WAIT_MS)
                page.wait_for_selector(ready, timeout=WAIT_MS)
                page.wait_for_timeout(1500)
                if path == "/alarms":
                    rows = page.locator(".sw-al-row")
                    assert rows.count() >= len(VIOLATIONS) + len(VIDEO_CLASSES) + 2
                    shown = page.locator(".sw-al-text").all_inner_texts()
                    assert any("闯入禁区" in x for x in shown) and any("发现烟雾" in x for x in shown)
                    assert all(x.strip() for x in shown), "every alarm says what it is about"
                name = {"/": "overview", "/alarms": "alarms", "/oncall": "oncall", "/personnel": "personnel"}.get(path)
                if name in ("alarms", "oncall", "personnel"):
                    page.screenshot(path=str(ARTIFACTS / f"zh-{name}-{width}x{height}.png"), timeout=WAIT_MS)
                bad = english(visible_text(page), words, patterns)
                if bad:
                    found[f"{path} {width}"] = sorted(set(bad))
            assert not errors, errors
            assert not foreign, foreign
            context.close()
    assert not found, "\n".join(f"{where}: {words}" for where, words in found.items())
    for rule in RULES:  # every rule raised its alarm
        assert rule in VIOLATIONS
