"""Generate the demo copper smelter plant file (``plant/demo_smelter.yaml``), deterministically.

Run ``python -m plant.generate_demo``. The plant is built as plain data and loops, validated with
``Plant.model_validate`` and only then written, so a generated file always loads.

Layout (metres, origin at the south-west corner, x east, y north): a road grid with vertical roads at
x = 22, 360, 720, 1080, 1378 and horizontal roads at y = 22, 340, 660, 978 divides the site into 4 x 3
blocks. South row: offices, substation and oxygen plant, water treatment and stores, acid tank farm.
Middle row: raw-material batching, flash smelting, converters and anode furnaces, acid plant and stacks.
North row: concentrate storage, electrolytic refinery tankhouse, slag treatment.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from plant.schema import COLLECTIONS, Plant

OUT = Path(__file__).with_name("demo_smelter.yaml")

SITE_W, SITE_D = 1400.0, 1000.0
SHIFTS = ("A", "B", "C")
DAY_SHIFT = "B"  # 08:00-16:00: day staff, contractors and visitors are on site
DCS, RTLS = "dcs", "rtls"

Rect = tuple[float, float, float, float]


class Quoted(str):
    """A string written in double quotes (shift times: YAML 1.1 reads an unquoted 16:00 as a number)."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"'))
Item = dict[str, Any]


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A counter-clockwise rectangle polygon."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def bbox(poly: list[list[float]]) -> Rect:
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


def centroid(poly: list[list[float]]) -> tuple[float, float]:
    x0, y0, x1, y1 = bbox(poly)
    return (x0 + x1) / 2, (y0 + y1) / 2


# ---------------------------------------------------------------------------------------------- areas

AREAS: list[tuple[str, str, str]] = [
    ("raw-materials", "Raw-material yard and batching", "原料场及配料"),
    ("smelting", "Flash smelting", "闪速熔炼"),
    ("converting", "Converter aisle", "转炉吹炼"),
    ("anode-refining", "Anode furnaces and casting", "阳极精炼及浇铸"),
    ("tankhouse", "Electrolytic refinery tankhouse", "电解精炼车间"),
    ("acid-plant", "Sulfuric acid plant", "硫酸车间"),
    ("oxygen-plant", "Oxygen plant", "制氧站"),
    ("slag-treatment", "Slag treatment", "渣处理"),
    ("substation", "Main substation", "总降变电站"),
    ("water-treatment", "Water treatment", "水处理"),
    ("warehouse", "Warehouse", "仓库"),
    ("hazchem-store", "Hazardous-chemicals store", "危险化学品库"),
    ("admin", "Control room and offices", "中控室及办公区"),
    ("stacks", "Stacks", "烟囱"),
]

# ---------------------------------------------------------------------------------------------- zones
# id, area, name, name_zh, rectangle, floors, height, (l, e, c), roles, flags
E, CO, VI, DR = "employee", "contractor", "visitor", "driver"
ZONES: list[dict[str, Any]] = [
    # south row
    dict(
        id="admin-offices",
        area="admin",
        name="Office building",
        zh="办公楼",
        r=(45, 45, 200, 325),
        floors=4,
        h=18,
        lec=(0.5, 6, 3),
        roles=[E, CO, VI, DR],
    ),
    dict(
        id="control-room",
        area="admin",
        name="Central control room",
        zh="中央控制室",
        r=(205, 45, 345, 195),
        floors=2,
        h=10,
        lec=(0.5, 10, 3),
        roles=[E, CO, VI],
    ),
    dict(
        id="workshop",
        area="admin",
        name="Maintenance workshop",
        zh="机修车间",
        r=(205, 240, 345, 325),
        h=14,
        lec=(1, 6, 7),
        roles=[E, CO, DR],
    ),
    dict(
        id="hv-switchyard",
        area="substation",
        name="HV switchyard (220 kV)",
        zh="220kV高压开关场",
        r=(375, 45, 545, 200),
        h=20,
        lec=(1, 2, 100),
        roles=[E],
        forbidden=True,
        hazard=True,
        two=True,
    ),
    dict(
        id="switchgear",
        area="substation",
        name="Switchgear building",
        zh="配电楼",
        r=(375, 205, 545, 325),
        floors=2,
        h=12,
        lec=(0.5, 6, 7),
        roles=[E, CO],
    ),
    dict(
        id="oxygen-plant",
        area="oxygen-plant",
        name="Air separation unit",
        zh="空分装置",
        r=(555, 45, 705, 325),
        h=40,
        lec=(1, 6, 40),
        roles=[E, CO],
        hazard=True,
    ),
    dict(
        id="water-treatment",
        area="water-treatment",
        name="Water treatment plant",
        zh="水处理站",
        r=(735, 45, 900, 325),
        h=12,
        lec=(1, 6, 15),
        roles=[E, CO],
    ),
    dict(
        id="warehouse",
        area="warehouse",
        name="Central warehouse",
        zh="中心仓库",
        r=(905, 45, 1065, 180),
        h=12,
        lec=(0.5, 6, 7),
        roles=[E, CO, DR],
    ),
    dict(
        id="hazchem-store",
        area="hazchem-store",
        name="Hazardous-chemicals store",
        zh="危险化学品库",
        r=(905, 245, 1065, 325),
        h=8,
        lec=(1, 3, 40),
        roles=[E, DR],
        hazard=True,
        two=True,
    ),
    dict(
        id="acid-tank-farm",
        area="acid-plant",
        name="Acid tank farm bund",
        zh="硫酸罐区围堰",
        r=(1095, 45, 1355, 215),
        h=16,
        lec=(3, 3, 40),
        roles=[E],
        forbidden=True,
        hazard=True,
        two=True,
    ),
    dict(
        id="acid-loading",
        area="acid-plant",
        name="Acid loading station",
        zh="硫酸装车站",
        r=(1095, 220, 1355, 325),
        h=10,
        lec=(1, 6, 15),
        roles=[E, DR],
        hazard=True,
    ),
    # middle row
    dict(
        id="rm-batching",
        area="raw-materials",
        name="Bedding and batching plant",
        zh="配料及混料厂房",
        r=(45, 355, 345, 520),
        h=25,
        lec=(3, 6, 7),
        roles=[E, CO],
    ),
    dict(
        id="rm-drying",
        area="raw-materials",
        name="Concentrate dryers",
        zh="精矿干燥",
        r=(45, 525, 345, 645),
        floors=2,
        h=28,
        lec=(3, 6, 15),
        roles=[E, CO],
        hazard=True,
    ),
    dict(
        id="fsf-hall",
        area="smelting",
        name="Flash smelting furnace hall",
        zh="闪速炉厂房",
        r=(375, 355, 590, 645),
        floors=4,
        h=48,
        lec=(3, 6, 40),
        roles=[E],
        hazard=True,
        two=True,
    ),
    dict(
        id="fsf-boiler",
        area="smelting",
        name="Waste-heat boiler and ESP",
        zh="余热锅炉及电收尘",
        r=(595, 355, 705, 645),
        floors=3,
        h=40,
        lec=(3, 6, 15),
        roles=[E, CO],
        hazard=True,
    ),
    dict(
        id="converter-aisle",
        area="converting",
        name="Converter aisle",
        zh="转炉跨",
        r=(735, 355, 900, 645),
        h=32,
        lec=(3, 6, 40),
        roles=[E],
        hazard=True,
        two=True,
    ),
    dict(
        id="casting",
        area="anode-refining",
        name="Anode casting wheels",
        zh="阳极圆盘浇铸",
        r=(905, 355, 1065, 500),
        h=20,
        lec=(1, 6, 15),
        roles=[E, CO, DR],
        hazard=True,
    ),
    dict(
        id="anode-furnaces",
        area="anode-refining",
        name="Anode furnace bay",
        zh="阳极炉跨",
        r=(905, 505, 1065, 645),
        h=28,
        lec=(3, 6, 15),
        roles=[E],
        hazard=True,
        two=True,
    ),
    dict(
        id="acid-gas-cleaning",
        area="acid-plant",
        name="Gas cleaning section",
        zh="净化工段",
        r=(1095, 355, 1220, 645),
        h=30,
        lec=(1, 6, 40),
        roles=[E, CO],
        hazard=True,
        two=True,
    ),
    dict(
        id="acid-contact",
        area="acid-plant",
        name="Drying, converter and absorption",
        zh="干吸及转化工段",
        r=(1225, 355, 1355, 560),
        h=35,
        lec=(1, 6, 40),
        roles=[E, CO],
        hazard=True,
        two=True,
    ),
    dict(
        id="stack-yard",
        area="stacks",
        name="Stack yard",
        zh="烟囱区",
        r=(1225, 565, 1355, 645),
        h=150,
        lec=(1, 2, 40),
        roles=[E, CO],
    ),
    # north row
    dict(
        id="rm-storage",
        area="raw-materials",
        name="Concentrate storage shed",
        zh="精矿仓",
        r=(45, 675, 345, 905),
        h=30,
        lec=(1, 6, 15),
        roles=[E, CO, DR],
    ),
    dict(
        id="tankhouse-1",
        area="tankhouse",
        name="Tankhouse section 1",
        zh="电解一工段",
        r=(375, 675, 705, 810),
        floors=2,
        h=18,
        lec=(3, 6, 7),
        roles=[E, CO, VI],
    ),
    dict(
        id="tankhouse-2",
        area="tankhouse",
        name="Tankhouse section 2",
        zh="电解二工段",
        r=(375, 815, 705, 955),
        h=18,
        lec=(1, 10, 7),
        roles=[E, CO, VI],
    ),
    dict(
        id="tankhouse-3",
        area="tankhouse",
        name="Tankhouse section 3 and stripping",
        zh="电解三工段及剥片",
        r=(735, 675, 1065, 810),
        h=18,
        lec=(1, 10, 7),
        roles=[E, CO, DR],
    ),
    dict(
        id="electrolyte",
        area="tankhouse",
        name="Electrolyte circulation and purification",
        zh="电解液循环及净化",
        r=(735, 815, 1065, 955),
        h=15,
        lec=(1, 6, 15),
        roles=[E, CO],
        hazard=True,
    ),
    dict(
        id="slag-cooling",
        area="slag-treatment",
        name="Slag slow-cooling yard",
        zh="炉渣缓冷场",
        r=(1095, 675, 1355, 800),
        h=10,
        lec=(3, 6, 15),
        roles=[E, DR],
        hazard=True,
    ),
    dict(
        id="slag-concentrator",
        area="slag-treatment",
        name="Slag concentrator",
        zh="渣选矿车间",
        r=(1095, 805, 1355, 930),
        h=20,
        lec=(1, 6, 7),
        roles=[E, CO],
    ),
]

# ---------------------------------------------------------------------------------------------- roads
VX = (22.0, 360.0, 720.0, 1080.0, 1378.0)
HY = (22.0, 340.0, 660.0, 978.0)
HY_NAMES = (("South", "南"), ("Central", "中"), ("North-central", "中北"), ("North", "北"))
GATES: list[tuple[str, str, str, tuple[float, float], tuple[float, float]]] = [
    # id, name, zh, gate position (site edge), junction it links to
    ("gate-main", "Main gate", "主大门", (360.0, 0.0), (360.0, 22.0)),
    ("gate-logistics", "Logistics gate", "物流门", (1080.0, 0.0), (1080.0, 22.0)),
    ("gate-east", "East gate (acid dispatch)", "东门（硫酸发运）", (1400.0, 220.0), (1378.0, 220.0)),
    ("gate-north", "North gate (concentrate receiving)", "北门（精矿进厂）", (200.0, 1000.0), (200.0, 978.0)),
    ("gate-west", "West gate", "西门", (0.0, 660.0), (22.0, 660.0)),
]

MUSTER = [
    ("mp-admin", "Muster point - office plaza", "集合点-办公区广场", (275.0, 218.0), 18.0, 200),
    ("mp-warehouse", "Muster point - warehouse yard", "集合点-仓库空地", (985.0, 212.0), 18.0, 150),
    ("mp-north-west", "Muster point - north-west field", "集合点-西北空地", (195.0, 940.0), 20.0, 150),
    ("mp-east", "Muster point - slag yard north", "集合点-渣场北侧", (1225.0, 953.0), 14.0, 100),
    ("mp-gate", "Muster point - main gate", "集合点-主大门", (300.0, 8.0), 8.0, 120),
]

# -------------------------------------------------------------------------------------- measurements
# (MEAS, unit, nominal, lo, hi, ll, l, h, hh, description, description_zh)
M = tuple[str, str, float, float, float, float | None, float | None, float | None, float | None, str, str]


def m(
    meas: str,
    unit: str,
    nom: float,
    lo: float,
    hi: float,
    ll: float | None = None,
    l: float | None = None,  # noqa: E741 - ISA limit name
    h: float | None = None,
    hh: float | None = None,
    en: str = "",
    zh: str = "",
) -> M:
    return (meas, unit, nom, lo, hi, ll, l, h, hh, en, zh)


def motor(amps: float, kw: float) -> list[M]:
    return [
        m("MOTOR_CURRENT", "A", amps, 0, amps * 1.6, h=amps * 1.2, hh=amps * 1.35, en="motor current", zh="电机电流"),
        m("MOTOR_POWER", "kW", kw, 0, kw * 1.5, h=kw * 1.15, hh=kw * 1.3, en="motor power", zh="电机功率"),
        m("BEARING_TEMP", "degC", 55, 0, 120, h=80, hh=95, en="bearing temperature", zh="轴承温度"),
        m("VIBRATION", "mm/s", 2.2, 0, 20, h=7.1, hh=11, en="vibration velocity", zh="振动速度"),
    ]


