"""The demo's hidden-danger register: a month of dangers found on rounds and by phone, assessed, assigned, rectified
and verified, as people would have done it, ending at the backfill's end: two closed (one on time, one late), one
overdue and escalated, a major one under its approved plan (its zone's dynamic risk goes orange), one rectified and
waiting for verification, one just reported from a phone. Written once: a store that already has a register is
left alone. Each move goes through ``store.hidden_dangers`` (the workflow's checks and log), as a person's would."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.hidden_dangers import DAY_MS
from plant.schema import Plant
from store.hidden_dangers import act, escalate, report
from store.models import HiddenDanger

logger = logging.getLogger(__name__)

H = 3_600_000


@dataclass(frozen=True)
class _Demo:
    title: str
    detail: str
    zone: str
    source: str
    reporter: str
    reported_d: float  # days before the end
    moves: tuple[tuple[float, str, str, dict[str, Any]], ...]  # (days before the end, action, actor, fields)


def _demo(end: int) -> tuple[_Demo, ...]:
    def at(days: float) -> int:
        return end - round(days * DAY_MS)

    plan = {
        "measures": "更换罐6出口法兰及垫片，法兰加装防护罩 / Replace the tank 6 outlet flange and gasket, add a guard",
        "funds": 18000,
        "owner": "li.ming",
        "deadline_ms": at(-10),
        "interim": "设隔离带和接液盘，每班检测SO3 / Barrier and drip tray, SO3 check every shift",
    }
    return (
        _Demo(
            "熔炼厂房东侧平台护栏松动 / Loose guard rail, smelting hall east platform",
            "",
            "fsf-hall",
            "dispatcher",
            "wang.lei",
            20,
            (
                (20, "assess", "chen.jing", {"grade": "general"}),
                (20, "assign", "chen.jing", {"owner": "zhang.wei", "deadline_ms": at(15)}),
                (17, "rectify", "zhang.wei", {"note": "护栏已紧固 / Rail bolted tight"}),
                (16, "verify", "chen.jing", {"note": "现场验收合格 / Checked on site"}),
            ),
        ),
        _Demo(
            "转炉通道灭火器过期 / Fire extinguishers expired, converter aisle",
            "3 具 / 3 units",
            "converter-aisle",
            "phone",
            "liu.yang",
            25,
            (
                (25, "assess", "wang.lei", {"grade": "general"}),
                (25, "assign", "wang.lei", {"owner": "zhao.min", "deadline_ms": at(20)}),
                (18, "rectify", "zhao.min", {"note": "已更换 / Replaced"}),
                (17.9, "verify", "wang.lei", {"note": "合格 / OK"}),
            ),
        ),
        _Demo(
            "电解槽面绝缘板破损 / Broken insulating board on cell tops",
            "A 列 12-14 槽 / Row A cells 12-14",
            "tankhouse-1",
            "dispatcher",
            "chen.jing",
            9,
            (
                (9, "assess", "wang.lei", {"grade": "general"}),
                (9, "assign", "wang.lei", {"owner": "zhang.wei", "deadline_ms": at(5)}),
            ),
        ),
        _Demo(
            "发烟硫酸管线法兰腐蚀渗漏 / Corroded oleum line flange weeping",
            "6号罐出口 / Tank 6 outlet",
            "acid-tank-farm",
            "phone",
            "liu.yang",
            6,
            (
                (6, "assess", "chen.jing", {"grade": "major"}),
                (6, "assign", "chen.jing", {"owner": "li.ming", "deadline_ms": at(-10)}),
                (5, "plan", "liu.yang", {"plan": plan}),
            ),
        ),
        _Demo(
            "渣缓冷场照明不足 / Poor lighting at the slag cooling yard",
            "",
            "slag-cooling",
            "dispatcher",
            "wang.lei",
            4,
            (
                (4, "assess", "chen.jing", {"grade": "general"}),
                (4, "assign", "chen.jing", {"owner": "zhao.min", "deadline_ms": at(-3)}),
                (1, "rectify", "zhao.min", {"note": "已加装灯具 / Lamps added"}),
            ),
        ),
        _Demo(
            "空分装置液氧泵区地面油污 / Oil on the floor by the LOX pumps",
            "",
            "oxygen-plant",
            "phone",
            "wang.lei",
            2 / 24,
            (),
        ),
    )


def play_hidden_dangers(session: Session, plant: Plant, end_ms: int) -> int:
    """Write the demo's register ending at ``end_ms`` (nothing when the store has one); how many were written."""
    if session.scalar(select(func.count()).select_from(HiddenDanger)):
        return 0
    zones = [z.id for z in plant.zones]
    count = 0
    for d in _demo(end_ms):
        zone = d.zone if d.zone in zones else (zones[0] if zones else None)
        row = report(
            session,
            title=d.title,
            description=d.detail,
            zone=zone,
            x=None,
            y=None,
            source=d.source,
            actor=d.reporter,
            now_ms=end_ms - round(d.reported_d * DAY_MS),
            zones=zones,
        )
        if zone is not None:  # the zone's middle, as the report form does without a point
            z = next(z for z in plant.zones if z.id == zone)
            row.x = sum(p[0] for p in z.polygon) / len(z.polygon)
            row.y = sum(p[1] for p in z.polygon) / len(z.polygon)
        for days, action, actor, fields in d.moves:
            act(session, row.id, action, actor, end_ms - round(days * DAY_MS), **fields)
        count += 1
    escalate(session, end_ms)
    logger.info("demo: %d hidden dangers in the register", count)
    return count
