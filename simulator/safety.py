"""The demo's safety records, ending at the backfill's end, each written once (a store that already has them is
left alone), every step through the store's rules as a person's would go.

The hidden-danger register: a month of dangers found on rounds and by phone, assessed, assigned, rectified and
verified: two closed (one on time, one late), one overdue and escalated, a major one under its approved plan (its
zone's dynamic risk goes orange), one rectified and waiting for verification, one just reported from a phone.

The special-work permits of the day (:func:`play_permits`), and the live ones the simulated people file while the
simulator plays their crews (:class:`PermitClerk`, the plan of ``simulator.permit_jobs``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.hidden_dangers import DAY_MS
from engine.permits import DONE_STATES, SUSPENDED, PermitRefusedError
from plant.schema import Plant
from simulator import permit_jobs as pj
from simulator.permit_jobs import Job, PermitJobs
from store.hidden_dangers import act, escalate, report
from store.models import HiddenDanger, WorkPermit, WorkPermitLog
from store.permits import apply as apply_permit
from store.permits import move as move_permit

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


def _crew(plant: Plant, zone: str, n: int = 3) -> list[str]:
    people = [b.id for b in plant.badges if zone in b.work_zones and b.kind.value == "person"]
    return people[:n] if len(people) >= n else [b.id for b in plant.badges if b.kind.value == "person"][:n]


def play_permits(session: Session, plant: Plant, end_ms: int) -> int:
    """Write the demo's special-work permits of the day ending at ``end_ms`` (nothing when the store has some):
    a hot-work permit whose guardian walked away (suspended, analysed again, resumed, closed), a confined-space
    entry whose first gas analysis came back too high and which a gas rise suspended, a lifting job closed, work
    at height waiting for its isolations and temporary power waiting for approval. Every step goes through
    ``store.permits`` (the rules of GB 30871-2022), as a person's would; the live ones are left to the live checks."""
    if session.scalar(select(func.count()).select_from(WorkPermit)):
        return 0
    zones = {z.id: z for z in plant.zones}
    badges = [b.id for b in plant.badges]

    def at(hours: float) -> int:
        return end_ms - round(hours * H)

    def new(kind: str, grade: str | None, title: str, zone: str, start_h: float, hours: float) -> int:
        z = zones.get(zone) or plant.zones[0]
        x = sum(p[0] for p in z.polygon) / len(z.polygon)
        y = sum(p[1] for p in z.polygon) / len(z.polygon)
        g, *crew = _crew(plant, z.id)
        row = apply_permit(
            session, kind=kind, grade=grade, title=title, zone=z.id, point=(x, y),
            area=[(x - 10, y - 10), (x + 10, y - 10), (x + 10, y + 10), (x - 10, y + 10)], guardian=g, crew=crew,
            valid_from=at(start_h), valid_to=at(start_h) + round(hours * H), isolations=["能量隔离 / isolation"],
            applicant="zhang.wei", now_ms=at(start_h + 1), badges=badges, zones=list(zones),
        )  # fmt: skip
        return row.id

    def step(pid: int, hours: float, action: str, actor: str, **given: Any) -> None:
        move_permit(session, pid, action, actor, at(hours), **given)

    hot = new("hot_work", "first", "制酸净化工段烟道法兰补焊 / Weld repair of the gas-cleaning duct flange",
              "acid-gas-cleaning", 4, 8)  # fmt: skip
    step(hot, 3.9, "approve", "chen.jing", signoff="unit")
    step(hot, 3.8, "approve", "liu.yang", signoff="safety")
    step(hot, 3.7, "gas_test", "zhao.min", readings=[("CO", 8, "ppm"), ("CH4", 0.05, "%vol")])
    step(hot, 3.65, "isolate", "wang.lei")
    step(hot, 3.6, "activate", "wang.lei")
    step(hot, 3.0, "suspend", "system", reason="permit_guardian_away")  # the guardian walked off the work
    step(hot, 2.9, "gas_test", "zhao.min", readings=[("CO", 6, "ppm"), ("CH4", 0.04, "%vol")])
    step(hot, 2.85, "resume", "wang.lei")
    step(hot, 1.0, "close", "wang.lei")
    cs = new("confined_space", None, "硫酸罐6号内部检查 / Inspection inside tank 6", "acid-tank-farm", 3, 8)
    step(cs, 2.9, "approve", "chen.jing", signoff="unit")
    step(cs, 2.8, "gas_test", "zhao.min", readings=[("O2", 20.6, "%vol"), ("H2S", 12, "ppm")])  # too high
    step(cs, 2.3, "gas_test", "zhao.min", readings=[("O2", 20.8, "%vol"), ("H2S", 1, "ppm")])
    step(cs, 2.25, "isolate", "wang.lei")
    step(cs, 2.2, "activate", "wang.lei")
    step(cs, 1.5, "suspend", "system", reason="permit_gas_over")  # SO2 rose over the permit's limit
    lift = new("lifting", "III", "电解槽阴极板吊装 / Lifting cathode plates", "tankhouse-1", 9, 6)
    step(lift, 8.9, "approve", "chen.jing", signoff="unit")
    step(lift, 8.8, "isolate", "wang.lei")
    step(lift, 8.7, "activate", "wang.lei")
    step(lift, 5.0, "close", "wang.lei")
    height = new("height", "II", "转炉通道照明更换 / Replacing lights over the converter aisle", "converter-aisle",
                 0.5, 8)  # fmt: skip
    step(height, 0.4, "approve", "chen.jing", signoff="unit")
    new("temp_power", None, "渣缓冷场临时照明接电 / Temporary power for the slag yard lights", "slag-cooling", 0.2, 8)
    logger.info("demo: 5 special-work permits of the day")
    return 5