def pump(flow: float, bar: float, amps: float) -> list[M]:
    return [
        m("FLOW", "m3/h", flow, 0, flow * 1.6, l=flow * 0.6, h=flow * 1.3, en="discharge flow", zh="出口流量"),
        m(
            "DISCHARGE_PRESS",
            "bar",
            bar,
            0,
            bar * 2,
            l=bar * 0.6,
            h=bar * 1.3,
            hh=bar * 1.5,
            en="discharge pressure",
            zh="出口压力",
        ),
        m("MOTOR_CURRENT", "A", amps, 0, amps * 1.6, h=amps * 1.2, hh=amps * 1.35, en="motor current", zh="电机电流"),
        m("BEARING_TEMP", "degC", 50, 0, 120, h=80, hh=95, en="bearing temperature", zh="轴承温度"),
        m("VIBRATION", "mm/s", 2.0, 0, 20, h=7.1, hh=11, en="vibration velocity", zh="振动速度"),
    ]


def conveyor(tph: float, speed: float, amps: float) -> list[M]:
    return [
        m("BELT_SPEED", "m/s", speed, 0, speed * 1.5, l=speed * 0.8, h=speed * 1.15, en="belt speed", zh="皮带速度"),
        m("FEED_RATE", "t/h", tph, 0, tph * 1.6, h=tph * 1.3, hh=tph * 1.45, en="belt scale load", zh="皮带秤流量"),
        m("MOTOR_CURRENT", "A", amps, 0, amps * 1.6, h=amps * 1.2, hh=amps * 1.35, en="drive current", zh="驱动电流"),
        m("BELT_TRACKING", "mm", 0, -100, 100, ll=-60, l=-30, h=30, hh=60, en="belt drift", zh="皮带跑偏"),
    ]


def tank(level_hi: float, temp: float, en_content: str, zh_content: str) -> list[M]:
    return [
        m(
            "LEVEL",
            "m",
            level_hi * 0.55,
            0,
            level_hi,
            ll=level_hi * 0.05,
            l=level_hi * 0.1,
            h=level_hi * 0.88,
            hh=level_hi * 0.94,
            en=f"{en_content} level",
            zh=f"{zh_content}液位",
        ),
        m(
            "TEMP",
            "degC",
            temp,
            0,
            100,
            h=temp + 15,
            hh=temp + 25,
            en=f"{en_content} temperature",
            zh=f"{zh_content}温度",
        ),
    ]


def bin_(cap_m: float, out_tph: float, content: str, content_zh: str) -> list[M]:
    return [
        m(
            "LEVEL",
            "m",
            cap_m * 0.6,
            0,
            cap_m,
            ll=cap_m * 0.05,
            l=cap_m * 0.15,
            h=cap_m * 0.9,
            hh=cap_m * 0.96,
            en=f"{content} level",
            zh=f"{content_zh}料位",
        ),
        m(
            "DISCHARGE_RATE",
            "t/h",
            out_tph,
            0,
            out_tph * 1.8,
            h=out_tph * 1.4,
            en="weigh-feeder rate",
            zh="定量给料机流量",
        ),
    ]


# ------------------------------------------------------------------------------------------- equipment
# Each entry: id, name, zh, kind, zone, process, size (l, w, h), measurements, energy {medium: per hour},
# optional position override (x, y) and flags.
EQ: list[dict[str, Any]] = []


def eq(
    id_: str,
    name: str,
    zh: str,
    kind: str,
    zone: str,
    process: str,
    size: tuple[float, float, float],
    meas: list[M] | None = None,
    energy: dict[str, float] | None = None,
    at: tuple[float, float] | None = None,
    state: bool = True,
    yaw: float = 0.0,
) -> None:
    EQ.append(
        dict(
            id=id_,
            name=name,
            zh=zh,
            kind=kind,
            zone=zone,
            process=process,
            size=size,
            meas=meas or [],
            energy=energy or {},
            at=at,
            state=state,
            yaw=yaw,
        )
    )


