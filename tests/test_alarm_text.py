"""Alarm texts built when shown (``engine.alarm_text``): every source type in both languages, from the fields kept
with the row; names in the reader's language; no names for readers without them; old rows keep their sentence;
on-call messages in each recipient's language without names."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from engine.alarm_text import RULES, VIDEO_CLASSES, PlantNames, alarm_text, source_text
from notify.messages import Labels, render
from notify.policy import AlarmInfo, Outgoing
from plant import load_plant
from plant.schema import Plant
from tests.webutil import MINI_PLANT

TZ = ZoneInfo("Asia/Shanghai")
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Plant:
    raw = yaml.safe_load(MINI_PLANT.read_text())
    for z in raw["zones"]:
        z["name_zh"] = {"tank-farm": "酸罐区", "smelter-hall": "熔炼厂房"}.get(z["id"], "区域" + z["id"][:2])
    raw["fences"][0]["name_zh"] = "酸罐区围堰"
    raw["badges"][0].update(name="Wu Xiaoming", name_zh="吴晓明")
    raw["badges"][1].update(name=f"Li {HOSTILE}", name_zh=None)
    for tag in raw["tags"]:
        if tag["id"] == "FF-1.TEMP":
            tag.update(description="Furnace temperature", description_zh="闪速炉温度")
    raw["cameras"] = [
        {
            "id": "CAM32",
            "name": "Tank farm east",
            "name_zh": "酸罐区东",
            "zone": "tank-farm",
            "position": [150, 30, 8],
            "yaw_deg": 90,
            "fov_deg": 60,
        }
    ]
    path = tmp_path_factory.mktemp("plant") / "plant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return load_plant(path)


@pytest.fixture(scope="module")
def names(plant: Plant) -> PlantNames:
    return PlantNames.from_plant(plant)


def personnel(rule: str, badge: str | None = "P001", **facts: Any) -> dict[str, Any]:
    return {
        "source_type": "personnel",
        "condition": rule,
        "source": badge or rule,
        "badge": badge,
        "zone": "tank-farm",
        "message": "",
        "data": {"event_id": 1, "rule": rule, "facts": facts},
    }


FACTS: dict[str, dict[str, Any]] = {
    "forbidden_zone": {"fence": "tank-fence"},
    "role_not_allowed": {"role": "visitor"},
    "unescorted_visitor": {},
    "dwell_exceeded": {"region": "tank-farm", "limit": 900.0, "value": 950.0},
    "under_staffed": {"value": 1, "limit": 2},
    "over_staffed": {"value": 9, "limit": 8},
    "lone_worker": {"value": 1},
    "man_down": {"limit": 60.0},
    "sos": {"value": 1.0},
    "speeding": {"value": 32.5, "limit": 20.0},
    "off_route": {"value": 21.0},
    "hazard_intrusion": {"hazard_source": "HS-X", "region": "HS-X"},
}
EN = {
    "forbidden_zone": "Wu Xiaoming (P001) entered forbidden area Tank farm fence",
    "role_not_allowed": "Wu Xiaoming (P001): Visitor not allowed in Acid tank farm",
    "unescorted_visitor": "Wu Xiaoming (P001): visitor without escort in Acid tank farm",
    "dwell_exceeded": "Wu Xiaoming (P001) in Acid tank farm longer than 15 min",
    "under_staffed": "Acid tank farm: 1 people, minimum 2",
    "over_staffed": "Acid tank farm: 9 people, maximum 8",
    "lone_worker": "Wu Xiaoming (P001) alone in two-person zone Acid tank farm",
    "man_down": "Wu Xiaoming (P001) not moving for 60 s in Acid tank farm",
    "sos": "Wu Xiaoming (P001) pressed SOS in Acid tank farm",
    "speeding": "Wu Xiaoming (P001) at 32.5 km/h, limit 20 km/h in Acid tank farm",
    "off_route": "Wu Xiaoming (P001) 21 m off the roads",
    "hazard_intrusion": "Wu Xiaoming (P001) entered major hazard source HS-X without authorization",
}
ZH = {
    "forbidden_zone": "吴晓明（P001） 闯入禁区：酸罐区围堰",
    "role_not_allowed": "吴晓明（P001） 无权进入：酸罐区（身份：访客）",
    "unescorted_visitor": "吴晓明（P001） 访客无人陪同：酸罐区",
    "dwell_exceeded": "吴晓明（P001） 在 酸罐区 停留超过 15 分钟",
    "under_staffed": "酸罐区：1 人，低于下限 2 人",
    "over_staffed": "酸罐区：9 人，超过上限 8 人",
    "lone_worker": "吴晓明（P001） 在双人作业区单独作业：酸罐区",
    "man_down": "吴晓明（P001） 在 酸罐区 已 60 秒 未移动",
    "sos": "吴晓明（P001） 在 酸罐区 按下紧急求救按钮",
    "speeding": "吴晓明（P001） 在 酸罐区 车速 32.5 km/h，限速 20 km/h",
    "off_route": "吴晓明（P001） 偏离道路 21 m",
    "hazard_intrusion": "吴晓明（P001） 未经授权进入重大危险源：HS-X",
}


def test_every_rule_in_both_languages(names: PlantNames) -> None:
    assert set(FACTS) == set(RULES) == set(EN) == set(ZH)
    for rule in RULES:
        badge = None if rule in ("under_staffed", "over_staffed") else "P001"
        a = personnel(rule, badge, **FACTS[rule])
        assert alarm_text(a, names, "en", show_names=True) == EN[rule], rule
        assert alarm_text(a, names, "zh", show_names=True) == ZH[rule], rule


def test_readers_without_names_read_the_badge_id(names: PlantNames) -> None:
    for rule in RULES:
        a = personnel(rule, **FACTS[rule])
        for lang in ("en", "zh"):
            text = alarm_text(a, names, lang, show_names=False)
            assert "Wu" not in text and "吴晓明" not in text, (rule, lang, text)
    a = personnel("forbidden_zone", **FACTS["forbidden_zone"])
    assert alarm_text(a, names, "en", show_names=False) == "Badge P001 entered forbidden area Tank farm fence"
    assert alarm_text(a, names, "zh", show_names=False) == "定位卡 P001 闯入禁区：酸罐区围堰"
    truck = personnel("speeding", "V01", **FACTS["speeding"])
    assert alarm_text(truck, names, "zh", show_names=False).startswith("车辆 V01 在 酸罐区 车速")


def test_a_zone_rule_names_its_zone_as_the_source(names: PlantNames) -> None:
    a = personnel("under_staffed", None, **FACTS["under_staffed"])
    assert source_text(a, names, "zh") == "酸罐区" and source_text(a, names, "en") == "Acid tank farm"
    assert source_text(personnel("sos"), names, "zh") == "P001"


def test_hostile_names_stay_text(names: PlantNames) -> None:
    a = personnel("sos", "P002")
    assert alarm_text(a, names, "en", show_names=True) == f"Li {HOSTILE} (P002) pressed SOS in Acid tank farm"


def test_process_quality_and_video(names: PlantNames) -> None:
    hh = {"source_type": "process", "condition": "HH", "source": "FF-1.TEMP", "message": "Furnace temperature"}
    bad = {**hh, "source_type": "quality", "condition": "BAD"}
    for a in (hh, bad):
        assert alarm_text(a, names, "zh", show_names=False) == "闪速炉温度"
        assert alarm_text(a, names, "en", show_names=False) == "Furnace temperature"
    for cls in VIDEO_CLASSES:
        v = {"source_type": "video", "condition": cls, "source": "CAM32", "camera": "CAM32", "message": ""}
        v["data"] = {"event_id": 3, "facts": {"class": cls}}
        zh = alarm_text(v, names, "zh", show_names=False)
        assert zh.startswith("摄像头 酸罐区东（CAM32） 发现") and not zh.endswith(cls), zh
        assert alarm_text(v, names, "en", show_names=False).endswith(" on camera Tank farm east (CAM32)")
    smoke = {"source_type": "video", "condition": "smoke", "camera": "CAM32", "message": "Smoke on camera CAM32"}
    assert alarm_text(smoke, names, "zh", show_names=False) == "摄像头 酸罐区东（CAM32） 发现烟雾"


def test_old_rows_keep_their_sentence(names: PlantNames) -> None:
    old = {"source_type": "personnel", "condition": "forbidden_zone", "source": "P001", "badge": "P001"}
    old |= {"message": "Wu Xiaoming (P001) entered forbidden area Acid tank farm bund", "data": {"event_id": 7}}
    assert alarm_text(old, names, "zh", show_names=True) == old["message"]
    assert alarm_text(old, names, "zh", show_names=False) == ""  # it names a person
    unknown = {"source_type": "process", "condition": "HH", "source": "GONE.TAG", "message": HOSTILE}
    assert alarm_text(unknown, names, "zh", show_names=False) == HOSTILE


def _outgoing(a: AlarmInfo) -> Outgoing:
    return Outgoing("alarm", 0, (a,), None, "all")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_notification_text_in_the_recipient_language(plant: Plant, lang: str) -> None:
    labels = Labels.from_plant(plant)
    facts = {"fence": "tank-fence"}
    a = AlarmInfo(
        "violation:5",
        1_800_000_000_000,
        "high",
        "personnel",
        "acid",
        "tank-farm",
        source="P001",
        condition="forbidden_zone",
        badge="P001",
        data={"event_id": 5, "rule": "forbidden_zone", "facts": facts},
    )
    out = render(_outgoing(a), lang, labels, TZ)
    if lang == "zh":
        assert out.subject == "高报警：P001 进入禁区 - 制酸 / 酸罐区"
        assert "内容：定位卡 P001 闯入禁区：酸罐区围堰" in out.text
        assert out.alarm_texts == ("定位卡 P001 闯入禁区：酸罐区围堰",)
    else:
        assert out.subject == "High alarm: P001 Forbidden zone entered - Acid plant / Acid tank farm"
        assert "Message: Badge P001 entered forbidden area Tank farm fence" in out.text
    assert "Wu" not in out.text + out.subject and "吴晓明" not in out.text + out.subject  # no names in messages
    hh = AlarmInfo("FF-1.TEMP:HH", 1_800_000_000_000, "urgent", source="FF-1.TEMP", condition="HH", value=1362.0)
    out = render(_outgoing(hh), lang, labels, TZ)
    assert ("闪速炉温度" if lang == "zh" else "Furnace temperature") in out.subject
    video = AlarmInfo("video:9", 1, "high", "video", zone="tank-farm", source="CAM32", condition="smoke")
    video = replace(video, camera="CAM32")
    out = render(_outgoing(video), lang, labels, TZ)
    expected = "摄像头 酸罐区东（CAM32） 发现烟雾" if lang == "zh" else "Smoke on camera Tank farm east (CAM32)"
    assert expected in out.text