# (minute after the block's start, action, actor, fields, only while suspended)
_Step = tuple[float, str, str, dict[str, Any], bool]
_GOOD_GAS = [("CO", 6, "ppm"), ("CH4", 0.05, "%vol")]
_BAD_GAS = [("CO", 9, "ppm"), ("CH4", 0.8, "%vol")]  # combustible gas over 0.5 % vol (GB 30871-2022 5.3)


def _steps(job: Job) -> list[_Step]:
    out: list[_Step] = [
        (pj.APPROVE_UNIT, "approve", "chen.jing", {"signoff": "unit"}, False),
        (pj.APPROVE_SAFETY, "approve", "liu.yang", {"signoff": "safety"}, False),
    ]
    if job.bad_gas:
        out.append((pj.GAS_BAD, "gas_test", "zhao.min", {"readings": _BAD_GAS}, False))
    out += [
        (pj.GAS, "gas_test", "zhao.min", {"readings": _GOOD_GAS}, False),
        (pj.ISOLATE, "isolate", "wang.lei", {}, False),
        (pj.ACTIVATE, "activate", "wang.lei", {}, False),
        (pj.REGAS, "gas_test", "zhao.min", {"readings": _GOOD_GAS}, True),  # after the guardian came back
        (pj.RESUME, "resume", "wang.lei", {}, True),
        (pj.CLOSE, "close", "wang.lei", {}, False),
    ]
    return out


class PermitClerk:
    """The live simulator's people filing the permits it plays (``simulator.permit_jobs``): at each call, every step
    of the current and the previous block's job that is due and not in the store yet goes through ``store.permits``
    at its own time (a demo started mid-job catches up). The new analysis and the resumption after the guardian's
    walk happen only when the live checks suspended the permit; a step the rules refuse is left (logged once).
    The permit is known by its title and validity."""

    def __init__(self, plant: Plant, seed: int) -> None:
        self.plant = plant
        self.jobs = PermitJobs(plant, seed)
        self.badges = [b.id for b in plant.badges]
        self.zones = [z.id for z in plant.zones]
        self.refused: set[tuple[int, int]] = set()  # (block, step)

    def play(self, session: Session, now_ms: int) -> int:
        """Write what is due at ``now_ms``; how many steps were written."""
        written = 0
        for job in self.jobs.between(now_ms - pj.BLOCK_MS, now_ms):
            written += self._play(session, job, now_ms)
        return written

    def _play(self, session: Session, job: Job, now_ms: int) -> int:
        valid_from, valid_to = job.at(pj.VALID_FROM), job.at(pj.VALID_TO)
        row = session.scalars(
            select(WorkPermit).where(WorkPermit.title == job.title, WorkPermit.valid_from == valid_from)
        ).first()
        written = 0
        if row is None:
            if not (job.at(pj.APPLY) <= now_ms < valid_to):
                return 0
            row = apply_permit(
                session, kind="hot_work", grade="first", title=job.title, zone=job.zone, point=job.point,
                area=list(job.area), guardian=job.guardian, crew=list(job.crew), valid_from=valid_from,
                valid_to=valid_to, isolations=["盲板隔离 / blinds fitted", "断电挂牌 / power locked out"],
                applicant="zhang.wei", now_ms=job.at(pj.APPLY), badges=self.badges, zones=self.zones,
            )  # fmt: skip
            written += 1
        done = {
            (a, ts)
            for a, ts in session.execute(
                select(WorkPermitLog.action, WorkPermitLog.ts).where(WorkPermitLog.permit_id == row.id)
            )
        }
        for k, (minute, action, actor, fields, if_suspended) in enumerate(_steps(job)):
            ts = job.at(minute)
            if ts > now_ms or (action, ts) in done or (job.block, k) in self.refused:
                continue
            if row.state in DONE_STATES:
                break
            if if_suspended and row.state != SUSPENDED:
                continue
            try:
                move_permit(session, row.id, action, actor, ts, **fields)
                written += 1
            except PermitRefusedError as exc:
                self.refused.add((job.block, k))
                logger.info("permit %d: %s at %d refused (%s)", row.id, action, ts, exc.key)
        return written