def build_equipment() -> None:
    # raw materials -------------------------------------------------------------------------------------
    for i in (1, 2):
        eq(
            f"RM-GC{i}",
            f"Storage shed grab crane {i}",
            f"精矿仓抓斗起重机{i}",
            "crane",
            "rm-storage",
            "batching",
            (30, 8, 22),
            [m("HOIST_LOAD", "t", 12, 0, 25, h=20, hh=23, en="hoist load", zh="起升载荷"), *motor(180, 110)[:2]],
            {"electricity": 90},
        )
    eq(
        "RM-STK1",
        "Bedding stacker",
        "混匀堆料机",
        "conveyor",
        "rm-storage",
        "batching",
        (45, 10, 14),
        conveyor(600, 2.5, 160),
        {"electricity": 140},
    )
    eq(
        "RM-RCL1",
        "Bedding reclaimer",
        "混匀取料机",
        "conveyor",
        "rm-storage",
        "batching",
        (45, 10, 14),
        conveyor(450, 2.0, 140),
        {"electricity": 120},
    )
    bins = [
        ("conc. A", "精矿A"),
        ("conc. B", "精矿B"),
        ("silica flux", "石英熔剂"),
        ("limestone", "石灰石"),
        ("reverts", "返料"),
        ("coal", "粉煤"),
    ]
    for i, (en, zh) in enumerate(bins, start=1):
        eq(
            f"RM-BIN{i}",
            f"Batching bin {i} ({en})",
            f"配料仓{i}（{zh}）",
            "bin",
            "rm-batching",
            "batching",
            (8, 8, 18),
            bin_(16, 40 if i <= 2 else 12, en, zh),
            state=False,
        )
    for i in range(1, 5):
        eq(
            f"RM-BC{i}",
            f"Belt conveyor {i}",
            f"皮带输送机{i}",
            "conveyor",
            "rm-batching",
            "batching",
            (45, 3, 4),
            conveyor(220, 2.0, 95),
            {"electricity": 55},
        )
    for i in (1, 2):
        eq(
            f"RM-DRY{i}",
            f"Steam dryer {i}",
            f"蒸汽干燥机{i}",
            "dryer",
            "rm-drying",
            "batching",
            (30, 6, 8),
            [
                m("INLET_TEMP", "degC", 180, 0, 260, h=210, hh=230, en="steam inlet temperature", zh="蒸汽入口温度"),
                m(
                    "OUTLET_TEMP",
                    "degC",
                    95,
                    0,
                    160,
                    l=80,
                    h=115,
                    hh=125,
                    en="concentrate outlet temperature",
                    zh="出料温度",
                ),
                m("MOISTURE", "%", 0.3, 0, 10, h=0.5, hh=0.8, en="dried concentrate moisture", zh="干精矿水分"),
                m("FEED_RATE", "t/h", 95, 0, 150, h=120, en="wet concentrate feed", zh="湿精矿给料量"),
                m("STEAM_FLOW", "t/h", 18, 0, 30, l=10, h=24, en="steam flow", zh="蒸汽流量"),
                m("DRUM_SPEED", "rpm", 4.5, 0, 8, l=3, h=6, en="rotor speed", zh="转子转速"),
                *motor(250, 160)[:1],
            ],
            {"electricity": 180, "steam": 18},
        )
    eq(
        "RM-BF1",
        "Dryer bag-filter fan",
        "干燥布袋除尘风机",
        "blower",
        "rm-drying",
        "batching",
        (6, 4, 4),
        [
            m("GAS_FLOW", "Nm3/h", 60000, 0, 90000, h=75000, en="off-gas flow", zh="烟气流量"),
            m("DIFF_PRESS", "kPa", 1.4, 0, 4, h=2.0, hh=2.5, en="bag-filter differential pressure", zh="布袋压差"),
            m("OUTLET_DUST", "mg/Nm3", 8, 0, 100, h=20, hh=30, en="outlet dust", zh="出口粉尘"),
            *motor(220, 180),
        ],
        {"electricity": 200, "compressed_air": 300},
    )
    eq(
        "RM-PN1",
        "Dry-concentrate pneumatic conveying",
        "干精矿气力输送",
        "blower",
        "rm-drying",
        "batching",
        (8, 4, 5),
        [
            m("CONVEY_PRESS", "kPa", 180, 0, 350, l=120, h=250, hh=290, en="conveying pressure", zh="输送压力"),
            m("FEED_RATE", "t/h", 180, 0, 260, h=220, en="conveying rate", zh="输送量"),
            *motor(300, 250)[:2],
        ],
        {"electricity": 260, "compressed_air": 4200},
    )

    # flash smelting ------------------------------------------------------------------------------------
    fsf = [
        m(
            "MATTE_TEMP",
            "degC",
            1200,
            900,
            1400,
            l=1160,
            h=1240,
            hh=1270,
            en="matte tapping temperature",
            zh="冰铜放出温度",
        ),
        m(
            "SLAG_TEMP",
            "degC",
            1260,
            900,
            1450,
            l=1220,
            h=1300,
            hh=1330,
            en="slag tapping temperature",
            zh="炉渣放出温度",
        ),
        m(
            "REACTION_SHAFT_TEMP",
            "degC",
            1380,
            900,
            1600,
            l=1320,
            h=1440,
            hh=1480,
            en="reaction shaft temperature",
            zh="反应塔温度",
        ),
        m(
            "SETTLER_TEMP",
            "degC",
            1280,
            900,
            1500,
            l=1230,
            h=1330,
            hh=1360,
            en="settler roof temperature",
            zh="沉淀池顶温度",
        ),
        m("UPTAKE_TEMP", "degC", 1320, 900, 1500, h=1380, hh=1420, en="uptake off-gas temperature", zh="上升烟道温度"),
        m("CONC_FEED_RATE", "t/h", 180, 0, 240, l=140, h=205, hh=220, en="concentrate feed rate", zh="精矿投料量"),
        m("OXYGEN_FLOW", "Nm3/h", 32000, 0, 45000, l=25000, h=38000, en="process oxygen flow", zh="工艺氧流量"),
        m("OXYGEN_ENRICH", "%", 72, 21, 95, l=65, h=80, en="oxygen enrichment", zh="富氧浓度"),
        m("BURNER_AIR_FLOW", "Nm3/h", 12000, 0, 20000, h=16000, en="burner distribution air", zh="喷嘴分散风量"),
        m("FURNACE_PRESS", "Pa", -50, -300, 200, ll=-200, l=-120, h=0, hh=50, en="settler draught", zh="沉淀池负压"),
        m("MATTE_LEVEL", "mm", 650, 0, 1200, l=500, h=850, hh=950, en="matte layer height", zh="冰铜面高度"),
        m("SLAG_THICKNESS", "mm", 350, 0, 800, l=200, h=500, en="slag layer thickness", zh="渣层厚度"),
        m("MATTE_GRADE", "%", 65, 40, 80, l=60, h=70, en="matte grade (Cu)", zh="冰铜品位"),
        m("FE_SIO2_RATIO", "", 1.2, 0.5, 2.0, l=1.05, h=1.35, en="slag Fe/SiO2 ratio", zh="渣铁硅比"),
        m("OFFGAS_SO2", "%", 38, 0, 60, h=48, en="off-gas SO2", zh="烟气SO2浓度"),
        m(
            "COOLING_WATER_FLOW",
            "m3/h",
            1800,
            0,
            2500,
            ll=1200,
            l=1500,
            en="jacket cooling-water flow",
            zh="水套冷却水流量",
        ),
        m(
            "COOLING_WATER_OUT_TEMP",
            "degC",
            42,
            0,
            80,
            h=50,
            hh=55,
            en="cooling-water return temperature",
            zh="冷却水回水温度",
        ),
    ]
    for k in range(1, 9):
        fsf.append(
            m(
                f"SHELL_TEMP_{k:02d}",
                "degC",
                140,
                0,
                400,
                h=220,
                hh=260,
                en=f"hearth shell temperature {k}",
                zh=f"炉底钢壳温度{k}",
            )
        )
    for k in range(1, 7):
        fsf.append(
            m(
                f"JACKET_TEMP_{k:02d}",
                "degC",
                45,
                0,
                120,
                h=60,
                hh=70,
                en=f"copper jacket {k} water outlet",
                zh=f"铜水套{k}出水温度",
            )
        )
    eq(
        "FSF1",
        "Flash smelting furnace",
        "闪速熔炼炉",
        "flash_furnace",
        "fsf-hall",
        "smelting",
        (60, 18, 30),
        fsf,
        {"electricity": 1200, "oxygen": 32000, "water": 60, "natural_gas": 800},
        at=(480, 500),
    )
    eq(
        "FSF1-FB",
        "FSF feed bin",
        "闪速炉精矿仓",
        "bin",
        "fsf-hall",
        "smelting",
        (8, 8, 12),
        bin_(10, 180, "dry concentrate", "干精矿"),
        state=False,
        at=(410, 610),
    )
    eq(
        "FSF1-CR1",
        "FSF hall crane",
        "闪速炉厂房行车",
        "crane",
        "fsf-hall",
        "smelting",
        (30, 6, 4),
        [m("HOIST_LOAD", "t", 25, 0, 60, h=50, hh=55, en="hoist load", zh="起升载荷"), *motor(200, 130)[:1]],
        {"electricity": 60},
        at=(540, 610),
    )
    for i in (1, 2):
        eq(
            f"FSF1-CWP{i}",
            f"FSF cooling-water pump {i}",
            f"闪速炉冷却水泵{i}",
            "pump",
            "fsf-hall",
            "utilities",
            (4, 2, 2),
            pump(900, 6, 180),
            {"electricity": 110},
            at=(395 + 25 * i, 380),
        )
    eq(
        "FSF1-WHB",
        "FSF waste-heat boiler",
        "闪速炉余热锅炉",
        "boiler",
        "fsf-boiler",
        "smelting",
        (40, 14, 35),
        [
            m("DRUM_PRESS", "MPa", 6.5, 0, 9, l=5.5, h=7.2, hh=7.6, en="drum pressure", zh="汽包压力"),
            m("DRUM_LEVEL", "mm", 0, -300, 300, ll=-200, l=-100, h=100, hh=200, en="drum level", zh="汽包水位"),
            m("STEAM_FLOW", "t/h", 65, 0, 100, h=85, en="steam generation", zh="产汽量"),
            m("FEEDWATER_FLOW", "t/h", 68, 0, 110, l=40, en="feed-water flow", zh="给水流量"),
            m(
                "GAS_INLET_TEMP",
                "degC",
                1320,
                600,
                1500,
                h=1380,
                hh=1420,
                en="gas inlet temperature",
                zh="入口烟气温度",
            ),
            m(
                "GAS_OUTLET_TEMP",
                "degC",
                350,
                100,
                600,
                l=320,
                h=380,
                hh=400,
                en="gas outlet temperature",
                zh="出口烟气温度",
            ),
            m("STEAM_TEMP", "degC", 280, 0, 400, h=300, en="saturated steam temperature", zh="蒸汽温度"),
        ],
        {"electricity": 250, "water": 70},
        at=(650, 560),
    )
    eq(
        "FSF1-ESP",
        "FSF electrostatic precipitator",
        "闪速炉电收尘器",
        "esp",
        "fsf-boiler",
        "smelting",
        (30, 16, 22),
        [
            m("GAS_FLOW", "Nm3/h", 95000, 0, 140000, h=120000, en="gas flow", zh="烟气量"),
            m("INLET_TEMP", "degC", 350, 0, 500, l=300, h=390, hh=420, en="inlet gas temperature", zh="入口烟气温度"),
            *[
                m(f"FIELD{k}_VOLTAGE", "kV", 55, 0, 80, l=40, h=70, en=f"field {k} voltage", zh=f"第{k}电场电压")
                for k in range(1, 5)
            ],
            *[
                m(f"FIELD{k}_CURRENT", "mA", 900, 0, 1600, h=1300, en=f"field {k} current", zh=f"第{k}电场电流")
                for k in range(1, 5)
            ],
            m("OUTLET_DUST", "mg/Nm3", 150, 0, 1000, h=300, hh=450, en="outlet dust", zh="出口含尘"),
        ],
        {"electricity": 400},
        at=(650, 420),
    )
    eq(
        "FSF1-IDF",
        "FSF off-gas fan",
        "闪速炉排烟风机",
        "blower",
        "fsf-boiler",
        "smelting",
        (8, 5, 5),
        [
            m("GAS_FLOW", "Nm3/h", 98000, 0, 150000, h=125000, en="fan gas flow", zh="风机烟气量"),
            m("INLET_PRESS", "kPa", -3.5, -8, 0, ll=-6, l=-5, h=-2, en="fan suction pressure", zh="风机入口负压"),
            *motor(320, 900),
        ],
        {"electricity": 900},
        at=(615, 380),
    )

    # converters ----------------------------------------------------------------------------------------
    for i in (1, 2, 3):
        cm = [
            m("BATH_TEMP", "degC", 1220, 900, 1400, l=1150, h=1280, hh=1310, en="bath temperature", zh="熔体温度"),
            m("BLAST_AIR_FLOW", "Nm3/h", 40000, 0, 55000, h=48000, hh=52000, en="blast air flow", zh="送风量"),
            m("BLAST_PRESS", "kPa", 110, 0, 160, l=90, h=130, hh=140, en="blast pressure", zh="送风压力"),
            m("OXYGEN_ENRICH", "%", 25, 21, 35, h=29, en="blast oxygen enrichment", zh="富氧浓度"),
            m(
                "OFFGAS_TEMP",
                "degC",
                1150,
                300,
                1400,
                h=1250,
                hh=1300,
                en="hood off-gas temperature",
                zh="烟罩烟气温度",
            ),
            m("OFFGAS_SO2", "%", 12, 0, 20, h=16, en="off-gas SO2", zh="烟气SO2浓度"),
            m("HOOD_PRESS", "Pa", -30, -200, 100, ll=-150, l=-80, h=0, hh=30, en="hood draught", zh="烟罩负压"),
            m("TILT_ANGLE", "deg", 0, -90, 90, l=-75, h=75, en="converter tilt angle", zh="转炉倾转角度"),
            m("SHELL_TEMP", "degC", 250, 0, 500, h=350, hh=400, en="shell temperature", zh="炉壳温度"),
            m("PUNCHER_COUNT", "1/h", 30, 0, 80, en="tuyere punching rate", zh="风眼清理次数"),
        ]
        eq(
            f"CV{i}",
            f"Peirce-Smith converter {i}",
            f"PS转炉{i}号",
            "converter",
            "converter-aisle",
            "converting",
            (14, 5, 6),
            cm,
            {"electricity": 350, "compressed_air": 2500, "oxygen": 2500},
            at=(770 + 45 * (i - 1), 520),
        )
    for i in (1, 2, 3):
        eq(
            f"CV-CR{i}",
            f"Converter aisle crane {i} (120 t)",
            f"转炉跨吊车{i}号（120t）",
            "crane",
            "converter-aisle",
            "converting",
            (30, 8, 5),
            [
                m("HOIST_LOAD", "t", 60, 0, 130, h=115, hh=125, en="hoist load", zh="起升载荷"),
                m("TROLLEY_POS", "m", 80, 0, 280, en="crane position along aisle", zh="大车位置"),
                *motor(260, 180)[:1],
            ],
            {"electricity": 80},
            at=(760 + 50 * (i - 1), 620),
        )
    for i in (1, 2):
        eq(
            f"CV-BLW{i}",
            f"Converter blast blower {i}",
            f"转炉鼓风机{i}号",
            "blower",
            "converter-aisle",
            "converting",
            (10, 6, 6),
            [
                m("AIR_FLOW", "Nm3/h", 48000, 0, 65000, h=58000, en="blower air flow", zh="鼓风量"),
                m("DISCHARGE_PRESS", "kPa", 115, 0, 160, h=135, hh=145, en="discharge pressure", zh="出口压力"),
                *motor(380, 2200),
            ],
            {"electricity": 2200},
            at=(760 + 30 * (i - 1), 380),
        )
    eq(
        "CV-WHB",
        "Converter waste-heat boiler",
        "转炉余热锅炉",
        "boiler",
        "converter-aisle",
        "converting",
        (20, 10, 25),
        [
            m("DRUM_PRESS", "MPa", 4.0, 0, 6, l=3.2, h=4.5, hh=4.8, en="drum pressure", zh="汽包压力"),
            m("DRUM_LEVEL", "mm", 0, -300, 300, ll=-200, l=-100, h=100, hh=200, en="drum level", zh="汽包水位"),
            m("STEAM_FLOW", "t/h", 22, 0, 40, h=32, en="steam generation", zh="产汽量"),
            m("GAS_OUTLET_TEMP", "degC", 380, 100, 600, h=420, hh=450, en="gas outlet temperature", zh="出口烟气温度"),
        ],
        {"electricity": 120, "water": 25},
        at=(855, 390),
    )
    eq(
        "CV-ESP",
        "Converter electrostatic precipitator",
        "转炉电收尘器",
        "esp",
        "converter-aisle",
        "converting",
        (16, 12, 18),
        [
            m("GAS_FLOW", "Nm3/h", 120000, 0, 170000, h=150000, en="gas flow", zh="烟气量"),
            m("INLET_TEMP", "degC", 380, 0, 500, h=420, hh=450, en="inlet gas temperature", zh="入口烟气温度"),
            m("FIELD1_VOLTAGE", "kV", 55, 0, 80, l=40, h=70, en="field 1 voltage", zh="第1电场电压"),
            m("FIELD2_VOLTAGE", "kV", 55, 0, 80, l=40, h=70, en="field 2 voltage", zh="第2电场电压"),
            m("OUTLET_DUST", "mg/Nm3", 180, 0, 1000, h=350, hh=500, en="outlet dust", zh="出口含尘"),
        ],
        {"electricity": 300},
        at=(860, 440),
    )

    # anode furnaces and casting -------------------------------------------------------------------------
    for i in (1, 2):
        eq(
            f"AF{i}",
            f"Anode furnace {i}",
            f"阳极炉{i}号",
            "anode_furnace",
            "anode-furnaces",
            "fire_refining",
            (14, 5, 5),
            [
                m(
                    "BATH_TEMP",
                    "degC",
                    1190,
                    900,
                    1350,
                    l=1150,
                    h=1230,
                    hh=1260,
                    en="copper bath temperature",
                    zh="铜液温度",
                ),
                m("FLUE_TEMP", "degC", 1100, 300, 1350, h=1200, hh=1250, en="flue gas temperature", zh="烟气温度"),
                m("NG_FLOW", "Nm3/h", 900, 0, 1800, h=1400, en="burner natural-gas flow", zh="燃烧器天然气流量"),
                m("COMBUSTION_AIR_FLOW", "Nm3/h", 9000, 0, 16000, h=13000, en="combustion air flow", zh="助燃空气流量"),
                m("COPPER_O2", "ppm", 1500, 0, 6000, h=2500, hh=3500, en="oxygen in copper", zh="铜液含氧"),
                m("FURNACE_PRESS", "Pa", 10, -100, 150, l=-30, h=50, hh=80, en="furnace pressure", zh="炉膛压力"),
                m("SHELL_TEMP", "degC", 180, 0, 400, h=260, hh=300, en="shell temperature", zh="炉壳温度"),
                m("CHARGE_WEIGHT", "t", 300, 0, 450, h=380, hh=410, en="charge in furnace", zh="炉内铜量"),
            ],
            {"electricity": 150, "natural_gas": 900, "compressed_air": 600},
            at=(945 + 80 * (i - 1), 590),
        )
    eq(
        "AF-CR1",
        "Anode bay crane",
        "阳极跨吊车",
        "crane",
        "anode-furnaces",
        "fire_refining",
        (30, 6, 4),
        [m("HOIST_LOAD", "t", 40, 0, 90, h=80, hh=85, en="hoist load", zh="起升载荷"), *motor(220, 150)[:1]],
        {"electricity": 50},
        at=(985, 530),
    )
    for i in (1, 2):
        eq(
            f"CW{i}",
            f"Anode casting wheel {i}",
            f"阳极圆盘浇铸机{i}号",
            "casting_wheel",
            "casting",
            "casting",
            (22, 22, 3),
            [
                m("CAST_RATE", "t/h", 25, 0, 40, h=32, en="casting rate", zh="浇铸速度"),
                m(
                    "POUR_TEMP",
                    "degC",
                    1170,
                    900,
                    1300,
                    l=1130,
                    h=1200,
                    hh=1220,
                    en="pouring temperature",
                    zh="浇铸温度",
                ),
                m("MOULD_TEMP", "degC", 170, 0, 300, l=130, h=210, hh=230, en="mould temperature", zh="模具温度"),
                m("ANODE_WEIGHT", "kg", 400, 0, 500, ll=370, l=385, h=415, hh=430, en="anode weight", zh="阳极板重"),
                m("WHEEL_SPEED", "rpm", 0.25, 0, 0.6, h=0.4, en="wheel speed", zh="圆盘转速"),
                m("SPRAY_WATER_FLOW", "m3/h", 80, 0, 150, l=50, h=120, en="mould spray-water flow", zh="喷淋水流量"),
                m("REJECT_RATE", "%", 1.5, 0, 20, h=4, hh=8, en="anode reject rate", zh="废阳极率"),
            ],
            {"electricity": 220, "water": 30, "compressed_air": 500},
            at=(950 + 70 * (i - 1), 430),
        )
    eq(
        "CW-CT1",
        "Casting cooling tower",
        "浇铸冷却塔",
        "cooling_tower",
        "casting",
        "casting",
        (12, 12, 10),
        [
            m("RETURN_TEMP", "degC", 42, 0, 80, h=50, en="return water temperature", zh="回水温度"),
            m("SUPPLY_TEMP", "degC", 32, 0, 60, h=36, hh=40, en="supply water temperature", zh="供水温度"),
            m("FAN_CURRENT", "A", 120, 0, 200, h=150, en="fan current", zh="风机电流"),
        ],
        {"electricity": 75, "water": 12},
        at=(1040, 375),
    )

    # tankhouse -----------------------------------------------------------------------------------------
    banks = [
        ("tankhouse-1", ("CB11", "CB12", "CB13", "CB14")),
        ("tankhouse-2", ("CB21", "CB22", "CB23", "CB24")),
        ("tankhouse-3", ("CB31", "CB32")),
    ]
    for zone, ids in banks:
        z = zone_by_id(zone)
        x0, y0, x1, y1 = bbox(z["polygon"])
        for k, bid in enumerate(ids):
            cells = [
                m("CURRENT", "kA", 32, 0, 40, l=28, h=34, hh=36, en="bank current", zh="槽组电流"),
                m("BANK_VOLTAGE", "V", 10.5, 0, 20, l=8, h=13, hh=15, en="bank voltage", zh="槽组电压"),
                m(
                    "CURRENT_DENSITY",
                    "A/m2",
                    310,
                    0,
                    400,
                    l=270,
                    h=340,
                    en="cathode current density",
                    zh="阴极电流密度",
                ),
                m(
                    "ELECTROLYTE_TEMP",
                    "degC",
                    63,
                    20,
                    80,
                    ll=55,
                    l=58,
                    h=67,
                    hh=70,
                    en="electrolyte temperature",
                    zh="电解液温度",
                ),
                m("ELECTROLYTE_FLOW", "m3/h", 28, 0, 45, l=20, h=35, en="electrolyte circulation", zh="电解液循环量"),
                m("CU_CONC", "g/L", 45, 30, 60, l=40, h=50, en="copper in electrolyte", zh="电解液含铜"),
                m("ACID_CONC", "g/L", 180, 120, 220, l=165, h=195, en="free acid", zh="电解液含酸"),
            ]
            for c in range(1, 31):
                cells.append(
                    m(
                        f"CELL{c:02d}_VOLTAGE",
                        "V",
                        0.30,
                        0,
                        1.0,
                        ll=0.08,
                        l=0.18,
                        h=0.45,
                        hh=0.6,
                        en=f"cell {c} voltage",
                        zh=f"{c}号电解槽槽电压",
                    )
                )
            for c in range(1, 31, 3):
                cells.append(
                    m(
                        f"CELL{c:02d}_TEMP",
                        "degC",
                        63,
                        20,
                        80,
                        l=57,
                        h=68,
                        hh=72,
                        en=f"cell {c} electrolyte temperature",
                        zh=f"{c}号电解槽液温",
                    )
                )
            bank_w = (y1 - y0 - 20) / len(ids)
            eq(
                bid,
                f"Cell bank {bid[2:]}",
                f"电解槽组{bid[2:]}",
                "electrolytic_cells",
                zone,
                "electrorefining",
                (x1 - x0 - 60, bank_w * 0.7, 2.5),
                cells,
                {"electricity": 3400},
                at=(x0 + (x1 - x0) / 2 + 20, y0 + 10 + bank_w * (k + 0.5)),
            )
    for i, zone in ((1, "tankhouse-1"), (2, "tankhouse-2"), (3, "tankhouse-3")):
        x0, y0, x1, y1 = bbox(zone_by_id(zone)["polygon"])
        eq(
            f"TH-CR{i}",
            f"Tankhouse crane {i}",
            f"电解行车{i}号",
            "crane",
            zone,
            "electrorefining",
            (6, 30, 4),
            [m("HOIST_LOAD", "t", 8, 0, 20, h=16, hh=18, en="hoist load", zh="起升载荷"), *motor(90, 55)[:1]],
            {"electricity": 35},
            at=(x0 + 15, (y0 + y1) / 2),
        )
    for i in (1, 2):
        eq(
            f"TH-RECT{i}",
            f"Tankhouse rectifier {i}",
            f"电解整流机组{i}号",
            "transformer",
            "tankhouse-3",
            "electrorefining",
            (10, 6, 5),
            [
                m("DC_CURRENT", "kA", 32, 0, 40, l=28, h=34, hh=36, en="DC output current", zh="直流输出电流"),
                m("DC_VOLTAGE", "V", 120, 0, 200, h=150, hh=170, en="DC output voltage", zh="直流输出电压"),
                m("OIL_TEMP", "degC", 60, 0, 110, h=80, hh=90, en="transformer oil temperature", zh="变压器油温"),
                m("POWER_FACTOR", "", 0.95, 0, 1, l=0.9, en="power factor", zh="功率因数"),
            ],
            {"electricity": 180},
            at=(760, 700 + 40 * (i - 1)),
        )
    eq(
        "TH-CSM1",
        "Cathode stripping machine",
        "阴极剥片机组",
        "building",
        "tankhouse-3",
        "electrorefining",
        (30, 10, 6),
        [
            m("STRIP_RATE", "1/h", 350, 0, 500, l=250, en="cathodes stripped", zh="剥片速度"),
            m("REJECT_RATE", "%", 0.8, 0, 10, h=2, hh=4, en="cathode reject rate", zh="阴极废品率"),
        ],
        {"electricity": 150, "water": 8},
        at=(1010, 760),
    )
    for i, (en, zh) in enumerate(
        (("circulation", "循环"), ("high-level", "高位"), ("purification feed", "净化原液")), start=1
    ):
        eq(
            f"TH-TK{i}",
            f"Electrolyte {en} tank",
            f"电解液{zh}槽",
            "tank",
            "electrolyte",
            "electrorefining",
            (12, 12, 8),
            tank(8, 62, "electrolyte", "电解液"),
            state=False,
        )
    for i in (1, 2, 3):
        eq(
            f"TH-P{i}",
            f"Electrolyte circulation pump {i}",
            f"电解液循环泵{i}号",
            "pump",
            "electrolyte",
            "electrorefining",
            (4, 2, 2),
            pump(300, 3.5, 95),
            {"electricity": 55},
        )
    for i in (1, 2):
        eq(
            f"TH-HX{i}",
            f"Electrolyte plate heater {i}",
            f"电解液板式换热器{i}号",
            "boiler",
            "electrolyte",
            "electrorefining",
            (6, 3, 3),
            [
                m(
                    "OUTLET_TEMP",
                    "degC",
                    65,
                    20,
                    85,
                    l=60,
                    h=68,
                    hh=72,
                    en="electrolyte outlet temperature",
                    zh="出口液温",
                ),
                m("STEAM_FLOW", "t/h", 3, 0, 6, h=5, en="heating steam", zh="加热蒸汽量"),
            ],
            {"steam": 3},
        )

    # acid plant ----------------------------------------------------------------------------------------
    eq(
        "AP-QT1",
        "Quench tower",
        "动力波洗涤器",
        "tower",
        "acid-gas-cleaning",
        "acid",
        (6, 6, 22),
        [
            m("GAS_INLET_TEMP", "degC", 340, 0, 500, h=380, hh=420, en="gas inlet temperature", zh="入口烟气温度"),
            m("GAS_OUTLET_TEMP", "degC", 68, 0, 120, h=75, hh=82, en="gas outlet temperature", zh="出口烟气温度"),
            m("WEAK_ACID_FLOW", "m3/h", 500, 0, 800, ll=250, l=350, en="weak-acid circulation", zh="稀酸循环量"),
            m("WEAK_ACID_STRENGTH", "%", 8, 0, 30, h=15, en="weak-acid strength", zh="稀酸浓度"),
        ],
    )
    eq(
        "AP-SCR1",
        "Packed scrubbing tower",
        "填料洗涤塔",
        "tower",
        "acid-gas-cleaning",
        "acid",
        (7, 7, 24),
        [
            m("GAS_OUTLET_TEMP", "degC", 38, 0, 80, h=42, hh=45, en="gas outlet temperature", zh="出口烟气温度"),
            m("DIFF_PRESS", "kPa", 1.2, 0, 4, h=2.0, hh=2.5, en="differential pressure", zh="塔压差"),
        ],
    )
    for i in (1, 2, 3):
        eq(
            f"AP-WESP{i}",
            f"Wet electrostatic precipitator {i}",
            f"电除雾器{i}号",
            "esp",
            "acid-gas-cleaning",
            "acid",
            (6, 6, 16),
            [
                m("VOLTAGE", "kV", 48, 0, 70, l=35, h=60, en="secondary voltage", zh="二次电压"),
                m("CURRENT", "mA", 450, 0, 800, h=650, en="secondary current", zh="二次电流"),
                m("OUTLET_MIST", "mg/Nm3", 3, 0, 50, h=5, hh=10, en="outlet acid mist", zh="出口酸雾"),
            ],
            {"electricity": 60},
        )
    for i in (1, 2):
        eq(
            f"AP-WAP{i}",
            f"Weak-acid pump {i}",
            f"稀酸泵{i}号",
            "pump",
            "acid-gas-cleaning",
            "acid",
            (3, 2, 2),
            pump(500, 4, 110),
            {"electricity": 75},
        )
    eq(
        "AP-BLW1",
        "SO2 main blower",
        "SO2主风机",
        "blower",
        "acid-gas-cleaning",
        "acid",
        (12, 6, 6),
        [
            m("GAS_FLOW", "Nm3/h", 150000, 0, 210000, h=185000, en="gas flow", zh="风量"),
            m("SUCTION_PRESS", "kPa", -9, -20, 0, ll=-15, l=-12, h=-5, en="suction pressure", zh="入口负压"),
            m("DISCHARGE_PRESS", "kPa", 38, 0, 60, h=45, hh=50, en="discharge pressure", zh="出口压力"),
            m("INLET_SO2", "%", 12.5, 0, 20, l=8, h=16, en="blower inlet SO2", zh="风机入口SO2"),
            *motor(420, 3800),
        ],
        {"electricity": 3800},
    )
    eq(
        "AP-DT1",
        "Drying tower",
        "干燥塔",
        "tower",
        "acid-contact",
        "acid",
        (8, 8, 26),
        [
            m("ACID_STRENGTH", "%", 95.5, 90, 100, ll=93.5, l=94.5, h=96.5, en="drying-acid strength", zh="干燥酸浓度"),
            m("ACID_TEMP", "degC", 50, 0, 100, h=60, hh=65, en="drying-acid temperature", zh="干燥酸温度"),
            m("GAS_MOISTURE", "mg/Nm3", 60, 0, 500, h=100, hh=150, en="dried-gas moisture", zh="干燥后气体水分"),
        ],
    )
    eq(
        "AP-CONV1",
        "SO2 converter (4 beds)",
        "SO2转化器（四段）",
        "tower",
        "acid-contact",
        "acid",
        (14, 14, 24),
        [
            *[
                m(
                    f"BED{k}_INLET_TEMP",
                    "degC",
                    t,
                    300,
                    650,
                    l=t - 15,
                    h=t + 15,
                    hh=t + 30,
                    en=f"bed {k} inlet temperature",
                    zh=f"第{k}段进口温度",
                )
                for k, t in ((1, 420), (2, 440), (3, 430), (4, 415))
            ],
            *[
                m(
                    f"BED{k}_OUTLET_TEMP",
                    "degC",
                    t,
                    300,
                    700,
                    h=t + 20,
                    hh=t + 40,
                    en=f"bed {k} outlet temperature",
                    zh=f"第{k}段出口温度",
                )
                for k, t in ((1, 610), (2, 520), (3, 460), (4, 430))
            ],
            m("INLET_SO2", "%", 12.5, 0, 20, l=8, h=14.5, en="converter inlet SO2", zh="转化器进口SO2"),
            m("CONVERSION", "%", 99.85, 95, 100, ll=99.5, l=99.7, en="overall SO2 conversion", zh="总转化率"),
        ],
    )
    for tid, en, zh in (
        ("AP-IAT1", "Intermediate absorption tower", "一吸塔"),
        ("AP-FAT1", "Final absorption tower", "二吸塔"),
    ):
        eq(
            tid,
            en,
            zh,
            "tower",
            "acid-contact",
            "acid",
            (8, 8, 26),
            [
                m(
                    "ACID_STRENGTH",
                    "%",
                    98.5,
                    95,
                    100,
                    ll=98.0,
                    l=98.2,
                    h=98.8,
                    en="absorbing-acid strength",
                    zh="吸收酸浓度",
                ),
                m("ACID_TEMP", "degC", 80, 0, 130, h=90, hh=100, en="absorbing-acid temperature", zh="吸收酸温度"),
                m("GAS_INLET_TEMP", "degC", 180, 0, 300, h=210, en="gas inlet temperature", zh="进口气温"),
            ],
        )
    for i in (1, 2, 3):
        eq(
            f"AP-AP{i}",
            f"Acid circulation pump {i}",
            f"循环酸泵{i}号",
            "pump",
            "acid-contact",
            "acid",
            (3, 2, 2),
            pump(900, 4.5, 150),
            {"electricity": 90},
        )
    eq(
        "AP-CT1",
        "Acid plant cooling tower",
        "制酸冷却塔",
        "cooling_tower",
        "acid-gas-cleaning",
        "acid",
        (14, 10, 12),
        [
            m("RETURN_TEMP", "degC", 40, 0, 80, h=46, en="return water temperature", zh="回水温度"),
            m("SUPPLY_TEMP", "degC", 30, 0, 60, h=34, hh=37, en="supply water temperature", zh="供水温度"),
        ],
        {"electricity": 110, "water": 45},
    )
    for i in range(1, 7):
        eq(
            f"AP-TK{i}",
            f"Sulfuric acid tank {i} (5,000 t)",
            f"硫酸储罐{i}号（5000t）",
            "tank",
            "acid-tank-farm",
            "acid",
            (20, 20, 14),
            [
                tank(14, 38, "acid", "硫酸")[0],
                m("TEMP", "degC", 38, 0, 80, h=50, hh=60, en="acid temperature", zh="酸温"),
            ],
            state=False,
        )
    for i in (1, 2):
        eq(
            f"AP-LP{i}",
            f"Acid loading pump {i}",
            f"装车酸泵{i}号",
            "pump",
            "acid-loading",
            "acid",
            (3, 2, 2),
            pump(120, 3, 45),
            {"electricity": 30},
        )
    eq(
        "AP-LS1",
        "Acid loading gantry",
        "装酸鹤管站台",
        "building",
        "acid-loading",
        "acid",
        (30, 10, 8),
        [m("LOAD_FLOW", "m3/h", 100, 0, 200, h=150, en="loading flow", zh="装车流量")],
        state=False,
    )
    eq(
        "STK-MAIN",
        "Main stack (150 m)",
        "主烟囱（150m）",
        "stack",
        "stack-yard",
        "utilities",
        (10, 10, 150),
        [
            m("GAS_FLOW", "Nm3/h", 260000, 0, 400000, h=340000, en="stack gas flow", zh="烟囱烟气量"),
            m("GAS_TEMP", "degC", 110, 0, 250, h=160, en="stack gas temperature", zh="烟气温度"),
        ],
        state=False,
        at=(1260, 605),
    )
    eq(
        "STK-TG",
        "Acid-plant tail-gas stack (80 m)",
        "制酸尾气烟囱（80m）",
        "stack",
        "stack-yard",
        "acid",
        (6, 6, 80),
        [
            m("GAS_FLOW", "Nm3/h", 140000, 0, 220000, h=180000, en="tail-gas flow", zh="尾气量"),
            m("GAS_TEMP", "degC", 45, 0, 120, h=70, en="tail-gas temperature", zh="尾气温度"),
        ],
        state=False,
        at=(1320, 605),
    )
    eq(
        "AP-TGS1",
        "Tail-gas scrubber",
        "尾气脱硫塔",
        "tower",
        "stack-yard",
        "acid",
        (8, 8, 20),
        [
            m("PH", "", 6.5, 0, 14, ll=5, l=5.8, h=8, en="scrubbing liquor pH", zh="吸收液pH"),
            m("LIQUOR_FLOW", "m3/h", 300, 0, 500, l=200, en="liquor circulation", zh="吸收液循环量"),
        ],
        {"electricity": 120, "water": 10},
        at=(1290, 585),
    )

    # oxygen plant --------------------------------------------------------------------------------------
    for i in (1, 2):
        eq(
            f"ASU{i}",
            f"Air separation unit {i} (20,000 Nm3/h)",
            f"空分装置{i}号（20000Nm3/h）",
            "air_separation",
            "oxygen-plant",
            "oxygen",
            (14, 10, 38),
            [
                m("O2_FLOW", "Nm3/h", 18000, 0, 24000, l=14000, h=21000, en="oxygen production", zh="产氧量"),
                m("O2_PURITY", "%", 99.6, 90, 100, ll=98.5, l=99.2, en="oxygen purity", zh="氧气纯度"),
                m("N2_FLOW", "Nm3/h", 22000, 0, 30000, en="nitrogen production", zh="产氮量"),
                m(
                    "COLDBOX_TEMP",
                    "degC",
                    -178,
                    -196,
                    30,
                    h=-170,
                    hh=-160,
                    en="cold-box main temperature",
                    zh="冷箱主冷温度",
                ),
                m("O2_PRESS", "MPa", 0.9, 0, 2, l=0.7, h=1.1, en="oxygen delivery pressure", zh="氧气输出压力"),
            ],
            {"electricity": 420, "water": 25},
            at=(590 + 70 * (i - 1), 270),
        )
        eq(
            f"ASU-MAC{i}",
            f"Main air compressor {i}",
            f"空压主机{i}号",
            "compressor",
            "oxygen-plant",
            "oxygen",
            (12, 6, 6),
            [
                m("AIR_FLOW", "Nm3/h", 95000, 0, 130000, l=70000, h=115000, en="air flow", zh="空气流量"),
                m("DISCHARGE_PRESS", "MPa", 0.58, 0, 1, l=0.5, h=0.65, hh=0.7, en="discharge pressure", zh="排气压力"),
                *motor(650, 9000),
            ],
            {"electricity": 9000, "water": 180},
            at=(590 + 70 * (i - 1), 180),
        )
    eq(
        "ASU-LOX1",
        "Liquid oxygen tank",
        "液氧储罐",
        "tank",
        "oxygen-plant",
        "oxygen",
        (8, 8, 18),
        [
            m("LEVEL", "m", 9, 0, 16, ll=1, l=2.5, h=14, hh=15, en="liquid oxygen level", zh="液氧液位"),
            m("TANK_PRESS", "kPa", 30, 0, 80, h=55, hh=65, en="tank pressure", zh="储罐压力"),
        ],
        state=False,
        at=(590, 80),
    )
    for i in (1, 2):
        eq(
            f"IA-C{i}",
            f"Instrument air compressor {i}",
            f"仪表空压机{i}号",
            "compressor",
            "oxygen-plant",
            "utilities",
            (6, 3, 3),
            [
                m("AIR_FLOW", "Nm3/h", 4800, 0, 7000, l=3500, h=6000, en="air flow", zh="排气量"),
                m("DISCHARGE_PRESS", "MPa", 0.7, 0, 1.2, ll=0.5, l=0.6, h=0.8, en="header pressure", zh="管网压力"),
                m("DEW_POINT", "degC", -40, -70, 20, h=-30, hh=-20, en="dryer dew point", zh="露点"),
            ],
            {"electricity": 450},
            at=(660 + 25 * (i - 1), 80),
        )

    # slag ----------------------------------------------------------------------------------------------
    eq(
        "SF1",
        "Slag cleaning electric furnace",
        "贫化电炉",
        "slag_furnace",
        "slag-cooling",
        "slag",
        (20, 10, 8),
        [
            m("SLAG_TEMP", "degC", 1250, 900, 1450, l=1200, h=1300, hh=1330, en="slag temperature", zh="炉渣温度"),
            m("ELECTRODE_POWER", "MW", 6, 0, 10, h=8, hh=9, en="electrode power", zh="电极功率"),
            m("ELECTRODE_CURRENT", "kA", 18, 0, 30, h=24, en="electrode current", zh="电极电流"),
            m("SLAG_CU", "%", 0.7, 0, 3, h=1.0, en="discarded slag copper", zh="弃渣含铜"),
        ],
        {"electricity": 6000, "water": 20},
        at=(1140, 740),
    )
    eq(
        "SL-CR1",
        "Slag yard gantry crane",
        "渣场门式起重机",
        "crane",
        "slag-cooling",
        "slag",
        (40, 8, 15),
        [m("HOIST_LOAD", "t", 20, 0, 50, h=40, hh=45, en="hoist load", zh="起升载荷"), *motor(160, 110)[:1]],
        {"electricity": 45},
        at=(1270, 740),
    )
    for i, (en, zh, kw) in enumerate((("SAG mill", "半自磨机", 2800), ("ball mill", "球磨机", 2200)), start=1):
        eq(
            f"SL-MILL{i}",
            f"Slag {en}",
            f"渣{zh}",
            "mill",
            "slag-concentrator",
            "slag",
            (12, 8, 9),
            [
                m("FEED_RATE", "t/h", 90, 0, 140, h=115, en="fresh feed", zh="给矿量"),
                m("MILL_POWER", "kW", kw, 0, kw * 1.4, h=kw * 1.15, hh=kw * 1.25, en="mill power", zh="磨机功率"),
                m("BEARING_TEMP", "degC", 55, 0, 100, h=70, hh=80, en="trunnion bearing temperature", zh="主轴承温度"),
                m("MILL_SPEED", "rpm", 12, 0, 16, h=13.5, en="mill speed", zh="磨机转速"),
                m("PULP_DENSITY", "%", 72, 40, 85, l=65, h=78, en="mill discharge density", zh="排矿浓度"),
            ],
            {"electricity": kw, "water": 60},
            at=(1140 + 50 * (i - 1), 880),
        )
    eq(
        "SL-TH1",
        "Slag concentrate thickener",
        "渣精矿浓密机",
        "clarifier",
        "slag-concentrator",
        "slag",
        (24, 24, 6),
        [
            m("RAKE_TORQUE", "%", 25, 0, 100, h=60, hh=80, en="rake torque", zh="耙机扭矩"),
            m("UNDERFLOW_DENSITY", "%", 60, 30, 75, l=55, h=68, en="underflow density", zh="底流浓度"),
        ],
        {"electricity": 30},
        at=(1300, 880),
    )
    eq(
        "SL-P1",
        "Slurry pump",
        "矿浆泵",
        "pump",
        "slag-concentrator",
        "slag",
        (3, 2, 2),
        pump(200, 4, 80),
        {"electricity": 55},
        at=(1250, 830),
    )

    # substation and utilities --------------------------------------------------------------------------
    for i in range(1, 5):
        eq(
            f"TR{i}",
            f"Main transformer T{i} (220/35 kV, 63 MVA)",
            f"主变压器{i}号（220/35kV 63MVA）",
            "transformer",
            "hv-switchyard",
            "utilities",
            (10, 7, 8),
            [
                m("LOAD", "MW", 28, 0, 63, h=50, hh=58, en="transformer load", zh="负荷"),
                m(
                    "HV_VOLTAGE",
                    "kV",
                    220,
                    0,
                    260,
                    ll=198,
                    l=209,
                    h=231,
                    hh=242,
                    en="220 kV bus voltage",
                    zh="220kV母线电压",
                ),
                m("OIL_TEMP", "degC", 55, 0, 120, h=85, hh=95, en="top oil temperature", zh="顶层油温"),
                m("WINDING_TEMP", "degC", 70, 0, 150, h=105, hh=120, en="winding hot-spot temperature", zh="绕组温度"),
            ],
            {"electricity": 45},
        )
    eq(
        "SWG1",
        "35 kV switchgear building",
        "35kV配电楼",
        "building",
        "switchgear",
        "utilities",
        (60, 20, 12),
        [
            m(
                "BUS_VOLTAGE",
                "kV",
                35,
                0,
                42,
                ll=31.5,
                l=33.3,
                h=36.7,
                hh=38.5,
                en="35 kV bus voltage",
                zh="35kV母线电压",
            ),
            m("ROOM_TEMP", "degC", 26, 0, 50, h=32, hh=38, en="switch-room temperature", zh="配电室温度"),
        ],
        state=False,
    )
    for i in (1, 2):
        eq(
            f"WT-CL{i}",
            f"Clarifier {i}",
            f"澄清池{i}号",
            "clarifier",
            "water-treatment",
            "utilities",
            (24, 24, 6),
            [
                m("TURBIDITY", "NTU", 3, 0, 50, h=8, hh=15, en="overflow turbidity", zh="出水浊度"),
                m("PH", "", 7.2, 0, 14, ll=6, l=6.5, h=8.5, hh=9, en="pH", zh="pH值"),
                m("INLET_FLOW", "m3/h", 600, 0, 900, h=750, en="inlet flow", zh="进水流量"),
            ],
            {"electricity": 25},
        )
    for i, (en, zh) in enumerate(
        (("raw water", "原水"), ("circulating water", "循环水"), ("waste water", "污水")), start=1
    ):
        eq(
            f"WT-P{i}",
            f"{en.capitalize()} pump",
            f"{zh}泵",
            "pump",
            "water-treatment",
            "utilities",
            (4, 2, 2),
            pump(800, 5, 160),
            {"electricity": 110},
        )
    for i in (1, 2):
        eq(
            f"WT-CT{i}",
            f"Main cooling tower {i}",
            f"主循环冷却塔{i}号",
            "cooling_tower",
            "water-treatment",
            "utilities",
            (18, 18, 14),
            [
                m("RETURN_TEMP", "degC", 40, 0, 80, h=46, en="return water temperature", zh="回水温度"),
                m("SUPPLY_TEMP", "degC", 30, 0, 60, h=33, hh=36, en="supply water temperature", zh="供水温度"),
                m("BASIN_LEVEL", "m", 1.6, 0, 2.5, ll=0.8, l=1.1, h=2.1, en="basin level", zh="水池液位"),
                m("FAN_CURRENT", "A", 160, 0, 260, h=200, en="fan current", zh="风机电流"),
            ],
            {"electricity": 160, "water": 90},
        )
    eq(
        "WT-TK1",
        "Treated water tank",
        "净水池",
        "tank",
        "water-treatment",
        "utilities",
        (20, 20, 8),
        tank(8, 25, "treated water", "净水"),
        state=False,
    )
    eq(
        "WT-H2S1",
        "Acidic waste-water sulfidation reactor",
        "污酸硫化反应槽",
        "tank",
        "water-treatment",
        "utilities",
        (8, 8, 8),
        [
            m("LEVEL", "m", 4, 0, 8, l=1, h=6.8, hh=7.4, en="reactor level", zh="反应槽液位"),
            m("ORP", "mV", -150, -500, 500, l=-300, h=0, en="oxidation-reduction potential", zh="氧化还原电位"),
        ],
        state=False,
    )
    eq(
        "WH-BLD",
        "Central warehouse building",
        "中心仓库库房",
        "building",
        "warehouse",
        "storage",
        (100, 60, 12),
        state=False,
    )
    eq(
        "WH-FL1",
        "Warehouse stacker crane",
        "仓库堆垛机",
        "crane",
        "warehouse",
        "storage",
        (4, 4, 10),
        [*motor(40, 22)[:1]],
        {"electricity": 15},
    )
    eq(
        "HZ-BLD",
        "Hazardous-chemicals store building",
        "危化品库房",
        "building",
        "hazchem-store",
        "storage",
        (60, 30, 8),
        [
            m("ROOM_TEMP", "degC", 24, 0, 50, h=30, hh=35, en="store temperature", zh="库内温度"),
            m("HUMIDITY", "%", 50, 0, 100, h=75, en="relative humidity", zh="相对湿度"),
        ],
        {"electricity": 20},
        state=False,
    )
    eq(
        "ADM-BLD",
        "Office building",
        "办公楼",
        "building",
        "admin-offices",
        "office",
        (60, 30, 18),
        [m("ROOM_TEMP", "degC", 24, 0, 40, l=18, h=28, en="average room temperature", zh="平均室温")],
        {"electricity": 180, "water": 4},
        state=False,
    )
    eq(
        "CCR-BLD",
        "Central control building",
        "中控楼",
        "building",
        "control-room",
        "office",
        (50, 30, 10),
        [
            m("ROOM_TEMP", "degC", 22, 0, 40, l=18, h=26, en="control room temperature", zh="中控室温度"),
            m("UPS_LOAD", "%", 45, 0, 100, h=80, hh=90, en="UPS load", zh="UPS负载率"),
        ],
        {"electricity": 120},
        state=False,
    )
    eq("WS-BLD", "Maintenance workshop", "机修车间厂房", "building", "workshop", "utilities", (60, 40, 14), state=False)
    eq(
        "WS-AC1",
        "Workshop air compressor",
        "机修空压机",
        "compressor",
        "workshop",
        "utilities",
        (4, 3, 3),
        [
            m("DISCHARGE_PRESS", "MPa", 0.7, 0, 1.2, l=0.55, h=0.85, en="discharge pressure", zh="排气压力"),
            *motor(110, 75)[:1],
        ],
        {"electricity": 75},
    )
    for i, (zone, at, ln) in enumerate(
        (("rm-drying", (195, 640), 280), ("fsf-boiler", (700, 500), 270), ("acid-gas-cleaning", (1215, 500), 270)),
        start=1,
    ):
        eq(
            f"PR{i}",
            f"Pipe rack {i}",
            f"管廊{i}号",
            "pipe_rack",
            zone,
            "utilities",
            (ln, 4, 8) if i == 1 else (4, ln, 8),
            state=False,
            at=at,
        )


ZONE_INDEX: dict[str, dict[str, Any]] = {}


def zone_by_id(zid: str) -> dict[str, Any]:
    return ZONE_INDEX[zid]


def make_zones() -> list[Item]:
    out: list[Item] = []
    for z in ZONES:
        item: Item = {
            "id": z["id"],
            "name": z["name"],
            "name_zh": z["zh"],
            "area": z["area"],
            "polygon": rect(*z["r"]),
            "floors": z.get("floors", 1),
            "height_m": z["h"],
            "lec": dict(zip("lec", z["lec"], strict=True)),
            "headcount": {},
            "roles_allowed": z["roles"],
        }
        if z.get("forbidden"):
            item["forbidden"] = True
        if z.get("hazard"):
            item["hazard"] = True
        if z.get("two"):
            item["two_person"] = True
        if z.get("dwell"):
            item["dwell_limit_s"] = z["dwell"]
        out.append(item)
        ZONE_INDEX[z["id"]] = item
    return out


def place_equipment() -> list[Item]:
    """Place equipment without an explicit position on a grid inside its zone."""
    by_zone: dict[str, list[dict[str, Any]]] = {}
    for e in EQ:
        if e["at"] is None:
            by_zone.setdefault(e["zone"], []).append(e)
    for zid, items in by_zone.items():
        x0, y0, x1, y1 = bbox(zone_by_id(zid)["polygon"])
        n = len(items)
        cols = math.ceil(math.sqrt(n * (x1 - x0) / (y1 - y0)))
        rows = math.ceil(n / cols)
        for k, e in enumerate(items):
            c, r = k % cols, k // cols
            e["at"] = (round(x0 + (x1 - x0) * (c + 0.5) / cols, 1), round(y0 + (y1 - y0) * (r + 0.5) / rows, 1))
    out: list[Item] = []
    for e in EQ:
        x0, y0, x1, y1 = bbox(zone_by_id(e["zone"])["polygon"])
        x, y = e["at"]
        assert x0 < x < x1 and y0 < y < y1, f"{e['id']} is outside its zone {e['zone']}"
        item: Item = {
            "id": e["id"],
            "name": e["name"],
            "name_zh": e["zh"],
            "kind": e["kind"],
            "zone": e["zone"],
            "process": e["process"],
            "position": [float(x), float(y), 0.0],
            "size": [float(v) for v in e["size"]],
        }
        if e["yaw"]:
            item["yaw_deg"] = e["yaw"]
        out.append(item)
    return out


# ------------------------------------------------------------------------------------------------ tags
ENERGY_UNITS = {
    "electricity": ("EL_KWH", "kWh", "electricity consumption", "耗电量"),
    "water": ("WATER_M3", "m3", "water consumption", "耗水量"),
    "steam": ("STEAM_T", "t", "steam consumption", "蒸汽消耗"),
    "natural_gas": ("NG_NM3", "Nm3", "natural-gas consumption", "天然气消耗"),
    "oxygen": ("O2_NM3", "Nm3", "oxygen consumption", "氧气消耗"),
    "compressed_air": ("AIR_NM3", "Nm3", "compressed-air consumption", "压缩空气消耗"),
}
MEDIUM_ZH = {
    "electricity": "电",
    "water": "水",
    "steam": "蒸汽",
    "natural_gas": "天然气",
    "oxygen": "氧气",
    "compressed_air": "压缩空气",
}
PROCESS_ZH = {
    "batching": "配料",
    "smelting": "熔炼",
    "converting": "吹炼",
    "fire_refining": "火法精炼",
    "casting": "浇铸",
    "electrorefining": "电解精炼",
    "acid": "制酸",
    "oxygen": "制氧",
    "slag": "渣处理",
    "utilities": "公用工程",
    "storage": "仓储",
    "office": "办公",
}
NO_STATE = {"building", "pipe_rack", "tank", "stack", "bin"}


def tag(tid: str, kind: str, endpoint: str = DCS, **fields: Any) -> Item:
    item: Item = {"id": tid, "node_id": f"ns=2;s={tid}", "endpoint": endpoint, "kind": kind}
    item.update({k: v for k, v in fields.items() if v is not None})
    return item


def rnd(v: float) -> float:
    """Round to 4 significant digits, as an int-looking float when whole."""
    if v == 0:
        return 0.0
    digits = 3 - math.floor(math.log10(abs(v)))
    return float(round(v, max(0, digits)))


def make_equipment_tags() -> list[Item]:
    out: list[Item] = []
    for e in EQ:
        eid, zone = e["id"], e["zone"]
        if e["state"] and e["kind"] not in NO_STATE:
            out.append(
                tag(
                    f"{eid}.STATE",
                    "state",
                    description=f"{e['name']} running state",
                    description_zh=f"{e['zh']}运行状态",
                    nominal=1,
                    equipment=eid,
                    zone=zone,
                )
            )
        if e["kind"] == "converter":
            phase = f"{e['name']} phase (0 idle, 1 charge, 2 blow, 3 skim)"
            out.append(
                tag(
                    f"{eid}.PHASE",
                    "process",
                    description=phase,
                    description_zh=f"{e['zh']}作业阶段（0待机 1加料 2吹炼 3排渣）",
                    unit="",
                    nominal=0,
                    range=[0, 3],
                    equipment=eid,
                    zone=zone,
                )
            )
        for meas, unit, nom, lo, hi, ll, l_, h, hh, en, zh in e["meas"]:
            limits = {k: rnd(v) for k, v in (("ll", ll), ("l", l_), ("h", h), ("hh", hh)) if v is not None}
            out.append(
                tag(
                    f"{eid}.{meas}",
                    "process",
                    description=f"{e['name']} {en}".strip(),
                    description_zh=f"{e['zh']}{zh}",
                    unit=unit,
                    nominal=rnd(nom),
                    range=[rnd(lo), rnd(hi)],
                    limits=limits or None,
                    equipment=eid,
                    zone=zone,
                    alarm=alarm_settings(e, meas, unit, nom, (lo, hi), limits),
                )
            )
        for medium, per_h in e["energy"].items():
            meas, unit, en, zh = ENERGY_UNITS[medium]
            out.append(
                tag(
                    f"{eid}.{meas}",
                    "energy",
                    description=f"{e['name']} {en}",
                    description_zh=f"{e['zh']}{zh}",
                    unit=unit,
                    medium=medium,
                    nominal=rnd(per_h),
                    equipment=eid,
                    zone=zone,
                )
            )
    counters = [
        ("FSF1", "CONC_FED", 180, "concentrate fed", "精矿处理量"),
        ("CW1", "ANODE_CAST", 25, "anode copper cast", "阳极铜产量"),
        ("CW2", "ANODE_CAST", 25, "anode copper cast", "阳极铜产量"),
        ("AP-FAT1", "ACID_PRODUCED", 140, "sulfuric acid produced (98 %)", "硫酸产量（98%）"),
        ("SF1", "SLAG_TREATED", 90, "slag treated", "炉渣处理量"),
        ("ASU1", "O2_PRODUCED", 25, "oxygen produced", "氧气产量"),
    ]
    for e in EQ:
        if e["kind"] == "electrolytic_cells":
            counters.append((e["id"], "CATHODE_COPPER", 4.8, "cathode copper harvested", "阴极铜产量"))
    eq_index = {e["id"]: e for e in EQ}
    for eid, meas, tph, en, zh in counters:
        e = eq_index[eid]
        out.append(
            tag(
                f"{eid}.{meas}",
                "counter",
                description=f"{e['name']} {en}",
                description_zh=f"{e['zh']}{zh}",
                unit="t",
                nominal=tph,
                equipment=eid,
                zone=e["zone"],
            )
        )
    return out


# Rate-of-change alarms (engine.alarms): a fast rise is the early sign of a leak or a run-away, well above
# the simulator's noise (gas: about 0.1-0.3 ppm; matte temperature: about 4 degC per minute).
GAS_ROC_PER_MIN = {"SO2": 2.0, "CO": 10.0, "H2S": 3.0}
ROC_ALARMS: dict[str, dict[str, float]] = {"FSF1.MATTE_TEMP": {"roc_per_min": 25.0}}

# Alarm rationalisation (ISA-18.2 / EEMUA 191): every process tag with limits carries its settings.
# - deadband: a share of the span (1 % temperatures, 2 % pressures, electrical and analysers, 5 % flows), never
#   more than half the way from the limit to the normal value, so an alarm returns in normal operation;
# - on-delay: 15 s for fast signals (flow, pressure, electrical), 30 s for slow ones (temperature, level,
#   analysers), 60 s for the stack CEMS (averaged readings); off-delay 10 s against chattering. The delay is
#   per tag, so it holds HH and LL back too: short next to how long a real excursion lasts. Gas detectors
#   get no delay at all (an HH gas alarm is never held back);
# - priority: on the furnaces, converters and the waste-heat boiler (molten metal, steam, SO2) HH and LL are
#   high and H and L medium; acid and electrolyte tank levels HH high (overflow into the bund); the rest
#   keeps the engine's table (HH and LL medium, H and L low).
SAFETY_KINDS = {"flash_furnace", "converter", "anode_furnace", "slag_furnace", "boiler"}
PRESSURE_UNITS = {"Pa", "kPa", "MPa", "bar", "mbar", "mmH2O"}
ELECTRIC_UNITS = {"A", "kA", "V", "kV", "kW", "MW", "rpm", "Hz", "mm/s", "A/m2", "%FLA"}


def alarm_class(meas: str, unit: str) -> tuple[float, float]:
    """(deadband share of the span, on-delay s) for a measurement."""
    if unit == "degC":
        return 0.01, 30.0
    if unit in PRESSURE_UNITS:
        return 0.02, 15.0
    if unit.endswith(("/h", "/min", "/s")):
        return 0.05, 15.0
    if unit in ELECTRIC_UNITS or meas.endswith(("CURRENT", "POWER", "FACTOR", "VOLTAGE", "SPEED")):
        return 0.02, 15.0
    return 0.02, 30.0  # levels, weights, analysers, positions


def alarm_settings(
    e: dict[str, Any], meas: str, unit: str, nom: float, span: tuple[float, float], limits: dict[str, float]
) -> dict[str, Any] | None:
    """A process tag's rationalised ``alarm:`` block (see the notes above), its ROC alarm included."""
    out: dict[str, Any] = dict(ROC_ALARMS.get(f"{e['id']}.{meas}", {}))
    if not limits:
        return out or None
    share, on_delay = alarm_class(meas, unit)
    gaps = [abs(v - nom) for v in limits.values() if v != nom]
    deadband = share * (span[1] - span[0])
    if gaps:
        deadband = min(deadband, min(gaps) / 2)
    out.update(deadband=rnd(deadband), on_delay_s=on_delay, off_delay_s=10.0)
    priority: dict[str, str] = {}
    if e["kind"] in SAFETY_KINDS:
        priority = {c: ("high" if c in ("hh", "ll") else "medium") for c in limits}
    elif e["kind"] == "tank" and "LEVEL" in meas and "hh" in limits:
        priority = {"hh": "high"}
    if priority:
        out["priority"] = priority
    return out


# gas detectors: zone -> list of gases (one detector each)
GAS = {
    "SO2": (0.3, 5, 10, "sulfur dioxide", "二氧化硫"),
    "CO": (1.0, 20, 50, "carbon monoxide", "一氧化碳"),
    "H2S": (0.2, 7, 14, "hydrogen sulfide", "硫化氢"),
}
DETECTORS: dict[str, list[str]] = {
    "fsf-hall": ["SO2"] * 5 + ["CO"] * 2,
    "fsf-boiler": ["SO2"] * 2,
    "converter-aisle": ["SO2"] * 6 + ["CO"],
    "anode-furnaces": ["CO"] * 3,
    "casting": ["CO"] * 2,
    "acid-gas-cleaning": ["SO2"] * 5,
    "acid-contact": ["SO2"] * 5,
    "acid-tank-farm": ["SO2"] * 3,
    "acid-loading": ["SO2"] * 2,
    "stack-yard": ["SO2"],
    "slag-cooling": ["CO"] * 2,
    "rm-drying": ["CO"],
    "water-treatment": ["H2S"] * 3,
    "electrolyte": ["H2S"],
    "control-room": ["SO2"],
}


def make_gas_tags() -> list[Item]:
    out: list[Item] = []
    for zid, gases in DETECTORS.items():
        z = zone_by_id(zid)
        for n, gas in enumerate(gases, start=1):
            nom, h, hh, en, zh = GAS[gas]
            out.append(
                tag(
                    f"{zid}.GD{n:02d}.{gas}",
                    "gas",
                    description=f"{z['name']} gas detector {n:02d}: {en}",
                    description_zh=f"{z['name_zh']}{n:02d}号气体探测器：{zh}",
                    unit="ppm",
                    nominal=nom,
                    range=[0, 100],
                    limits={"h": h, "hh": hh},
                    zone=zid,
                    alarm={"roc_per_min": GAS_ROC_PER_MIN[gas]},
                )
            )
    return out


def make_emission_tags() -> list[Item]:
    out: list[Item] = []
    specs = {
        "STK-MAIN": [("SO2", 120, 0, 1000, 300, 400), ("NOX", 90, 0, 500, 180, 240), ("PM", 8, 0, 100, 20, 30)],
        "STK-TG": [
            ("SO2", 60, 0, 800, 200, 300),
            ("NOX", 40, 0, 400, 150, 200),
            ("PM", 5, 0, 60, 15, 20),
            ("H2SO4_MIST", 8, 0, 100, 20, 30),
        ],
    }
    names = {
        "SO2": ("SO2 concentration", "二氧化硫浓度"),
        "NOX": ("NOx concentration", "氮氧化物浓度"),
        "PM": ("particulate matter", "颗粒物浓度"),
        "H2SO4_MIST": ("sulfuric acid mist", "硫酸雾浓度"),
    }
    eq_index = {e["id"]: e for e in EQ}
    for sid, items in specs.items():
        e = eq_index[sid]
        for meas, nom, lo, hi, h, hh in items:
            en, zh = names[meas]
            out.append(
                tag(
                    f"{sid}.{meas}",
                    "emission",
                    description=f"{e['name']} {en} (CEMS)",
                    description_zh=f"{e['zh']}{zh}（在线监测）",
                    unit="mg/m3",
                    nominal=nom,
                    range=[lo, hi],
                    limits={"h": h, "hh": hh},
                    equipment=sid,
                    zone=e["zone"],
                    alarm={"deadband": rnd(0.02 * (hi - lo)), "on_delay_s": 60.0, "off_delay_s": 10.0},
                )
            )
    return out


def make_meters(tags: list[Item]) -> list[Item]:
    """Per medium: site > area > process > equipment; only branches that have leaves."""
    eq_index = {e["id"]: e for e in EQ}
    area_of = {z["id"]: z["area"] for z in ZONES}
    area_names = {a: (n, zh) for a, n, zh in AREAS}
    out: list[Item] = []
    for medium, (_meas, _unit, _en, _zh) in ENERGY_UNITS.items():
        leaves = [t for t in tags if t["kind"] == "energy" and t["medium"] == medium]
        if not leaves:
            continue
        mz = MEDIUM_ZH[medium]
        label = medium.replace("_", " ")
        root = f"M-{medium}"
        out.append({"id": root, "name": f"Site {label}", "name_zh": f"全厂{mz}", "level": "site", "medium": medium})
        made: set[str] = set()
        for t in leaves:
            e = eq_index[t["equipment"]]
            area = area_of[e["zone"]]
            a_id, p_id = f"{root}.{area}", f"{root}.{area}.{e['process']}"
            if a_id not in made:
                made.add(a_id)
                n, zh = area_names[area]
                out.append(
                    {
                        "id": a_id,
                        "name": f"{n} {label}",
                        "name_zh": f"{zh}{mz}",
                        "level": "area",
                        "medium": medium,
                        "parent": root,
                    }
                )
            if p_id not in made:
                made.add(p_id)
                out.append(
                    {
                        "id": p_id,
                        "name": f"{area_names[area][0]} / {e['process'].replace('_', ' ')} {label}",
                        "name_zh": f"{area_names[area][1]}/{PROCESS_ZH[e['process']]}{mz}",
                        "level": "process",
                        "medium": medium,
                        "parent": a_id,
                    }
                )
            out.append(
                {
                    "id": f"{root}.{e['id']}",
                    "name": f"{e['name']} {label}",
                    "name_zh": f"{e['zh']}{mz}",
                    "level": "equipment",
                    "medium": medium,
                    "parent": p_id,
                    "tag": t["id"],
                }
            )
    return out


# ---------------------------------------------------------------------------------------------- cameras
def make_cameras(zones: list[Item]) -> list[Item]:
    """Cameras on zone corners (inset 1 m), looking at the zone centre; more in large or hazardous zones."""
    out: list[Item] = []
    n = 0
    for z in zones:
        x0, y0, x1, y1 = bbox(z["polygon"])
        cx, cy = centroid(z["polygon"])
        big = (x1 - x0) * (y1 - y0) > 30000
        count = 3 if (z.get("hazard") and big) else 2 if (z.get("hazard") or big) else 1
        corners = [(x0 + 1, y0 + 1), (x1 - 1, y1 - 1), (x1 - 1, y0 + 1), (x0 + 1, y1 - 1)]
        for k in range(count):
            n += 1
            px, py = corners[k]
            yaw = round(math.degrees(math.atan2(cy - py, cx - px)), 1)
            reach = round(math.dist((px, py), (cx, cy)) * 1.4, 0)
            out.append(
                {
                    "id": f"CAM{n:02d}",
                    "name": f"{z['name']} camera {k + 1}",
                    "name_zh": f"{z['name_zh']}{k + 1}号摄像机",
                    "zone": z["id"],
                    "position": [float(px), float(py), float(min(15.0, 6.0 + 3 * k + (3 if big else 0)))],
                    "yaw_deg": yaw,
                    "pitch_deg": -25.0,
                    "fov_deg": 90.0 if k == 0 else 70.0 if k == 1 else 60.0,
                    "range_m": float(max(40.0, min(250.0, reach))),
                }
            )
    return out


# Perimeter cameras outside the forbidden zones, looking across the boundary (people walking past it and,
# now and then, into it): zone, position, yaw, name, Chinese name.
PERIMETER_CAMERAS = [
    ("acid-tank-farm", (1225.0, 224.0, 5.0), -90.0, "Acid tank farm bund perimeter camera", "酸罐区围堰周界摄像机"),
    ("hv-switchyard", (460.0, 209.0, 5.0), -90.0, "HV switchyard perimeter camera", "高压开关站周界摄像机"),
]

# Video analytics of the demo (classes per camera id); the perimeter cameras also get intrusion with the
# forbidden zone projected into their image as the restricted polygon.
ANALYTICS = {
    "CAM26": ["flame", "smoke", "no_hardhat"],  # flash smelting furnace hall
    "CAM32": ["flame", "smoke", "no_hardhat"],  # converter aisle
    "CAM37": ["flame", "smoke"],  # anode furnace bay
    "CAM42": ["spill", "smoke"],  # acid plant: drying, converter and absorption
    "CAM47": ["spill", "no_hardhat"],  # tankhouse section 1
    "CAM53": ["spill", "no_hardhat"],  # electrolyte circulation
}
ANALYTICS_SIZE = (1280, 720)  # the frame the restricted polygons are computed for (fractions: any 16:9 size)


def image_polygon(cam: Item, polygon: list[list[float]], size: tuple[int, int] = ANALYTICS_SIZE) -> list[list[float]]:
    """A floor polygon as a camera sees it, clipped to the picture, in fractions of width and height (the
    pinhole of simulator.cameras.View; points behind the lens clipped first)."""
    w, h = size
    yaw, pitch = math.radians(cam["yaw_deg"]), math.radians(cam["pitch_deg"])
    fwd = (math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch))
    right = (math.sin(yaw), -math.cos(yaw), 0.0)
    up = (
        right[1] * fwd[2] - right[2] * fwd[1],
        right[2] * fwd[0] - right[0] * fwd[2],
        right[0] * fwd[1] - right[1] * fwd[0],
    )
    focal = (w / 2) / math.tan(math.radians(cam["fov_deg"]) / 2)
    ox, oy, oz = cam["position"]

    def coords(p: tuple[float, float]) -> tuple[float, float, float]:
        d = (p[0] - ox, p[1] - oy, -oz)
        return tuple(sum(a * b for a, b in zip(d, axis, strict=True)) for axis in (right, up, fwd))  # type: ignore[return-value]

    def clip(pts: list[tuple[float, ...]], inside: Any, cut: Any) -> list[tuple[float, ...]]:
        out: list[tuple[float, ...]] = []
        for i, cur in enumerate(pts):
            prev = pts[i - 1]
            if inside(cur) != inside(prev):
                out.append(cut(prev, cur))
            if inside(cur):
                out.append(cur)
        return out

    def lerp(a: tuple[float, ...], b: tuple[float, ...], s: float) -> tuple[float, ...]:
        return tuple(x + s * (y - x) for x, y in zip(a, b, strict=True))

    near = 0.5
    pts: list[tuple[float, ...]] = [coords((x, y)) for x, y in polygon]
    pts = clip(pts, lambda c: c[2] >= near, lambda a, b: lerp(a, b, (near - a[2]) / (b[2] - a[2])))
    pix: list[tuple[float, ...]] = [(w / 2 + focal * c[0] / c[2], h / 2 - focal * c[1] / c[2]) for c in pts]
    for axis, lo, hi in ((0, 0.0, float(w)), (1, 0.0, float(h))):
        for bound, keep in ((lo, lambda p, a=axis, b=lo: p[a] >= b), (hi, lambda p, a=axis, b=hi: p[a] <= b)):
            pix = clip(pix, keep, lambda p, q, a=axis, b=bound: lerp(p, q, (b - p[a]) / (q[a] - p[a])))
    return [[round(x / w, 4), round(y / h, 4)] for x, y in pix]


def make_perimeter_cameras(zones: list[Item], first: int) -> list[Item]:
    by_id = {z["id"]: z for z in zones}
    out: list[Item] = []
    for k, (zid, pos, yaw, name, name_zh) in enumerate(PERIMETER_CAMERAS):
        cam: Item = {
            "id": f"CAM{first + k:02d}",
            "name": name,
            "name_zh": name_zh,
            "zone": zid,
            "position": list(pos),
            "yaw_deg": yaw,
            "pitch_deg": -25.0,
            "fov_deg": 70.0,
            "range_m": 120.0,
        }
        cam["analytics"] = {
            "detect": ["intrusion", "no_hardhat", "spill"],
            "restricted": [image_polygon(cam, by_id[zid]["polygon"])],
        }
        out.append(cam)
    return out


def add_analytics(cameras: list[Item], zones: list[Item]) -> list[Item]:
    """The demo's analysed cameras: :data:`ANALYTICS` on existing ones, plus the perimeter cameras."""
    for cam in cameras:
        if cam["id"] in ANALYTICS:
            cam["analytics"] = {"detect": list(ANALYTICS[cam["id"]])}
    return cameras + make_perimeter_cameras(zones, len(cameras) + 1)


# ----------------------------------------------------------------------------------------------- badges
SURNAMES = [
    ("Wang", "王"),
    ("Li", "李"),
    ("Zhang", "张"),
    ("Liu", "刘"),
    ("Chen", "陈"),
    ("Yang", "杨"),
    ("Zhao", "赵"),
    ("Huang", "黄"),
    ("Zhou", "周"),
    ("Wu", "吴"),
    ("Xu", "徐"),
    ("Sun", "孙"),
    ("Hu", "胡"),
    ("Zhu", "朱"),
    ("Gao", "高"),
    ("Lin", "林"),
    ("He", "何"),
    ("Guo", "郭"),
    ("Ma", "马"),
    ("Luo", "罗"),
    ("Liang", "梁"),
    ("Song", "宋"),
    ("Zheng", "郑"),
    ("Xie", "谢"),
]
GIVEN = [
    ("Wei", "伟"),
    ("Fang", "芳"),
    ("Min", "敏"),
    ("Jing", "静"),
    ("Li", "丽"),
    ("Qiang", "强"),
    ("Lei", "磊"),
    ("Jun", "军"),
    ("Yang", "洋"),
    ("Yong", "勇"),
    ("Yan", "艳"),
    ("Jie", "杰"),
    ("Juan", "娟"),
    ("Tao", "涛"),
    ("Ming", "明"),
    ("Chao", "超"),
    ("Xiulan", "秀兰"),
    ("Xia", "霞"),
    ("Ping", "平"),
    ("Gang", "刚"),
    ("Hui", "辉"),
    ("Bin", "斌"),
    ("Peng", "鹏"),
    ("Hao", "浩"),
    ("Jianguo", "建国"),
    ("Haiyan", "海燕"),
    ("Zhiqiang", "志强"),
    ("Xiaoming", "晓明"),
    ("Lina", "丽娜"),
    ("Dong", "东"),
    ("Kai", "凯"),
]


def person_name(i: int) -> tuple[str, str]:
    s_en, s_zh = SURNAMES[(i * 7) % len(SURNAMES)]
    g_en, g_zh = GIVEN[(i * 11 + i // len(SURNAMES)) % len(GIVEN)]
    return f"{s_en} {g_en}", f"{s_zh}{g_zh}"


# crews per shift: team, team_zh, area zones (work zones rotate through them), people per shift
CREWS: list[tuple[str, str, list[str], int]] = [
    ("Raw materials", "原料工段", ["rm-batching", "rm-drying", "rm-storage"], 6),
    ("Flash smelting", "熔炼工段", ["fsf-hall", "fsf-boiler"], 8),
    ("Converting", "吹炼工段", ["converter-aisle"], 7),
    ("Anode refining", "精炼工段", ["anode-furnaces", "casting"], 6),
    ("Tankhouse", "电解工段", ["tankhouse-1", "tankhouse-2", "tankhouse-3", "electrolyte"], 10),
    ("Acid plant", "制酸工段", ["acid-gas-cleaning", "acid-contact", "acid-loading"], 6),
    ("Oxygen plant", "制氧工段", ["oxygen-plant"], 3),
    ("Slag treatment", "渣处理工段", ["slag-cooling", "slag-concentrator"], 4),
    ("Substation", "变电运行", ["switchgear"], 2),
    ("Water treatment", "水处理工段", ["water-treatment"], 3),
    ("Central control", "中控", ["control-room"], 5),
]
# day staff: team, team_zh, zones, count
DAY_STAFF: list[tuple[str, str, list[str], int]] = [
    ("Management and offices", "管理及办公", ["admin-offices"], 34),
    ("Process engineering", "工艺技术", ["admin-offices", "control-room", "fsf-hall"], 8),
    ("Safety and environment", "安全环保", ["admin-offices", "acid-contact", "converter-aisle"], 6),
    ("Mechanical maintenance", "机械维修", ["workshop", "fsf-boiler", "acid-gas-cleaning"], 16),
    ("Electrical and instrument", "电仪维修", ["workshop", "switchgear", "tankhouse-1"], 12),
    ("Warehouse", "仓储", ["warehouse"], 8),
    ("Hazardous-chemicals store", "危化品库", ["hazchem-store", "warehouse"], 2),
    ("Laboratory", "化验室", ["admin-offices", "tankhouse-2"], 6),
]
CONTRACTORS: list[tuple[str, str, list[str], int]] = [
    ("Refractory contractor", "耐材承包商", ["fsf-boiler", "rm-drying"], 10),
    ("Civil contractor", "土建承包商", ["rm-storage", "slag-concentrator", "water-treatment"], 10),
    ("Cleaning contractor", "保洁承包商", ["admin-offices", "tankhouse-2", "control-room"], 8),
    ("Insulation contractor", "保温承包商", ["acid-gas-cleaning", "acid-contact", "oxygen-plant"], 8),
]
VEHICLES: list[tuple[str, str, str, list[str], float, int]] = [
    ("Concentrate truck", "精矿运输车", "Logistics", ["rm-storage"], 10, 6),
    ("Acid tanker", "硫酸槽车", "Logistics", ["acid-loading"], 10, 5),
    ("Slag pot carrier", "渣包车", "Slag haulage", ["slag-cooling"], 6, 3),
    ("Anode truck", "阳极板运输车", "Anode logistics", ["casting", "tankhouse-3"], 8, 3),
    ("Cathode forklift", "阴极铜叉车", "Tankhouse", ["tankhouse-3", "warehouse"], 5, 4),
    ("Warehouse forklift", "仓库叉车", "Warehouse", ["warehouse", "workshop"], 5, 3),
    ("Hazchem delivery van", "危化品配送车", "Logistics", ["hazchem-store", "warehouse"], 10, 2),
    ("Maintenance van", "维修工程车", "Maintenance", ["workshop", "admin-offices"], 12, 3),
]


def make_badges() -> list[Item]:
    people: list[Item] = []
    n = 0

    def person(role: str, team: str, team_zh: str, zones: list[str], shift: str | None, speed: float) -> Item:
        nonlocal n
        n += 1
        name, zh = person_name(n)
        b: Item = {
            "id": f"P{n:04d}",
            "name": name,
            "name_zh": zh,
            "kind": "person",
            "role": role,
            "team": team,
            "shift": shift,
            "work_zones": zones,
            "max_speed_mps": speed,
        }
        people.append(b)
        return b

    for s in SHIFTS:
        for team, _zh, zones, size in CREWS:
            for k in range(size):
                own = [zones[(k + j) % len(zones)] for j in range(min(len(zones), 1 + k % 3))]
                person("employee", f"{team} crew {s}", "", own, s, round(1.6 + 0.1 * (k % 8), 1))
    escorts: list[str] = []
    for team, _zh, zones, size in DAY_STAFF:
        for k in range(size):
            own = zones[: 1 + k % len(zones)]
            b = person("employee", team, "", own, None, round(1.5 + 0.1 * (k % 6), 1))
            if team.startswith("Management"):
                escorts.append(b["id"])
    for team, _zh, zones, size in CONTRACTORS:
        for k in range(size):
            own = zones[: 1 + k % len(zones)]
            person("contractor", team, "", own, None, round(1.5 + 0.1 * (k % 5), 1))
    for k in range(14):
        zones = ["admin-offices", "control-room"] if k % 2 else ["admin-offices", "tankhouse-1"]
        b = person("visitor", "Visitors", "", zones, None, 1.5)
        b["escort"] = escorts[k % len(escorts)]
        host = next(p for p in people if p["id"] == b["escort"])
        host["work_zones"] = list(dict.fromkeys(host["work_zones"] + zones))[:3]
    for k in range(12):
        zones = [["rm-storage"], ["acid-loading"], ["slag-cooling", "workshop"], ["warehouse", "hazchem-store"]][k % 4]
        person("driver", "Drivers", "", zones, None, 1.8)
    vehicles: list[Item] = []
    v = 0
    for name, zh, team, zones, speed, count in VEHICLES:
        for k in range(1, count + 1):
            v += 1
            vehicles.append(
                {
                    "id": f"V{v:03d}",
                    "name": f"{name} {k:02d}",
                    "name_zh": f"{zh}{k:02d}",
                    "kind": "vehicle",
                    "role": "driver",
                    "team": team,
                    "shift": None,
                    "work_zones": zones,
                    "max_speed_mps": speed,
                }
            )
    for b in people:
        if b["shift"] is None:
            del b["shift"]
        if not b.get("escort"):
            b.pop("escort", None)
    for b in vehicles:
        del b["shift"]
    return people + vehicles


def set_headcounts(zones: list[Item], badges: list[Item]) -> None:
    """Per shift: min for manned process zones, max with headroom above the people expected there."""
    for z in zones:
        expected = {s: 0 for s in SHIFTS}
        day = 0
        for b in badges:
            if z["id"] in b["work_zones"]:
                if b.get("shift") in expected:
                    expected[b["shift"]] += 1
                else:
                    day += 1
        for s in SHIFTS:
            crew = expected[s]
            max_ = crew + (day if s == DAY_SHIFT else day // 3) + 4
            if z.get("forbidden"):
                z["headcount"][s] = {"min": 0, "max": 2}
            else:
                min_ = 2 if z.get("two_person") and crew >= 2 else (1 if crew else 0)
                z["headcount"][s] = {"min": min_, "max": int(math.ceil(max_ * 1.25 / 5) * 5)}


# ---------------------------------------------------------------------------------- roads, fences, etc.
def make_roads() -> list[Item]:
    out: list[Item] = []
    for k, y in enumerate(HY):
        en, zh = HY_NAMES[k]
        out.append(
            {
                "id": f"road-h{k + 1}",
                "name": f"{en} road",
                "name_zh": f"{zh}路",
                "polyline": [[VX[0], y], [VX[-1], y]],
                "width_m": 12.0 if k in (1, 2) else 10.0,
                "speed_limit_kmh": 20.0,
            }
        )
    for k, x in enumerate(VX):
        out.append(
            {
                "id": f"road-v{k + 1}",
                "name": f"Avenue {k + 1}",
                "name_zh": f"{k + 1}号大道",
                "polyline": [[x, HY[0]], [x, HY[-1]]],
                "width_m": 10.0,
                "speed_limit_kmh": 20.0 if k else 30.0,
            }
        )
    for gid, name, zh, pos, join in GATES:
        out.append(
            {
                "id": f"road-{gid}",
                "name": f"{name} access",
                "name_zh": f"{zh}通道",
                "polyline": [list(pos), list(join)],
                "width_m": 12.0,
                "speed_limit_kmh": 15.0,
            }
        )
    return out


def inset(poly: list[list[float]], d: float) -> list[list[float]]:
    x0, y0, x1, y1 = bbox(poly)
    return rect(x0 + d, y0 + d, x1 - d, y1 - d)


def make_fences() -> list[Item]:
    """Forbidden and role fences, speed zones, and dwell limits on the hot spots only (tapping floors,
    converter mouths, slag pots: radiant heat and splash), not on whole halls where crews work for hours.
    The simulator's crews leave a hot spot at half its limit (``simulator.people.DWELL_RESPECT``)."""
    z = zone_by_id
    return [
        {
            "id": "fence-acid-bund",
            "name": "Acid tank bund",
            "name_zh": "硫酸罐区围堰",
            "kind": "forbidden",
            "polygon": inset(z("acid-tank-farm")["polygon"], 2),
        },
        {
            "id": "fence-hv-switchyard",
            "name": "HV switchyard",
            "name_zh": "高压开关场",
            "kind": "forbidden",
            "polygon": inset(z("hv-switchyard")["polygon"], 2),
        },
        {
            "id": "fence-fsf",
            "name": "Flash furnace hall - employees only",
            "name_zh": "闪速炉厂房-仅限员工",
            "kind": "authorized",
            "polygon": z("fsf-hall")["polygon"],
            "roles_allowed": ["employee"],
        },
        {
            "id": "fence-converters",
            "name": "Converter aisle - employees only",
            "name_zh": "转炉跨-仅限员工",
            "kind": "authorized",
            "polygon": z("converter-aisle")["polygon"],
            "roles_allowed": ["employee"],
        },
        {
            "id": "fence-anode",
            "name": "Anode furnace bay - employees only",
            "name_zh": "阳极炉跨-仅限员工",
            "kind": "authorized",
            "polygon": z("anode-furnaces")["polygon"],
            "roles_allowed": ["employee"],
        },
        {
            "id": "fence-fsf-tapping",
            "name": "FSF tapping floor",
            "name_zh": "闪速炉放出口区域",
            "kind": "dwell",
            "polygon": rect(430, 440, 530, 470),
            "dwell_limit_s": 600,
        },
        {
            "id": "fence-converter-mouths",
            "name": "Converter mouths",
            "name_zh": "转炉炉口区域",
            "kind": "dwell",
            "polygon": rect(750, 500, 880, 540),
            "dwell_limit_s": 300,
        },
        {
            "id": "fence-anode-tapping",
            "name": "Anode furnace tapping floor",
            "name_zh": "阳极炉出铜口区域",
            "kind": "dwell",
            "polygon": rect(925, 560, 1045, 580),
            "dwell_limit_s": 600,
        },
        {
            "id": "fence-slag-pots",
            "name": "Slag pot area",
            "name_zh": "渣包区域",
            "kind": "dwell",
            "polygon": rect(1110, 690, 1200, 790),
            "dwell_limit_s": 900,
        },
        {
            "id": "fence-main-road",
            "name": "Central road speed zone",
            "name_zh": "中路限速区",
            "kind": "speed",
            "polygon": rect(22, 333, 1378, 347),
            "speed_limit_kmh": 20.0,
        },
        {
            "id": "fence-north-road",
            "name": "North-central road speed zone",
            "name_zh": "中北路限速区",
            "kind": "speed",
            "polygon": rect(22, 653, 1378, 667),
            "speed_limit_kmh": 20.0,
        },
        {
            "id": "fence-rm-yard",
            "name": "Concentrate yard speed zone",
            "name_zh": "精矿场限速区",
            "kind": "speed",
            "polygon": z("rm-storage")["polygon"],
            "speed_limit_kmh": 10.0,
        },
        {
            "id": "fence-acid-loading",
            "name": "Acid loading speed zone",
            "name_zh": "装酸区限速区",
            "kind": "speed",
            "polygon": z("acid-loading")["polygon"],
            "speed_limit_kmh": 5.0,
        },
    ]


def make_incidents(badges: list[Item]) -> list[Item]:
    def first(pred: Any) -> str:
        return next(b["id"] for b in badges if pred(b))

    acid_op = first(lambda b: b["role"] == "employee" and "acid-contact" in b["work_zones"] and b.get("shift") == "A")
    fsf_op = first(lambda b: b["role"] == "employee" and "fsf-hall" in b["work_zones"] and b.get("shift") == "A")
    office = first(lambda b: b["role"] == "employee" and b.get("shift") is None)
    return [
        {
            "id": "inc-acid-so2-leak",
            "kind": "gas_leak",
            "tag": "acid-gas-cleaning.GD01.SO2",
            "first_after_s": 120,
            "every_s": 2700,
            "jitter_s": 60,
            "duration_s": 240,
        },
        {
            "id": "inc-tank-bund-entry",
            "kind": "forbidden_entry",
            "zone": "acid-tank-farm",
            "badge": acid_op,
            "first_after_s": 240,
            "every_s": 3000,
            "jitter_s": 60,
            "duration_s": 180,
        },
        {
            "id": "inc-fsf-man-down",
            "kind": "man_down",
            "badge": fsf_op,
            "first_after_s": 360,
            "every_s": 3300,
            "jitter_s": 60,
            "duration_s": 240,
        },
        {
            "id": "inc-sos",
            "kind": "sos",
            "badge": office,
            "first_after_s": 480,
            "every_s": 2400,
            "jitter_s": 60,
            "duration_s": 120,
        },
        {
            "id": "inc-fsf-over-temp",
            "kind": "over_temperature",
            "tag": "FSF1.MATTE_TEMP",
            "first_after_s": 540,
            "every_s": 3600,
            "jitter_s": 60,
            "duration_s": 300,
        },
    ]


def build() -> dict[str, Any]:
    EQ.clear()
    ZONE_INDEX.clear()
    zones = make_zones()
    build_equipment()
    equipment = place_equipment()
    tags = make_equipment_tags() + make_emission_tags() + make_gas_tags()
    badges = make_badges()
    set_headcounts(zones, badges)
    for b in badges:
        tags.append(
            tag(
                f"RTLS.{b['id']}.POS",
                "position",
                RTLS,
                description=f"{b['name']} position",
                description_zh=f"{b['name_zh']}位置",
                unit="m",
                badge=b["id"],
            )
        )
        tags.append(
            tag(
                f"RTLS.{b['id']}.SOS",
                "sos",
                RTLS,
                description=f"{b['name']} SOS button",
                description_zh=f"{b['name_zh']}SOS求救按钮",
                badge=b["id"],
            )
        )
    return {
        "schema_version": 1,
        "site": {
            "name": "Demo Copper Smelter",
            "name_zh": "示范铜冶炼厂",
            "timezone": "Asia/Shanghai",
            "width_m": SITE_W,
            "depth_m": SITE_D,
            "shifts": [
                {"id": s, "start": Quoted(start), "hours": 8}
                for s, start in zip(SHIFTS, ("00:00", "08:00", "16:00"), strict=True)
            ],
        },
        "endpoints": [
            {
                "id": DCS,
                "name": "DCS OPC UA server",
                "name_zh": "DCS OPC UA服务器",
                "url": "opc.tcp://127.0.0.1:4840/smeltwatch/dcs",
            },
            {
                "id": RTLS,
                "name": "RTLS gateway",
                "name_zh": "人员定位网关",
                "url": "opc.tcp://127.0.0.1:4841/smeltwatch/rtls",
            },
        ],
        "areas": [{"id": a, "name": n, "name_zh": zh} for a, n, zh in AREAS],
        "zones": zones,
        "roads": make_roads(),
        "gates": [{"id": g, "name": n, "name_zh": zh, "position": list(p)} for g, n, zh, p, _ in GATES],
        "equipment": equipment,
        "tags": tags,
        "cameras": add_analytics(make_cameras(zones), zones),
        "badges": badges,
        "fences": make_fences(),
        "muster_points": [
            {"id": i, "name": n, "name_zh": zh, "position": list(p), "radius_m": r, "capacity": c}
            for i, n, zh, p, r, c in MUSTER
        ],
        "meters": make_meters(tags),
        "incidents": make_incidents(badges),
    }


def summary(plant: Plant) -> str:
    lines = [f"{plant.site.name}: {plant.site.width_m:.0f} m x {plant.site.depth_m:.0f} m"]
    for coll in COLLECTIONS:
        lines.append(f"  {coll:14s} {len(getattr(plant, coll)):5d}")
    kinds = Counter(t.kind.value for t in plant.tags)
    lines.append("  tags per kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    lines.append(f"  non-badge tags: {sum(1 for t in plant.tags if t.badge is None)}")
    levels = Counter(z.level.value for z in plant.zones)
    lines.append(
        "  zones per risk level: " + ", ".join(f"{k} {levels.get(k, 0)}" for k in ("red", "orange", "yellow", "blue"))
    )
    people = sum(1 for b in plant.badges if b.kind.value == "person")
    lines.append(f"  badges: {people} people, {len(plant.badges) - people} vehicles")
    return "\n".join(lines)


HEADER = (
    "# Demo copper smelter: the plant model for SmeltWatch (schema in plant/schema.py).\n"
    "# Generated by `python -m plant.generate_demo`; edit the generator, not this file.\n"
)


def render() -> tuple[str, Plant]:
    """The plant file's text and the validated plant; fails before anything is written if the data is wrong."""
    data = build()
    plant = Plant.model_validate(data)
    text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
    return HEADER + text, plant


def main() -> None:
    text, plant = render()
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.name} ({len(text.encode()) // 1024} KiB)")
    print(summary(plant))


if __name__ == "__main__":
    main()
